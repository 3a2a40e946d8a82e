package io.switchboard.routing;

import io.switchboard.bus.ChatMessage;

import java.util.ArrayList;
import java.util.List;

/**
 * How a fallback is asked to go on with an answer another deployment started: the partial answer as the
 * assistant's turn, then an instruction to continue it without repeating anything.
 */
public final class Continuation {
  public static final String INSTRUCTION = "Continue your previous answer exactly where it stopped. "
    + "Do not repeat any of it; reply with the continuation only.";

  private Continuation() {
  }

  /** A continuation of a continuation extends the one partial answer rather than stacking another. */
  public static List<ChatMessage> of(List<ChatMessage> messages, String partial) {
    int n = messages.size();
    if (n >= 2 && messages.get(n - 1).text().equals(INSTRUCTION) && messages.get(n - 2).role().equals("assistant")) {
      List<ChatMessage> all = new ArrayList<>(messages.subList(0, n - 2));
      all.add(new ChatMessage("assistant", messages.get(n - 2).text() + partial));
      all.add(new ChatMessage("user", INSTRUCTION));
      return all;
    }
    List<ChatMessage> all = new ArrayList<>(n + 2);
    all.addAll(messages);
    all.add(new ChatMessage("assistant", partial));
    all.add(new ChatMessage("user", INSTRUCTION));
    return all;
  }
}

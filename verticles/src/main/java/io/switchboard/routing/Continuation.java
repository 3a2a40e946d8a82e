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

  public static List<ChatMessage> of(List<ChatMessage> messages, String partial) {
    List<ChatMessage> all = new ArrayList<>(messages.size() + 2);
    all.addAll(messages);
    all.add(new ChatMessage("assistant", partial));
    all.add(new ChatMessage("user", INSTRUCTION));
    return all;
  }
}

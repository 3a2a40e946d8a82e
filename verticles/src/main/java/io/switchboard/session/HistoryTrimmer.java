package io.switchboard.session;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import io.switchboard.bus.ChatMessage;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts a conversation down to a token budget before it goes to a model. Every system and developer message and the
 * newest message are always kept; the oldest other turns go first, a whole turn at a time (a user message with the
 * assistant and tool messages answering it), so the history never starts with an answer to a dropped question.
 * An assistant message that calls tools and the tool results answering it are kept or dropped together, also when
 * the newest message is such a result (the call it answers is kept with it).
 * Counts follow OpenAI's guide for chat models: 3 tokens per message plus its role, content and name (name + 1),
 * plus 3 priming the reply; a tool call counts its name and arguments, a tool result its call id. Every image part
 * counts as {@value #IMAGE_TOKENS} tokens, whatever its size (what OpenAI bills a 1024x1024 high-detail image): the
 * gateway does not fetch images to measure them. Audio and file parts count a token per 4 bytes of their JSON.
 * <p>Cost (measured on this project's 2-core machine): the first use of an encoding in a process loads its vocabulary,
 * about 0.4 s for o200k_base and 0.2 s for cl100k_base, so create and use a trimmer once at start-up, off the event
 * loop (in executeBlocking). Tokenizing then
 * takes about 50 µs per 1,000 characters of English; {@link #trim} only tokenizes the turns it keeps (plus one), and
 * none at all when the text's UTF-8 length already fits the budget. Thread-safe.
 */
public final class HistoryTrimmer {
  private static final int TOKENS_PER_MESSAGE = 3;
  private static final int TOKENS_PER_NAME = 1;
  private static final int REPLY_PRIMING = 3;
  static final int IMAGE_TOKENS = 765;
  // lazy: an encoding's vocabulary (several MB) is read on first use, and only the one asked for
  private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();

  private final Encoding encoding;

  public HistoryTrimmer(EncodingType encodingType) {
    this.encoding = REGISTRY.getEncoding(encodingType);
  }

  /** o200k_base: the GPT-4o / o-series tokenizer. */
  public static HistoryTrimmer o200k() {
    return new HistoryTrimmer(EncodingType.O200K_BASE);
  }

  /** cl100k_base: the GPT-4 / GPT-3.5 tokenizer. */
  public static HistoryTrimmer cl100k() {
    return new HistoryTrimmer(EncodingType.CL100K_BASE);
  }

  /** Tokens the messages take as a chat prompt, including the reply priming. */
  public int count(List<ChatMessage> messages) {
    int total = REPLY_PRIMING;
    for (ChatMessage message : messages) {
      total += count(message);
    }
    return total;
  }

  public int count(ChatMessage message) {
    int tokens = TOKENS_PER_MESSAGE + tokens(message.role());
    Object content = message.json().getValue("content");
    if (content instanceof String text) {
      tokens += tokens(text);
    } else if (content instanceof JsonArray parts) {
      for (Object part : parts) {
        if (part instanceof JsonObject p) {
          Object type = p.getValue("type");
          if ("text".equals(type) && p.getValue("text") instanceof String text) {
            tokens += tokens(text);
          } else if ("image_url".equals(type)) {
            tokens += IMAGE_TOKENS;
          } else {
            tokens += p.encode().length() / 4;
          }
        }
      }
    }
    if (message.name() != null) {
      tokens += tokens(message.name()) + TOKENS_PER_NAME;
    }
    if (message.json().getValue("tool_calls") instanceof JsonArray calls) {
      for (Object call : calls) {
        if (call instanceof JsonObject c && c.getValue("function") instanceof JsonObject function) {
          tokens += TOKENS_PER_MESSAGE + tokens(String.valueOf(function.getValue("name")))
            + tokens(String.valueOf(function.getValue("arguments")));
        }
      }
    }
    if (message.json().getValue("tool_call_id") instanceof String id) {
      tokens += tokens(id);
    }
    return tokens;
  }

  /**
   * The messages that fit in {@code maxTokens}, in their original order. When the system messages and the newest
   * message alone exceed the budget, those are returned anyway: the caller decides whether to send them.
   */
  public List<ChatMessage> trim(List<ChatMessage> messages, int maxTokens) {
    if (messages.isEmpty()) {
      return List.of();
    }
    if (upperBound(messages) <= maxTokens) {
      return List.copyOf(messages);
    }
    int newest = messages.size() - 1;
    // the newest message, and when it is a tool result, the call it answers (and that call's other results)
    int tail = newest;
    while (tail > 0 && messages.get(tail).isToolResult() && !messages.get(tail).callsTools()) {
      tail--;
    }
    if (!messages.get(tail).callsTools()) {
      tail = newest;
    }
    boolean[] keep = new boolean[messages.size()];
    int used = REPLY_PRIMING;
    for (int i = tail; i <= newest; i++) {
      keep[i] = true;
      used += count(messages.get(i));
    }
    for (int i = 0; i < tail; i++) {
      if (messages.get(i).isSystem()) {
        keep[i] = true;
        used += count(messages.get(i));
      }
    }
    // newest turn first: only the turns that end up kept (and the first one that does not fit) are tokenized
    for (int turnEnd = tail - 1; turnEnd >= 0; ) {
      int turnStart = startOfTurn(messages, turnEnd);
      int turnTokens = countConversational(messages, turnStart, turnEnd);
      if (used + turnTokens > maxTokens) {
        break;
      }
      used += turnTokens;
      Arrays.fill(keep, turnStart, turnEnd + 1, true);
      turnEnd = turnStart - 1;
    }
    List<ChatMessage> kept = new ArrayList<>();
    for (int i = 0; i < keep.length; i++) {
      if (keep[i]) {
        kept.add(messages.get(i));
      }
    }
    return kept;
  }

  /** Where the turn ending at {@code end} begins: at its user message, or at the start when there is none. */
  private static int startOfTurn(List<ChatMessage> messages, int end) {
    for (int i = end; i > 0; i--) {
      if (messages.get(i).role().equals("user")) {
        return i;
      }
    }
    return 0;
  }

  /** Tokens of the messages in [from, to] that are not system or developer messages (those are counted already). */
  private int countConversational(List<ChatMessage> messages, int from, int to) {
    int tokens = 0;
    for (int i = from; i <= to; i++) {
      if (!messages.get(i).isSystem()) {
        tokens += count(messages.get(i));
      }
    }
    return tokens;
  }

  /** At least the count, found without tokenizing: a byte-level BPE token covers one UTF-8 byte or more. */
  private static long upperBound(List<ChatMessage> messages) {
    long bound = REPLY_PRIMING;
    for (ChatMessage message : messages) {
      bound += TOKENS_PER_MESSAGE + TOKENS_PER_NAME + utf8Length(message.json().encode());
      if (message.parts() != null) {
        bound += (long) IMAGE_TOKENS * message.parts().size();
      }
    }
    return bound;
  }

  private static long utf8Length(String text) {
    long bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      // a surrogate pair is 4 bytes, 2 per half
      bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
    }
    return bytes;
  }

  private int tokens(String text) {
    // ordinary: a user typing "<|endoftext|>" gets it counted as text, not refused as a special token
    return encoding.countTokensOrdinary(text);
  }
}

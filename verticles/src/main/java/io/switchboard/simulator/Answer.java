package io.switchboard.simulator;

import io.switchboard.routing.Continuation;
import io.vertx.core.json.JsonObject;

import java.util.Arrays;
import java.util.List;

/**
 * What the simulator says to a turn, decided before any byte is written: text tokens, or one function call whose
 * arguments come as {@code tokens}. Always the same for the same request.
 *
 * @param tokens   the text's tokens, or the fragments of the call's arguments
 * @param callId   the call's id ({@code call_...}); null for text
 * @param callName the function called; null for text
 * @param cut      stopped at max_tokens
 */
record Answer(String[] tokens, String callId, String callName, boolean cut) {
  private static final String[] IMAGE = {"I", " see", " an", " image."};
  private static final int TOOL_WORDS = 8;
  private static final char[] BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

  static Answer text(String[] tokens) {
    return new Answer(tokens, null, null, false);
  }

  boolean toolCall() {
    return callName != null;
  }

  String finishReason() {
    return cut ? "length" : toolCall() ? "tool_calls" : "stop";
  }

  String joined() {
    return String.join("", tokens);
  }

  /**
   * The answer to a turn; asked to continue a partial answer (the gateway's mid-stream failover), the rest of that
   * same answer, so a continued stream reads exactly like an unbroken one. max_tokens cuts it.
   */
  static Answer to(ChatTurn turn, SimulatorKnobs knobs) {
    List<ChatTurn.Message> messages = turn.messages();
    int last = messages.size() - 1;
    Answer answer = null;
    if (last >= 2 && Continuation.INSTRUCTION.equals(messages.get(last).text())
      && messages.get(last - 1).role().equals("assistant")) {
      Answer whole = to(turn, last - 1, knobs);
      answer = whole.toolCall() ? whole : rest(whole.tokens, messages.get(last - 1).text());
    }
    if (answer == null) {
      answer = to(turn, messages.size(), knobs);
    }
    return answer.tokens.length > turn.maxTokens()
      ? new Answer(Arrays.copyOf(answer.tokens, turn.maxTokens()), answer.callId, answer.callName, true) : answer;
  }

  /** The tokens of {@code whole} after {@code partial}; null when partial is not where whole's tokens start. */
  private static Answer rest(String[] whole, String partial) {
    StringBuilder said = new StringBuilder();
    for (int i = 0; i <= whole.length; i++) {
      if (said.length() == partial.length() && said.toString().equals(partial)) {
        return text(Arrays.copyOfRange(whole, i, whole.length));
      }
      if (i < whole.length) {
        said.append(whole[i]);
      }
    }
    return null;
  }

  /** The answer to the conversation's first {@code end} messages. */
  private static Answer to(ChatTurn turn, int end, SimulatorKnobs knobs) {
    List<ChatTurn.Message> messages = turn.messages();
    ChatTurn.Message last = messages.get(end - 1);
    if (last.role().equals("tool")) {
      return text(toolSaid(last.text()));
    }
    if (turn.function() != null) {
      String name = turn.function().getString("name");
      String arguments = Schemas.fill(turn.function().getJsonObject("parameters"),
        ChatTurn.lastUserText(messages, end)).encode();
      return new Answer(Tokens.fragments(arguments), callId(name, arguments), name, false);
    }
    JsonObject format = turn.responseFormat();
    if (format != null && format.getString("type").equals("json_object")) {
      return text(Tokens.fragments(new JsonObject().put("answer", String.join("", reply(last.text(),
        knobs.replyTokens()))).encode()));
    }
    if (format != null) {
      return text(Tokens.fragments(Schemas.fill(format.getJsonObject("json_schema").getJsonObject("schema"),
        ChatTurn.lastUserText(messages, end)).encode()));
    }
    String[] reply = reply(last.text(), knobs.replyTokens());
    if (!last.image()) {
      return text(reply);
    }
    String[] tokens = Arrays.copyOf(IMAGE, IMAGE.length + reply.length);
    for (int i = 0; i < reply.length; i++) {
      tokens[IMAGE.length + i] = i == 0 ? " " + reply[0] : reply[i];
    }
    return text(tokens);
  }

  /** The answer to a tool's result: {@code The tool said: <its first words>...}. */
  static String[] toolSaid(String content) {
    String[] words = Tokens.words(content);
    if (words.length == 0) {
      return new String[] {"The", " tool", " said", " nothing."};
    }
    int n = Math.min(words.length, TOOL_WORDS);
    String[] tokens = new String[3 + n];
    tokens[0] = "The";
    tokens[1] = " tool";
    tokens[2] = " said:";
    System.arraycopy(words, 0, tokens, 3, n);
    tokens[3] = " " + tokens[3];
    if (words.length > TOOL_WORDS) {
      tokens[tokens.length - 1] += "...";
    }
    return tokens;
  }

  /** call_ and 24 letters or digits from the function's name and arguments. */
  static String callId(String name, String arguments) {
    long a = Tokens.hash(name + '\u0000' + arguments);
    long b = Tokens.mix(a ^ 0x5deece66dL);
    StringBuilder id = new StringBuilder("call_");
    for (int i = 0; i < 24; i++) {
      long source = i < 12 ? a : b;
      id.append(BASE62[(int) Math.floorMod(Tokens.mix(source + i), 62L)]);
    }
    return id.toString();
  }

  /** The same prompt always gets the same answer; each token is one word with its leading space. */
  static String[] reply(String prompt, int length) {
    long seed = prompt.hashCode();
    String[] words = Tokens.WORDS;
    String[] tokens = new String[length];
    for (int i = 0; i < length; i++) {
      seed = seed * 6364136223846793005L + 1442695040888963407L;
      String word = words[(int) ((seed >>> 33) % words.length)];
      tokens[i] = i == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : " " + word;
    }
    if (length > 0) {
      tokens[length - 1] = tokens[length - 1] + ".";
    }
    return tokens;
  }
}

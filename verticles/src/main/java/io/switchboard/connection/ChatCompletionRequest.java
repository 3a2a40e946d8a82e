package io.switchboard.connection;

import io.switchboard.bus.ChatMessage;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A client's {@code POST /v1/chat/completions} body, validated. What the gateway does not interpret
 * (temperature, max_tokens, stop, seed, ...) is kept as {@link #options} and passed to the upstream untouched.
 */
record ChatCompletionRequest(String model, List<ChatMessage> messages, boolean stream, boolean includeUsage,
                             String options) {

  /** Keys the gateway reads itself; everything else is passed through. */
  private static final Set<String> OWN = Set.of("model", "messages", "stream", "stream_options", "n");

  static ChatCompletionRequest parse(JsonObject body) {
    Object model = body.getValue("model");
    if (!(model instanceof String name) || name.isBlank()) {
      throw InvalidRequest.of("'model' is required and must be a string.", "model");
    }
    Object rawMessages = body.getValue("messages");
    if (!(rawMessages instanceof JsonArray array) || array.isEmpty()) {
      throw InvalidRequest.of("'messages' is required and must be a non-empty array.", "messages");
    }
    List<ChatMessage> messages = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      messages.add(message(array.getValue(i), i));
    }
    Object stream = body.getValue("stream", false);
    if (!(stream instanceof Boolean streaming)) {
      throw InvalidRequest.of("'stream' must be a boolean.", "stream");
    }
    boolean includeUsage = false;
    Object streamOptions = body.getValue("stream_options");
    if (streamOptions != null) {
      if (!(streamOptions instanceof JsonObject so) || !(so.getValue("include_usage", false) instanceof Boolean)) {
        throw InvalidRequest.of("'stream_options' must be an object with a boolean 'include_usage'.",
          "stream_options");
      }
      includeUsage = so.getBoolean("include_usage", false);
    }
    Object n = body.getValue("n");
    if (n != null && !(n instanceof Number count && count.intValue() == 1)) {
      throw InvalidRequest.of("Only n=1 is supported.", "n");
    }
    JsonObject options = new JsonObject();
    for (String key : body.fieldNames()) {
      if (!OWN.contains(key)) {
        options.put(key, body.getValue(key));
      }
    }
    return new ChatCompletionRequest(name, messages, streaming, includeUsage, options.isEmpty() ? null
      : options.encode());
  }

  private static ChatMessage message(Object raw, int index) {
    String param = "messages[" + index + "]";
    if (!(raw instanceof JsonObject message)) {
      throw InvalidRequest.of(param + " must be an object.", param);
    }
    Object role = message.getValue("role");
    if (!(role instanceof String r) || !ChatMessage.ROLES.contains(r)) {
      throw InvalidRequest.of(param + ".role must be one of " + ChatMessage.ROLES + ".", param + ".role");
    }
    Object name = message.getValue("name");
    if (name != null && !(name instanceof String)) {
      throw InvalidRequest.of(param + ".name must be a string.", param + ".name");
    }
    return new ChatMessage(r, content(message.getValue("content"), param), (String) name);
  }

  /** A string, or an array of text parts (joined); other part types are not supported yet. */
  private static String content(Object content, String param) {
    if (content == null || content instanceof String) {
      return (String) content;
    }
    if (content instanceof JsonArray parts) {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < parts.size(); i++) {
        if (!(parts.getValue(i) instanceof JsonObject part) || !"text".equals(part.getString("type"))
          || !(part.getValue("text") instanceof String piece)) {
          throw InvalidRequest.of(param + ".content[" + i + "] must be a text part; other kinds are not "
            + "supported by this gateway yet.", param + ".content");
        }
        text.append(piece);
      }
      return text.toString();
    }
    throw InvalidRequest.of(param + ".content must be a string or an array of text parts.", param + ".content");
  }
}

package io.switchboard.chat;

import io.switchboard.bus.ChatMessage;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A client's {@code POST /v1/chat/completions} body, checked for the structure the API requires and otherwise left
 * as it was written: messages stay the JSON the client sent (content parts, tool calls, tool results, ...), and every
 * top-level field the gateway does not read itself is kept in {@link #options} for the upstream. A valid OpenAI shape
 * is never refused for holding something the gateway does not know; a malformed one gets a 400 naming the field.
 */
public record ChatCompletionRequest(String model, List<ChatMessage> messages, boolean stream, boolean includeUsage,
                                    JsonObject options) {

  /** Keys the gateway reads itself; everything else is passed through. */
  private static final Set<String> OWN = Set.of("model", "messages", "stream");
  /** Roles whose content must be present (an assistant may answer with tool calls alone). */
  private static final Set<String> NEED_CONTENT = Set.of("system", "developer", "user", "tool");

  public static ChatCompletionRequest parse(JsonObject body) {
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
      messages.add(message(array.getValue(i), "messages[" + i + "]"));
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
    if (n != null && !(n instanceof Number count && count.doubleValue() == count.intValue() && count.intValue() >= 1
      && count.intValue() <= 128)) {
      throw InvalidRequest.of("'n' must be an integer from 1 to 128.", "n");
    }
    Object tools = body.getValue("tools");
    if (tools != null && !(tools instanceof JsonArray)) {
      throw InvalidRequest.of("'tools' must be an array.", "tools");
    }
    JsonObject options = null;
    for (String key : body.fieldNames()) {
      if (!OWN.contains(key)) {
        if (options == null) {
          options = new JsonObject();
        }
        options.put(key, body.getValue(key));
      }
    }
    return new ChatCompletionRequest(name, messages, streaming, includeUsage, options);
  }

  /** One message, checked for the structure the API requires, kept as it was written. */
  public static ChatMessage message(Object raw, String param) {
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
    Object content = message.getValue("content");
    if (content == null) {
      if (NEED_CONTENT.contains(r)) {
        throw InvalidRequest.of(param + ".content is required for a " + r + " message.", param + ".content");
      }
    } else if (content instanceof JsonArray parts) {
      parts(parts, param + ".content");
    } else if (!(content instanceof String)) {
      throw InvalidRequest.of(param + ".content must be a string or an array of content parts.", param + ".content");
    }
    Object toolCalls = message.getValue("tool_calls");
    if (toolCalls != null) {
      if (!r.equals("assistant") || !(toolCalls instanceof JsonArray calls)) {
        throw InvalidRequest.of(param + ".tool_calls must be an array, on an assistant message.", param + ".tool_calls");
      }
      for (int i = 0; i < calls.size(); i++) {
        toolCall(calls.getValue(i), param + ".tool_calls[" + i + "]");
      }
    }
    if (r.equals("tool") && !(message.getValue("tool_call_id") instanceof String)) {
      throw InvalidRequest.of(param + ".tool_call_id is required for a tool message: it names the call answered.",
        param + ".tool_call_id");
    }
    if (r.equals("assistant") && content == null && toolCalls == null && message.getValue("function_call") == null
      && message.getValue("refusal") == null && message.getValue("audio") == null) {
      throw InvalidRequest.of(param + ".content is required unless tool_calls or function_call is given.",
        param + ".content");
    }
    return new ChatMessage(message);
  }

  /** Content parts: each an object with a type; the parts the gateway knows are checked, others pass through. */
  private static void parts(JsonArray parts, String param) {
    for (int i = 0; i < parts.size(); i++) {
      String at = param + "[" + i + "]";
      if (!(parts.getValue(i) instanceof JsonObject part) || !(part.getValue("type") instanceof String type)) {
        throw InvalidRequest.of(at + " must be an object with a string 'type'.", at + ".type");
      }
      switch (type) {
        case "text" -> {
          if (!(part.getValue("text") instanceof String)) {
            throw InvalidRequest.of(at + ".text must be a string.", at + ".text");
          }
        }
        case "image_url" -> {
          if (!(part.getValue("image_url") instanceof JsonObject image) || !(image.getValue("url") instanceof String)) {
            throw InvalidRequest.of(at + ".image_url must be an object with a string 'url'.", at + ".image_url");
          }
        }
        case "input_audio" -> {
          if (!(part.getValue("input_audio") instanceof JsonObject audio) || !(audio.getValue("data") instanceof String)) {
            throw InvalidRequest.of(at + ".input_audio must be an object with string 'data' and 'format'.",
              at + ".input_audio");
          }
        }
        case "file" -> {
          if (!(part.getValue("file") instanceof JsonObject)) {
            throw InvalidRequest.of(at + ".file must be an object.", at + ".file");
          }
        }
        default -> {
          // a part type added after this gateway was written: the upstream decides
        }
      }
    }
  }

  private static void toolCall(Object raw, String param) {
    if (!(raw instanceof JsonObject call) || !(call.getValue("id") instanceof String)) {
      throw InvalidRequest.of(param + " must be an object with a string 'id'.", param + ".id");
    }
    if (call.getValue("function") != null) {
      if (!(call.getValue("function") instanceof JsonObject function) || !(function.getValue("name") instanceof String)
        || !(function.getValue("arguments") instanceof String)) {
        throw InvalidRequest.of(param + ".function must be an object with string 'name' and 'arguments'.",
          param + ".function");
      }
    }
  }
}

package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatResult;
import io.switchboard.inference.AnthropicShapes;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** Anthropic's Messages shapes written from a Chat Completions answer: the message, its content blocks, usage, errors. */
final class MessageObjects {
  private MessageObjects() {
  }

  static String messageId(String requestId) {
    return "msg_" + requestId;
  }

  /** A tool call's arguments as the JSON object Anthropic's input is (text that is not one is kept under "input"). */
  static JsonObject input(String arguments) {
    if (arguments == null || arguments.isBlank()) {
      return new JsonObject();
    }
    try {
      return new JsonObject(arguments);
    } catch (RuntimeException notAnObject) {
      return new JsonObject().put("input", arguments);
    }
  }

  /** An assistant message as content blocks: its text (or refusal), then a tool_use block per tool call. */
  static JsonArray content(JsonObject message) {
    JsonArray blocks = new JsonArray();
    String text = new ChatMessage(message).text();
    if (text.isEmpty() && message.getValue("refusal") instanceof String refusal) {
      text = refusal;
    }
    JsonArray calls = message.getValue("tool_calls") instanceof JsonArray c ? c : new JsonArray();
    if (!text.isEmpty() || calls.isEmpty()) {
      blocks.add(new JsonObject().put("type", "text").put("text", text).putNull("citations"));
    }
    for (Object raw : calls) {
      JsonObject call = (JsonObject) raw;
      JsonObject function = call.getJsonObject("function", new JsonObject());
      blocks.add(new JsonObject().put("type", "tool_use").put("id", call.getString("id"))
        .put("name", function.getString("name")).put("input", input(function.getString("arguments"))));
    }
    return blocks;
  }

  /**
   * Chat Completions' usage in Anthropic's terms: input_tokens without the cached part, which Anthropic counts
   * apart (an Anthropic upstream's own cache counts are kept as it gave them).
   */
  static JsonObject usage(JsonObject usage) {
    JsonObject chat = usage == null ? new JsonObject() : usage;
    int cacheRead = chat.getJsonObject("prompt_tokens_details", new JsonObject()).getInteger("cached_tokens", 0);
    int cacheWrite = chat.getInteger("cache_creation_input_tokens", 0);
    return new JsonObject()
      .put("input_tokens", Math.max(0, chat.getInteger("prompt_tokens", 0) - cacheRead - cacheWrite))
      .put("cache_creation_input_tokens", cacheWrite).put("cache_read_input_tokens", cacheRead)
      .put("output_tokens", chat.getInteger("completion_tokens", 0));
  }

  static JsonObject message(String requestId, String model, ChatResult result) {
    return new JsonObject().put("id", messageId(requestId)).put("type", "message").put("role", "assistant")
      .put("model", model).put("content", content(result.message()))
      .put("stop_reason", AnthropicShapes.stopReason(result.finishReason())).putNull("stop_sequence")
      .put("usage", usage(result.usage()));
  }

  /** Anthropic's error type for a status. */
  static String errorType(int status) {
    return switch (status) {
      case 400, 422 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      case 503, 529 -> "overloaded_error";
      case 504 -> "timeout_error";
      default -> "api_error";
    };
  }

  /** {@code {"type":"error","error":{"type","message"},"request_id"}}. */
  static JsonObject error(ApiError error, String requestId) {
    return new JsonObject().put("type", "error").put("error", new JsonObject()
      .put("type", errorType(error.status())).put("message", error.message())).put("request_id", requestId);
  }
}

package io.switchboard.connection;

import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatResult;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The Responses API's shapes written from a Chat Completions answer: the response object, its output items
 * (a message with output_text or refusal, function_call items) and its usage. The same items whether the answer
 * came whole or streamed, so a stream's {@code response.completed} and a later GET agree.
 */
final class ResponseObjects {
  private ResponseObjects() {
  }

  static String messageId(String responseId) {
    return "msg_" + responseId.substring("resp_".length());
  }

  /** A function call item's own id (the call id is the model's). */
  static String callItemId(String callId) {
    return "fc_" + callId.replaceAll("[^A-Za-z0-9_-]", "_");
  }

  static JsonObject textPart(String text) {
    return new JsonObject().put("type", "output_text").put("text", text).put("annotations", new JsonArray())
      .put("logprobs", new JsonArray());
  }

  static JsonObject messageItem(String responseId, String status, JsonArray content) {
    return new JsonObject().put("id", messageId(responseId)).put("type", "message").put("status", status)
      .put("role", "assistant").put("content", content);
  }

  static JsonObject callItem(String callId, String name, String arguments, String status) {
    return new JsonObject().put("id", callItemId(callId)).put("type", "function_call").put("status", status)
      .put("arguments", arguments).put("call_id", callId).put("name", name);
  }

  /** The output items of an assistant message: its text (or refusal), then its tool calls. */
  static JsonArray output(String responseId, JsonObject message) {
    JsonArray output = new JsonArray();
    String text = new ChatMessage(message).text();
    JsonArray calls = message.getValue("tool_calls") instanceof JsonArray c ? c : new JsonArray();
    if (message.getValue("refusal") instanceof String refusal && !refusal.isEmpty()) {
      output.add(messageItem(responseId, "completed", new JsonArray().add(new JsonObject().put("type", "refusal")
        .put("refusal", refusal))));
    } else if (!text.isEmpty() || calls.isEmpty()) {
      output.add(messageItem(responseId, "completed", new JsonArray().add(textPart(text))));
    }
    for (Object raw : calls) {
      JsonObject call = (JsonObject) raw;
      JsonObject function = call.getJsonObject("function", new JsonObject());
      output.add(callItem(call.getString("id"), function.getString("name"), function.getString("arguments", ""),
        "completed"));
    }
    return output;
  }

  /** Chat Completions' usage in the Responses API's names and details. */
  static JsonObject usage(JsonObject usage) {
    JsonObject chat = usage == null ? new JsonObject() : usage;
    int input = chat.getInteger("prompt_tokens", 0);
    int output = chat.getInteger("completion_tokens", 0);
    JsonObject promptDetails = chat.getJsonObject("prompt_tokens_details", new JsonObject());
    JsonObject completionDetails = chat.getJsonObject("completion_tokens_details", new JsonObject());
    return new JsonObject().put("input_tokens", input)
      .put("input_tokens_details", new JsonObject().put("cached_tokens", promptDetails.getInteger("cached_tokens", 0))
        .put("cache_write_tokens", chat.getInteger("cache_creation_input_tokens", 0)))
      .put("output_tokens", output)
      .put("output_tokens_details", new JsonObject()
        .put("reasoning_tokens", completionDetails.getInteger("reasoning_tokens", 0)))
      .put("total_tokens", chat.getInteger("total_tokens", input + output));
  }

  /**
   * The response object: what the request asked for echoed back, the output, the status.
   *
   * @param result null while the answer is still being written (status in_progress, no usage)
   */
  static JsonObject response(String id, long createdAt, ResponsesRequest request, JsonArray output,
                             ChatResult result) {
    JsonObject body = request.body();
    String status = "in_progress";
    JsonObject incomplete = null;
    if (result != null) {
      String reason = switch (result.finishReason()) {
        case "length" -> "max_output_tokens";
        case "content_filter" -> "content_filter";
        default -> null;
      };
      status = reason == null ? "completed" : "incomplete";
      incomplete = reason == null ? null : new JsonObject().put("reason", reason);
    }
    JsonObject response = new JsonObject().put("id", id).put("object", "response").put("created_at", createdAt)
      .put("status", status).put("background", false).putNull("error").put("incomplete_details", incomplete)
      .put("instructions", request.instructions()).put("max_output_tokens", body.getValue("max_output_tokens"))
      .put("model", request.model()).put("output", output)
      .put("parallel_tool_calls", body.getValue("parallel_tool_calls", true))
      .put("previous_response_id", request.previousResponseId())
      .put("reasoning", body.getValue("reasoning", new JsonObject().putNull("effort").putNull("summary")))
      .put("store", request.store())
      .put("temperature", body.getValue("temperature", 1.0))
      .put("text", body.getValue("text", new JsonObject().put("format", new JsonObject().put("type", "text"))))
      .put("tool_choice", body.getValue("tool_choice", "auto"))
      .put("tools", body.getValue("tools", new JsonArray()))
      .put("top_p", body.getValue("top_p", 1.0))
      .put("truncation", body.getValue("truncation", "disabled"))
      .put("usage", result == null ? null : usage(result.usage()))
      .put("user", body.getValue("user"))
      .put("metadata", body.getValue("metadata", new JsonObject()));
    return response;
  }
}

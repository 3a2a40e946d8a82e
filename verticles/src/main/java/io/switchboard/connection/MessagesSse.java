package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.inference.AnthropicShapes;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * One streamed {@code /v1/messages} answer in Anthropic's event sequence: {@code message_start}, {@code ping}, per
 * block {@code content_block_start}, {@code content_block_delta} (text_delta, or input_json_delta for a tool_use
 * block)..., {@code content_block_stop}; then {@code message_delta} with the stop reason and usage, and
 * {@code message_stop}. A failure after the start is an {@code error} event.
 */
final class MessagesSse extends TypedEventSink {
  private final String requestId;
  private final String model;

  MessagesSse(HttpServerResponse response, FlowGate gate, String requestId, String model) {
    super(response, gate);
    this.requestId = requestId;
    this.model = model;
  }

  private void send(String type, JsonObject data) {
    event(type, data.put("type", type));
  }

  @Override
  protected void begin() {
    send("message_start", new JsonObject().put("message", new JsonObject().put("id", MessageObjects.messageId(requestId))
      .put("type", "message").put("role", "assistant").put("model", model).put("content", new JsonArray())
      .putNull("stop_reason").putNull("stop_sequence")
      .put("usage", new JsonObject().put("input_tokens", 0).put("output_tokens", 0))));
    send("ping", new JsonObject());
  }

  @Override
  protected void textOpened(int block, boolean refusal) {
    send("content_block_start", new JsonObject().put("index", block)
      .put("content_block", new JsonObject().put("type", "text").put("text", "").putNull("citations")));
  }

  @Override
  protected void textDelta(int block, String delta, boolean refusal) {
    send("content_block_delta", new JsonObject().put("index", block)
      .put("delta", new JsonObject().put("type", "text_delta").put("text", delta)));
  }

  @Override
  protected void textClosed(int block, String text, boolean refusal) {
    send("content_block_stop", new JsonObject().put("index", block));
  }

  @Override
  protected void toolOpened(int block, ToolCall call) {
    send("content_block_start", new JsonObject().put("index", block).put("content_block", new JsonObject()
      .put("type", "tool_use").put("id", call.id).put("name", call.name).put("input", new JsonObject())));
  }

  @Override
  protected void toolDelta(int block, ToolCall call, String fragment) {
    send("content_block_delta", new JsonObject().put("index", block)
      .put("delta", new JsonObject().put("type", "input_json_delta").put("partial_json", fragment)));
  }

  @Override
  protected void toolClosed(int block, ToolCall call) {
    send("content_block_stop", new JsonObject().put("index", block));
  }

  @Override
  protected void finish(ChatResult result) {
    send("message_delta", new JsonObject()
      .put("delta", new JsonObject().put("stop_reason", AnthropicShapes.stopReason(result.finishReason()))
        .putNull("stop_sequence"))
      .put("usage", MessageObjects.usage(result.usage())));
    send("message_stop", new JsonObject());
  }

  @Override
  protected void errorEvent(ApiError error) {
    event("error", MessageObjects.error(error, requestId));
  }
}

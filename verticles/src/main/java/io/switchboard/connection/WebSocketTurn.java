package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.chat.StreamSink;
import io.switchboard.json.JsonText;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;

/**
 * One answer streamed over a WebSocket: {@code started} before its first piece, {@code delta} messages as chunks
 * arrive (text, and the whole OpenAI chunk when it carries more than text: tool calls, refusal, reasoning,
 * logprobs), ended by {@code done} or {@code error}. A turn refused before anything streamed gets only its error.
 */
final class WebSocketTurn extends StreamSink {
  private final ServerWebSocket socket;
  private final FlowGate gate;
  private final String id;
  private final String requestId;
  private final String conversationId;
  private final String deltaPrefix;
  private boolean started;

  WebSocketTurn(ServerWebSocket socket, FlowGate gate, String id, String requestId, String conversationId) {
    this.socket = socket;
    this.gate = gate;
    this.id = id;
    this.requestId = requestId;
    this.conversationId = conversationId;
    StringBuilder prefix = new StringBuilder("{\"type\":\"delta\",\"id\":");
    JsonText.appendQuoted(prefix, id);
    this.deltaPrefix = prefix.append(",\"text\":").toString();
  }

  @Override
  public boolean started() {
    return started;
  }

  private void startIfNeeded() {
    if (!started) {
      started = true;
      send(new JsonObject().put("type", "started").put("id", id).put("request_id", requestId)
        .put("conversation_id", conversationId).put("memory", memory()));
    }
  }

  @Override
  protected void writeChunk(StreamChunk chunk) {
    if (chunk.has(StreamChunk.USAGE_ONLY) || chunk.plain() && chunk.text().isEmpty()) {
      startIfNeeded(); // usage comes with done; a role or finish chunk has nothing to show
      return;
    }
    startIfNeeded();
    if (!socket.isClosed()) {
      StringBuilder message = new StringBuilder(deltaPrefix.length() + chunk.text().length() + 8).append(deltaPrefix);
      JsonText.appendQuoted(message, chunk.text());
      if (!chunk.plain()) {
        message.append(",\"chunk\":").append(chunk.json().toString());
      }
      socket.writeTextMessage(message.append('}').toString());
      gate.wrote();
    }
  }

  @Override
  protected void writeEnd(ChatResult result) {
    startIfNeeded();
    JsonObject message = finalMessage(result);
    send(new JsonObject().put("type", "done").put("id", id).put("conversation_id", conversationId)
      .put("finish_reason", result.finishReason()).put("deployment", result.deployment())
      .put("usage", OpenAiJson.usage(result)).put("message", message));
  }

  @Override
  public void error(ApiError error) {
    send(new JsonObject().put("type", "error").put("id", id).put("error", error.toJson().getJsonObject("error")));
  }

  private void send(JsonObject message) {
    if (!socket.isClosed()) {
      socket.writeTextMessage(message.encode());
    }
  }
}

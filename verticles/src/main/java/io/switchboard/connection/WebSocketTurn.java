package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.json.JsonText;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;

/** One answer streamed over a WebSocket as {@code delta} messages, ended by {@code done} or {@code error}. */
final class WebSocketTurn extends StreamSink {
  private final ServerWebSocket socket;
  private final FlowGate gate;
  private final String id;
  private final String conversationId;
  private final String deltaPrefix;
  private boolean started;

  WebSocketTurn(ServerWebSocket socket, FlowGate gate, String id, String conversationId) {
    super(true);
    this.socket = socket;
    this.gate = gate;
    this.id = id;
    this.conversationId = conversationId;
    StringBuilder prefix = new StringBuilder("{\"type\":\"delta\",\"id\":");
    JsonText.appendQuoted(prefix, id);
    this.deltaPrefix = prefix.append(",\"text\":").toString();
  }

  @Override
  boolean started() {
    return started;
  }

  @Override
  protected void writeDelta(String text, boolean first) {
    started = true;
    if (!socket.isClosed()) {
      StringBuilder message = new StringBuilder(deltaPrefix.length() + text.length() + 8).append(deltaPrefix);
      JsonText.appendQuoted(message, text);
      socket.writeTextMessage(message.append('}').toString());
      gate.wrote();
    }
  }

  @Override
  protected void writeEnd(ChatResult result) {
    send(new JsonObject().put("type", "done").put("id", id).put("conversation_id", conversationId)
      .put("finish_reason", result.finishReason()).put("deployment", result.deployment())
      .put("usage", OpenAiJson.usage(result)));
  }

  @Override
  void error(ApiError error) {
    send(new JsonObject().put("type", "error").put("id", id).put("error", error.toJson().getJsonObject("error")));
  }

  private void send(JsonObject message) {
    if (!socket.isClosed()) {
      socket.writeTextMessage(message.encode());
    }
  }
}

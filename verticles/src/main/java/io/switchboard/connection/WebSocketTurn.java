package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.json.JsonText;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;

/** One answer streamed over a WebSocket as {@code delta} messages, ended by {@code done} or {@code error}. */
final class WebSocketTurn implements StreamSink {
  private final ServerWebSocket socket;
  private final FlowGate gate;
  private final String id;
  private final String conversationId;
  private final String deltaPrefix;
  private final StringBuilder answer = new StringBuilder();
  private final ChunkSequencer sequencer = new ChunkSequencer(this::write);
  private ChatResult pendingResult;
  private Runnable pendingDone;
  private boolean ended;

  WebSocketTurn(ServerWebSocket socket, FlowGate gate, String id, String conversationId) {
    this.socket = socket;
    this.gate = gate;
    this.id = id;
    this.conversationId = conversationId;
    StringBuilder prefix = new StringBuilder("{\"type\":\"delta\",\"id\":");
    JsonText.appendQuoted(prefix, id);
    this.deltaPrefix = prefix.append(",\"text\":").toString();
  }

  @Override
  public boolean started() {
    return sequencer.delivered() > 0;
  }

  @Override
  public String answer() {
    return answer.toString();
  }

  boolean ended() {
    return ended;
  }

  @Override
  public void chunk(StreamChunk chunk) {
    sequencer.accept(chunk);
    if (pendingResult != null && sequencer.delivered() >= pendingResult.chunks()) {
      finish(pendingResult, pendingDone);
    }
  }

  private void write(String delta) {
    answer.append(delta);
    if (!socket.isClosed()) {
      StringBuilder message = new StringBuilder(deltaPrefix.length() + delta.length() + 8).append(deltaPrefix);
      JsonText.appendQuoted(message, delta);
      socket.writeTextMessage(message.append('}').toString());
      gate.wrote();
    }
  }

  @Override
  public boolean finish(ChatResult result, Runnable done) {
    if (sequencer.delivered() < result.chunks()) {
      pendingResult = result;
      pendingDone = done;
      return false;
    }
    pendingResult = null;
    send(new JsonObject().put("type", "done").put("id", id).put("conversation_id", conversationId)
      .put("finish_reason", result.finishReason()).put("deployment", result.deployment())
      .put("usage", OpenAiJson.usage(result)));
    done.run();
    return true;
  }

  @Override
  public boolean giveUpWaiting() {
    if (pendingResult == null) {
      return false;
    }
    pendingResult = null;
    error(ApiError.upstreamFailed("Part of the answer was lost between gateway nodes."));
    return true;
  }

  @Override
  public void error(ApiError error) {
    send(new JsonObject().put("type", "error").put("id", id).put("error", error.toJson().getJsonObject("error")));
  }

  private void send(JsonObject message) {
    ended = true;
    if (!socket.isClosed()) {
      socket.writeTextMessage(message.encode());
    }
  }
}

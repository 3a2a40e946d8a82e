package io.switchboard.perf;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Chat turns over the gateway's WebSocket ({@code /v1/ws}, protocol in the root README under "WebSocket chat"):
 * {@code connections} sockets are opened first, then each turn is sent on the next socket in turn. A turn is
 * ok at its "done"; its "delta" messages give the time to first and to last token.
 */
final class SocketChatTarget extends Target {
  private final WebSocketClient client;
  private final List<WebSocket> sockets = new ArrayList<>();
  private final Map<String, Turn> turns = new HashMap<>();
  private long turnsSent;

  private static final class Turn {
    final Call call;
    long firstNanos;
    long lastNanos;

    Turn(Call call) {
      this.call = call;
    }
  }

  SocketChatTarget(Vertx vertx, URI uri, Settings settings) {
    super(vertx, uri, settings);
    this.client = vertx.createWebSocketClient(new WebSocketClientOptions()
      .setMaxConnections(settings.connections + 1).setConnectTimeout((int) settings.timeoutMillis));
  }

  @Override
  Future<Void> open() {
    WebSocketConnectOptions options = webSocketOptions();
    List<Future<WebSocket>> opening = new ArrayList<>();
    for (int i = 0; i < settings.connections; i++) {
      opening.add(client.connect(options).onSuccess(socket -> {
        sockets.add(socket);
        socket.textMessageHandler(this::onMessage);
      }));
    }
    return Future.all(opening).mapEmpty();
  }

  private void onMessage(String text) {
    JsonObject message = new JsonObject(text);
    String id = message.getString("id");
    Turn turn = id == null ? null : turns.get(id);
    if (turn == null) {
      return; // "ready", "started", a turn already timed out
    }
    switch (message.getString("type", "")) {
      case "delta" -> {
        turn.lastNanos = System.nanoTime();
        if (turn.firstNanos == 0) {
          turn.firstNanos = turn.lastNanos;
        }
      }
      case "done" -> {
        turns.remove(id);
        if (turn.firstNanos == 0) {
          turn.call.fail("ws: done without delta");
        } else if (turn.call.ok()) {
          stats.tokens(turn.call.intendedNanos(), turn.firstNanos, turn.lastNanos);
        }
      }
      case "error" -> {
        turns.remove(id);
        turn.call.fail("ws error " + message.getJsonObject("error", new JsonObject()).getString("code"));
      }
      default -> { }
    }
  }

  @Override
  Future<Void> fire(long intendedNanos) {
    Call call = new Call(vertx, stats, intendedNanos, settings.timeoutMillis);
    long sequence = turnsSent++;
    WebSocket socket = sockets.get((int) (sequence % sockets.size()));
    if (socket.isClosed()) {
      call.fail("ws: socket closed");
      return call.future();
    }
    String id = "t" + sequence;
    turns.put(id, new Turn(call));
    call.onTimeout(() -> turns.remove(id));
    socket.writeTextMessage(new JsonObject().put("type", "chat").put("id", id).put("model", settings.model)
      .put("message", settings.prompt).encode());
    return call.future();
  }

  @Override
  Future<Void> close() {
    return client.close();
  }
}

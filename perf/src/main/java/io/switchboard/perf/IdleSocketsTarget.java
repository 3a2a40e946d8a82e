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
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Idle WebSocket capacity: each "request" opens one socket (latency = time to open it), which then stays
 * open and silent. The report counts how many opened and how many the server closed while they were held.
 * One source address holds at most {@value #PER_SOURCE_ADDRESS} sockets (loopback has ~28k ephemeral ports per
 * address pair), so more than that are spread over 127.0.0.2, 127.0.0.3, ... (an IPv4 target is needed).
 */
final class IdleSocketsTarget extends Target {
  static final int PER_SOURCE_ADDRESS = 20_000;
  private final List<WebSocketClient> clients = new ArrayList<>();
  private final WebSocketConnectOptions options;
  private final List<WebSocket> sockets = new ArrayList<>();
  private final Map<String, Long> closedByServer = new TreeMap<>();
  private long attempts;
  private boolean closing;
  /** Counts resets, so that a warm-up socket's late close is not taken for the server's. */
  private int generation;

  IdleSocketsTarget(Vertx vertx, URI uri, Settings settings) {
    super(vertx, uri, settings);
    long opened = settings.connections + (long) settings.warmupRate() * settings.warmupSeconds; // with the warm-up's
    int sources = (int) ((opened + PER_SOURCE_ADDRESS - 1) / PER_SOURCE_ADDRESS);
    if (sources > 1 && !uri.getHost().startsWith("127.")) {
      throw new IllegalArgumentException("more than " + PER_SOURCE_ADDRESS + " sockets (warm-up included) need a"
        + " 127.x.x.x target");
    }
    for (int i = 0; i < sources; i++) {
      WebSocketClientOptions clientOptions = new WebSocketClientOptions()
        .setMaxConnections(PER_SOURCE_ADDRESS + 1).setConnectTimeout((int) settings.timeoutMillis);
      if (sources > 1) {
        clientOptions.setLocalAddress("127.0.0." + (2 + i));
      }
      clients.add(vertx.createWebSocketClient(clientOptions));
    }
    this.options = webSocketOptions();
  }

  @Override
  Future<Void> fire(long intendedNanos) {
    Call call = new Call(vertx, stats, intendedNanos, settings.timeoutMillis);
    clients.get((int) (attempts++ / PER_SOURCE_ADDRESS)).connect(options).onComplete(connected -> {
      if (connected.failed()) {
        call.fail(Call.kindOf(connected.cause()));
        return;
      }
      WebSocket socket = connected.result();
      if (!call.ok()) {
        socket.close(); // opened after its deadline: counted as a timeout
        return;
      }
      sockets.add(socket);
      int openedIn = generation;
      socket.closeHandler(v -> {
        if (!closing && openedIn == generation) {
          Short code = socket.closeStatusCode();
          closedByServer.merge(code == null ? "without close frame" : "status " + code, 1L, Long::sum);
        }
      });
    });
    return call.future();
  }

  /** Closes the warm-up's sockets. */
  @Override
  Future<Void> reset() {
    generation++;
    List<Future<Void>> closed = sockets.stream().map(WebSocket::close).toList();
    return Future.join(closed).onComplete(done -> {
      sockets.clear();
      closedByServer.clear();
      stats.reset();
    }).mapEmpty();
  }

  @Override
  JsonObject details() {
    long stillOpen = sockets.stream().filter(socket -> !socket.isClosed()).count();
    return new JsonObject().put("opened", sockets.size()).put("still_open", stillOpen)
      .put("held_seconds", settings.durationSeconds)
      .put("closed_by_server", new JsonObject(new TreeMap<>(closedByServer)));
  }

  @Override
  Future<Void> close() {
    closing = true;
    return Future.join(clients.stream().map(WebSocketClient::close).toList()).mapEmpty();
  }
}

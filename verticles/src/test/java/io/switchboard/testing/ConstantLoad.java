package io.switchboard.testing;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A few clients that chat without pause — JSON answers, SSE streams, WebSocket turns — until stopped, recording every
 * turn's outcome. For tests that count failures while the node changes under them (not for timing claims).
 * A WebSocket the server closes with 1012 after its turns finished reconnects, and sends again a turn it had sent
 * that got no {@code started} (that is the documented protocol).
 */
public final class ConstantLoad implements AutoCloseable {
  /** One turn: which kind, when it was sent and ended (ms since the epoch), who answered, what went wrong. */
  public record Turn(String kind, long startMillis, long endMillis, String deployment, String failure) {
    public boolean ok() {
      return failure == null;
    }
  }

  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http;
  private final WebSocketClient webSockets;
  private final int port;
  private final String model;
  private final List<Turn> turns = Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger reconnects = new AtomicInteger();
  private final AtomicInteger sequence = new AtomicInteger();
  private volatile boolean running = true;

  /** @param keepAlive false: every request on its own connection (what a client does that never races a close) */
  public ConstantLoad(int port, String model, boolean keepAlive) {
    this.port = port;
    this.model = model;
    this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(keepAlive).setDefaultHost("127.0.0.1")
      .setDefaultPort(port));
    this.webSockets = vertx.createWebSocketClient();
  }

  public ConstantLoad start(int json, int sse, int webSocket) {
    for (int i = 0; i < json; i++) {
      vertx.runOnContext(v -> http(false));
    }
    for (int i = 0; i < sse; i++) {
      vertx.runOnContext(v -> http(true));
    }
    for (int i = 0; i < webSocket; i++) {
      vertx.runOnContext(v -> webSocket());
    }
    return this;
  }

  private JsonObject chat(boolean stream) {
    return new JsonObject().put("model", model).put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user")
        .put("content", "load " + sequence.incrementAndGet())));
  }

  private void http(boolean stream) {
    if (!running) {
      return;
    }
    long start = System.currentTimeMillis();
    String kind = stream ? "sse" : "json";
    http.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/chat/completions")
        .putHeader("content-type", "application/json"))
      .compose(request -> request.send(chat(stream).encode()))
      .compose(response -> response.body().map(body -> {
        String deployment = response.getHeader("x-switchboard-deployment");
        String text = body.toString();
        if (response.statusCode() != 200) {
          return new Turn(kind, start, System.currentTimeMillis(), deployment, response.statusCode() + " " + text);
        }
        boolean whole = stream ? text.contains("data: [DONE]") && !text.contains("\"error\"")
          : text.contains("\"choices\"");
        return new Turn(kind, start, System.currentTimeMillis(), deployment, whole ? null : "broken: " + text);
      }))
      .otherwise(failure -> new Turn(kind, start, System.currentTimeMillis(), null, failure.toString()))
      .onComplete(outcome -> {
        turns.add(outcome.result());
        vertx.setTimer(5, t -> http(stream));
      });
  }

  private void webSocket() {
    if (!running) {
      return;
    }
    webSockets.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI("/v1/ws"))
      .onFailure(failure -> {
        turns.add(new Turn("ws", System.currentTimeMillis(), System.currentTimeMillis(), null, "connect: " + failure));
        vertx.setTimer(50, t -> webSocket());
      })
      .onSuccess(this::converse);
  }

  private void converse(WebSocket socket) {
    long[] start = {0};
    boolean[] inTurn = {false};
    boolean[] started = {false};
    Runnable next = () -> {
      if (!running) {
        socket.close();
        return;
      }
      start[0] = System.currentTimeMillis();
      inTurn[0] = true;
      started[0] = false;
      socket.writeTextMessage(new JsonObject().put("type", "chat").put("id", "t" + sequence.incrementAndGet())
        .put("model", model).put("message", "load over a socket").encode());
    };
    socket.textMessageHandler(text -> {
      JsonObject message = new JsonObject(text);
      switch (message.getString("type")) {
        case "ready" -> next.run();
        case "started" -> started[0] = true;
        case "done" -> {
          inTurn[0] = false;
          turns.add(new Turn("ws", start[0], System.currentTimeMillis(), message.getString("deployment"), null));
          vertx.setTimer(5, t -> next.run());
        }
        case "error" -> {
          inTurn[0] = false;
          turns.add(new Turn("ws", start[0], System.currentTimeMillis(), null, "error " + text));
          vertx.setTimer(5, t -> next.run());
        }
        default -> {
        }
      }
    });
    socket.closeHandler(v -> {
      if (!running) {
        return;
      }
      Short code = socket.closeStatusCode();
      // a turn sent that got no "started" before the 1012 was never taken: it goes again on the next socket
      if (inTurn[0] && started[0] || code == null || code != 1012) {
        turns.add(new Turn("ws", start[0], System.currentTimeMillis(), null, "socket closed with " + code
          + (inTurn[0] ? " during a turn" : "")));
      } else {
        reconnects.incrementAndGet();
      }
      vertx.setTimer(5, t -> webSocket());
    });
  }

  public List<Turn> turns() {
    synchronized (turns) {
      return List.copyOf(turns);
    }
  }

  public List<Turn> failures() {
    return turns().stream().filter(t -> !t.ok()).toList();
  }

  /** WebSockets closed by the server with 1012 between turns, and opened again. */
  public int reconnects() {
    return reconnects.get();
  }

  /** Stops sending; turns in flight finish within a few seconds. */
  public List<Turn> stop() throws Exception {
    running = false;
    Thread.sleep(3_000);
    return turns();
  }

  @Override
  public void close() throws Exception {
    running = false;
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Waits until {@code count} more turns have ended than now. */
  public void awaitTurns(int count, long timeoutMillis) throws InterruptedException {
    int target = turns.size() + count;
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (turns.size() < target && System.currentTimeMillis() < deadline) {
      Thread.sleep(20);
    }
    if (turns.size() < target) {
      throw new AssertionError("only " + turns.size() + " of " + target + " turns within " + timeoutMillis + " ms");
    }
  }
}

package io.switchboard.inference;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Anthropic's Messages API on loopback, speaking its wire protocol: JSON messages, and event streams shaped like
 * the real ones (message_start, content_block_start, ping, text deltas, content_block_stop, message_delta,
 * message_stop). It records every request. The last user turn picks a misbehaviour when it contains one of the
 * markers below; otherwise the answer is {@link #DELTAS}.
 */
final class FakeAnthropic implements AutoCloseable {
  static final List<String> DELTAS = List.of("Hello", ", wörld", " 你好", "!\n");
  static final String RATE_LIMITED = "[429]";
  static final String BAD_KEY = "[401]";
  static final String OVERLOADED = "[529]";
  static final String INVALID = "[400]";
  static final String ERROR_EVENT = "[error-event]";
  static final String DROP = "[drop]";
  static final String TRUNCATE = "[truncate]";
  static final String HANG = "[hang]";

  record Received(String method, String path, MultiMap headers, JsonObject body) {
    String header(String name) {
      return headers.get(name);
    }
  }

  private final Vertx vertx;
  private final HttpServer server;
  final List<Received> received = new CopyOnWriteArrayList<>();
  /** Completes when the connection of a [hang] request closes. */
  volatile CompletableFuture<Void> hungConnectionClosed = new CompletableFuture<>();

  private FakeAnthropic(Vertx vertx, HttpServer server) {
    this.vertx = vertx;
    this.server = server;
  }

  static FakeAnthropic start(Vertx vertx) throws Exception {
    FakeAnthropic[] self = new FakeAnthropic[1];
    HttpServer server = vertx.createHttpServer().requestHandler(request -> self[0].handle(request));
    self[0] = new FakeAnthropic(vertx, server);
    server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return self[0];
  }

  String baseUrl() {
    return "http://127.0.0.1:" + server.actualPort() + "/v1";
  }

  Received last() {
    return received.get(received.size() - 1);
  }

  @Override
  public void close() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private void handle(HttpServerRequest request) {
    request.body().onSuccess(buffer -> {
      JsonObject body = buffer.toJsonObject();
      received.add(new Received(request.method().name(), request.path(), MultiMap.caseInsensitiveMultiMap()
        .addAll(request.headers()), body));
      JsonArray messages = body.getJsonArray("messages");
      String prompt = messages.getJsonObject(messages.size() - 1).getString("content");
      HttpServerResponse response = request.response();
      if (prompt.contains(RATE_LIMITED)) {
        error(response, 429)
          .putHeader("retry-after", "7");
        response.end(errorBody("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"));
      } else if (prompt.contains(BAD_KEY)) {
        error(response, 401)
          .end(errorBody("authentication_error", "invalid x-api-key " + request.getHeader("x-api-key")));
      } else if (prompt.contains(OVERLOADED)) {
        error(response, 529).end(errorBody("overloaded_error", "Overloaded"));
      } else if (prompt.contains(INVALID)) {
        error(response, 400)
          .end(errorBody("invalid_request_error", "max_tokens: 999999 > 64000, which is the maximum"));
      } else if (body.getBoolean("stream", false)) {
        stream(request, body, prompt);
      } else {
        message(response, body);
      }
    });
  }

  private static HttpServerResponse error(HttpServerResponse response, int status) {
    return response.setStatusCode(status).putHeader("content-type", "application/json")
      .putHeader("request-id", "req_011CTest");
  }

  private static String errorBody(String type, String message) {
    return new JsonObject().put("type", "error")
      .put("error", new JsonObject().put("type", type).put("message", message))
      .put("request_id", "req_011CTest").encode();
  }

  private static JsonObject usage(int input, int output) {
    return new JsonObject().put("input_tokens", input).put("cache_creation_input_tokens", 0)
      .put("cache_read_input_tokens", 0).put("output_tokens", output)
      .put("service_tier", "standard");
  }

  private static void message(HttpServerResponse response, JsonObject request) {
    JsonObject message = new JsonObject().put("id", "msg_01XFDUDYJgAACzvnptvVoYEL").put("type", "message")
      .put("role", "assistant").put("model", request.getString("model"))
      .put("content", new JsonArray()
        .add(new JsonObject().put("type", "thinking").put("thinking", "not for the client").put("signature", "sig"))
        .add(new JsonObject().put("type", "text").put("text", "Hello, "))
        .add(new JsonObject().put("type", "text").put("text", "wörld.")))
      .put("stop_reason", "max_tokens").put("stop_sequence", null)
      .put("usage", usage(21, 9));
    response.putHeader("content-type", "application/json").end(message.encode());
  }

  private static String event(String type, JsonObject data) {
    return "event: " + type + "\ndata: " + data.put("type", type).encode() + "\n\n";
  }

  private void stream(HttpServerRequest request, JsonObject body, String prompt) {
    HttpServerResponse response = request.response().setChunked(true)
      .putHeader("content-type", "text/event-stream; charset=utf-8").putHeader("cache-control", "no-cache");
    List<String> events = new ArrayList<>();
    events.add(event("message_start", new JsonObject().put("message", new JsonObject()
      .put("id", "msg_01Stream").put("type", "message").put("role", "assistant").put("model", body.getString("model"))
      .put("content", new JsonArray()).put("stop_reason", null).put("stop_sequence", null).put("usage", usage(25, 1)))));
    events.add(event("content_block_start", new JsonObject().put("index", 0)
      .put("content_block", new JsonObject().put("type", "text").put("text", ""))));
    events.add(event("ping", new JsonObject()));
    int deltas = prompt.contains(HANG) || prompt.contains(ERROR_EVENT) || prompt.contains(DROP) ? 2 : DELTAS.size();
    for (int i = 0; i < deltas; i++) {
      events.add(event("content_block_delta", new JsonObject().put("index", 0)
        .put("delta", new JsonObject().put("type", "text_delta").put("text", DELTAS.get(i)))));
    }
    if (prompt.contains(HANG)) {
      CompletableFuture<Void> closed = hungConnectionClosed;
      request.connection().closeHandler(v -> closed.complete(null));
      write(response, events, () -> { });
      return;
    }
    if (prompt.contains(ERROR_EVENT)) {
      events.add(event("error", new JsonObject().put("error", new JsonObject().put("type", "overloaded_error")
        .put("message", "Overloaded"))));
      write(response, events, response::end);
      return;
    }
    if (prompt.contains(DROP)) {
      write(response, events, () -> request.connection().close());
      return;
    }
    if (!prompt.contains(TRUNCATE)) {
      events.add(event("content_block_stop", new JsonObject().put("index", 0)));
      events.add(event("message_delta", new JsonObject()
        .put("delta", new JsonObject().put("stop_reason", "end_turn").put("stop_sequence", null))
        .put("usage", new JsonObject().put("output_tokens", 12))));
      events.add(event("message_stop", new JsonObject()));
    }
    write(response, events, response::end);
  }

  /**
   * Writes the events a few milliseconds apart, each split in two writes mid-line, so the client sees lines
   * arrive in pieces as it would from a real network.
   */
  private void write(HttpServerResponse response, List<String> events, Runnable then) {
    if (events.isEmpty()) {
      vertx.setTimer(2, t -> then.run());
      return;
    }
    String next = events.get(0);
    int half = next.length() / 2;
    response.write(next.substring(0, half));
    vertx.setTimer(2, t -> {
      response.write(next.substring(half));
      write(response, events.subList(1, events.size()), then);
    });
  }
}

package io.switchboard.perf;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A plain static OpenAI-compatible upstream for perf runs, on loopback: POST /v1/chat/completions answers a
 * fixed chat.completion, or with {@code "stream": true} a fixed SSE stream of {@code chunks}
 * chat.completion.chunk events (one word each) ending with {@code data: [DONE]}, written back to back; GET
 * /v1/models lists one model; GET /v1/ws accepts a WebSocket and holds it, silent (for the generator's ws
 * mode). Every answer is built once, at start; nothing waits.
 *
 * <pre>java -cp perf/target/switchboard-perf.jar io.switchboard.perf.StaticUpstream port=8091 chunks=16 instances=1</pre>
 */
public final class StaticUpstream extends VerticleBase {
  private static final Pattern STREAM_TRUE = Pattern.compile("\"stream\"\\s*:\\s*true");
  private static final String MODEL = "static";

  private final String host;
  private final int port;
  private final Buffer completion;
  private final List<Buffer> streamEvents;
  private final Buffer models;
  private HttpServer server;

  public StaticUpstream(String host, int port, int chunks) {
    if (!Settings.isLoopback(host)) {
      throw new IllegalArgumentException("the static upstream listens on loopback only, not " + host);
    }
    this.host = host;
    this.port = port;
    long created = System.currentTimeMillis() / 1000;
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < chunks; i++) {
      text.append("word").append(i).append(' ');
    }
    this.completion = new JsonObject().put("id", "chatcmpl-static").put("object", "chat.completion")
      .put("created", created).put("model", MODEL)
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0)
        .put("message", new JsonObject().put("role", "assistant").put("content", text.toString().strip()))
        .put("finish_reason", "stop")))
      .put("usage", new JsonObject().put("prompt_tokens", 8).put("completion_tokens", chunks)
        .put("total_tokens", 8 + chunks))
      .toBuffer();
    this.streamEvents = new ArrayList<>();
    streamEvents.add(event(chunk(created, new JsonObject().put("role", "assistant").put("content", ""), null)));
    for (int i = 0; i < chunks; i++) {
      streamEvents.add(event(chunk(created, new JsonObject().put("content", "word" + i + " "), null)));
    }
    streamEvents.add(event(chunk(created, new JsonObject(), "stop")));
    streamEvents.add(Buffer.buffer("data: [DONE]\n\n"));
    this.models = new JsonObject().put("object", "list").put("data", new JsonArray().add(new JsonObject()
      .put("id", MODEL).put("object", "model").put("created", created).put("owned_by", "switchboard-perf"))).toBuffer();
  }

  private static JsonObject chunk(long created, JsonObject delta, String finishReason) {
    return new JsonObject().put("id", "chatcmpl-static").put("object", "chat.completion.chunk")
      .put("created", created).put("model", MODEL)
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("delta", delta)
        .put("finish_reason", finishReason)));
  }

  private static Buffer event(JsonObject data) {
    return Buffer.buffer("data: " + data.encode() + "\n\n");
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setIdleTimeout(0));
    return server.requestHandler(this::handle).listen(port, host);
  }

  @Override
  public Future<?> stop() {
    return server.shutdown();
  }

  private void handle(HttpServerRequest request) {
    String path = request.path();
    if (request.method() == HttpMethod.POST && path.equals("/v1/chat/completions")) {
      request.body().onSuccess(body -> {
        if (STREAM_TRUE.matcher(body.toString()).find()) {
          var response = request.response().setChunked(true).putHeader("content-type", "text/event-stream")
            .putHeader("cache-control", "no-cache");
          for (int i = 0; i < streamEvents.size() - 1; i++) {
            response.write(streamEvents.get(i));
          }
          response.end(streamEvents.get(streamEvents.size() - 1));
        } else {
          request.response().putHeader("content-type", "application/json").end(completion);
        }
      });
    } else if (request.method() == HttpMethod.GET && path.equals("/v1/ws")) {
      request.toWebSocket();
    } else if (request.method() == HttpMethod.GET && path.equals("/v1/models")) {
      request.response().putHeader("content-type", "application/json").end(models);
    } else {
      request.response().setStatusCode(404).putHeader("content-type", "application/json")
        .end(new JsonObject().put("error", new JsonObject().put("message", "no route " + request.method() + " " + path)
          .put("type", "invalid_request_error")).toBuffer());
    }
  }

  /** Arguments: host=127.0.0.1 port=8091 chunks=16 instances=1. */
  public static void main(String[] args) {
    String host = "127.0.0.1";
    int port = 8091;
    int chunks = 16;
    int instances = 1;
    for (String arg : args) {
      String[] pair = arg.split("=", 2);
      switch (pair[0]) {
        case "host" -> host = pair[1];
        case "port" -> port = Integer.parseInt(pair[1]);
        case "chunks" -> chunks = Integer.parseInt(pair[1]);
        case "instances" -> instances = Integer.parseInt(pair[1]);
        default -> {
          System.err.println("static upstream: unknown argument " + arg + " (host, port, chunks, instances)");
          System.exit(2);
        }
      }
    }
    String h = host;
    int p = port;
    int c = chunks;
    Vertx vertx = Vertx.vertx();
    List<Future<String>> deployed = new ArrayList<>();
    try {
      for (int i = 0; i < instances; i++) {
        deployed.add(vertx.deployVerticle(new StaticUpstream(h, p, c)));
      }
    } catch (IllegalArgumentException e) {
      System.err.println("static upstream: " + e.getMessage());
      System.exit(2);
    }
    Future.all(deployed).onComplete(started -> {
      if (started.failed()) {
        System.err.println("static upstream: " + started.cause());
        vertx.close().onComplete(v -> System.exit(1));
      } else {
        System.out.printf("static upstream on http://%s:%d/v1 (%d chunks a stream, %d instance(s))%n", h, p, c,
          deployed.size());
      }
    });
  }
}

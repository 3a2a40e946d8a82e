package io.switchboard;

import io.switchboard.testing.FreePorts;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gateway's connections to a provider. A provider that speaks HTTP/2 gets many calls on one connection (h2c
 * with prior knowledge), JSON and SSE alike; and when every pooled connection is taken, a call waits in a bounded
 * queue for a bounded time and then gets a clear error (never a silent stall), counted in /metrics, without the
 * provider being blamed for it.
 */
class UpstreamPoolTest {
  private static final int STREAMS = 12;
  private static Vertx vertx;
  private static HttpServer provider;
  private static final List<HttpVersion> versions = new CopyOnWriteArrayList<>();
  private static final Set<HttpConnection> connections = ConcurrentHashMap.newKeySet();
  private static TestNode node;
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    // a provider that speaks HTTP/2 only: an HTTP/1.1 request is refused, so falling back cannot pass the test
    provider = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      versions.add(request.version());
      connections.add(request.connection());
      HttpServerResponse response = request.response();
      if (request.version() != HttpVersion.HTTP_2) {
        response.setStatusCode(505).end();
        return;
      }
      JsonObject json = body.toJsonObject();
      String model = json.getString("model");
      if (!json.getBoolean("stream", false)) {
        response.putHeader("content-type", "application/json").end(new JsonObject()
          .put("id", "chatcmpl-h2").put("object", "chat.completion").put("created", 1).put("model", model)
          .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("finish_reason", "stop")
            .put("message", new JsonObject().put("role", "assistant").put("content", "over h2"))))
          .put("usage", new JsonObject().put("prompt_tokens", 3).put("completion_tokens", 2)).encode());
        return;
      }
      response.putHeader("content-type", "text/event-stream");
      String chunk = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"" + model
        + "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"finish_reason\":null}]}\n\n";
      response.write(String.format(chunk, "over "));
      // every stream stays open a while, so the streams of one burst are in flight together
      vertx.setTimer(300, t -> response.write(String.format(chunk, "h2"))
        .compose(v -> response.end("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\""
          + model + "\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")));
    })).listen(FreePorts.next(), "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    node = TestNode.start("""
      simulator: {tokens_per_second: 0, reply_tokens: 4}
      model_list:
        - model_name: h2-provider
          provider: openai
          api_base: http://127.0.0.1:%d/v1
          http2: true
          max_connections: 1
          http2_max_streams: 50
        - model_name: h2-simulator
          provider: simulator
          http2: true
          simulator: {ttft_ms: 0}
        - model_name: one-connection
          provider: simulator
          max_connections: 1
          pool_queue: {max_waiting: 1, max_wait_ms: 300}
          simulator: {hang: true}
      routes:
        - {model_name: one-connection, num_retries: 0}
      """.formatted(provider.actualPort()));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static String body(String model, boolean stream) {
    return new JsonObject().put("model", model).put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hello"))).encode();
  }

  private static CompletableFuture<HttpResponse<String>> ask(String model, boolean stream) {
    return CLIENT.sendAsync(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/chat/completions"))
      .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body(model, stream)))
      .timeout(java.time.Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String metrics() {
    return Http.get(node.managementUrl() + "/metrics").body();
  }

  /** The value of the first metric line that starts with {@code prefix}; -1 when there is none. */
  private static double metric(String text, String prefix) {
    return text.lines().filter(l -> l.startsWith(prefix)).findFirst()
      .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).orElse(-1.0);
  }

  @Test
  void a_provider_speaking_h2c_carries_json_and_many_streams_on_one_connection() throws Exception {
    HttpResponse<String> json = Http.post(node.baseUrl() + "/v1/chat/completions", body("h2-provider", false));
    assertEquals(200, json.statusCode(), json.body());
    assertEquals("over h2", new JsonObject(json.body()).getJsonArray("choices").getJsonObject(0)
      .getJsonObject("message").getString("content"));

    List<CompletableFuture<HttpResponse<String>>> streams = new ArrayList<>();
    for (int i = 0; i < STREAMS; i++) {
      streams.add(ask("h2-provider", true));
    }
    for (CompletableFuture<HttpResponse<String>> stream : streams) {
      HttpResponse<String> answer = stream.get(20, TimeUnit.SECONDS);
      assertEquals(200, answer.statusCode(), answer.body());
      String text = Stream.of(answer.body().split("\n")).filter(l -> l.startsWith("data: {"))
        .map(l -> new JsonObject(l.substring(6)).getJsonArray("choices"))
        .filter(c -> !c.isEmpty())
        .map(c -> c.getJsonObject(0).getJsonObject("delta").getString("content", ""))
        .reduce("", String::concat);
      assertEquals("over h2", text, answer.body());
      assertTrue(answer.body().endsWith("data: [DONE]\n\n"), answer.body());
    }
    assertEquals(STREAMS + 1, versions.size());
    assertTrue(versions.stream().allMatch(v -> v == HttpVersion.HTTP_2), "every call went over HTTP/2: " + versions);
    assertEquals(1, connections.size(), "one connection carried every call (max_connections: 1)");
  }

  @Test
  void the_built_in_simulator_answers_an_h2_deployment() {
    HttpResponse<String> json = Http.post(node.baseUrl() + "/v1/chat/completions", body("h2-simulator", false));
    assertEquals(200, json.statusCode(), json.body());
    assertEquals("stop", new JsonObject(json.body()).getJsonArray("choices").getJsonObject(0).getString("finish_reason"));
    HttpResponse<String> sse = Http.post(node.baseUrl() + "/v1/chat/completions", body("h2-simulator", true));
    assertEquals(200, sse.statusCode(), sse.body());
    assertTrue(sse.body().contains("\"content\":") && sse.body().endsWith("data: [DONE]\n\n"), sse.body());
  }

  @Test
  void a_call_that_finds_every_connection_taken_waits_a_bounded_time_then_gets_a_clear_error() throws Exception {
    ask("one-connection", false); // hangs on the only connection until the node stops
    awaitMetric("switchboard_upstream_pool_in_use{deployment=\"one-connection.0\"", 1);
    long start = System.nanoTime();
    HttpResponse<String> late = ask("one-connection", false).get(10, TimeUnit.SECONDS);
    long waitedMillis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(503, late.statusCode(), late.body());
    JsonObject error = new JsonObject(late.body()).getJsonObject("error");
    assertEquals("upstream_pool_timeout", error.getString("code"));
    assertEquals("server_error", error.getString("type"));
    assertTrue(error.getString("message").contains("300 ms"), error.getString("message"));
    assertTrue(late.headers().firstValue("retry-after").isPresent(), "a retry-after comes with the 503");
    assertTrue(waitedMillis >= 300 && waitedMillis < 5_000, "waited " + waitedMillis + " ms");

    // more refusals than the breaker's max_failures (5): the provider is not blamed for the gateway's own queue
    for (int i = 0; i < 5; i++) {
      assertEquals(503, ask("one-connection", false).get(10, TimeUnit.SECONDS).statusCode());
    }
    assertEquals(0, metric(metrics(), "switchboard_circuit_state{deployment=\"one-connection.0\""), "circuit closed");

    // the queue (max_waiting: 1) is full while one call waits: the next is refused at once
    CompletableFuture<HttpResponse<String>> waiter = ask("one-connection", false);
    awaitMetric("switchboard_upstream_pool_waiting{deployment=\"one-connection.0\"", 1);
    HttpResponse<String> full = ask("one-connection", false).get(10, TimeUnit.SECONDS);
    assertEquals(429, full.statusCode(), full.body());
    assertEquals("upstream_pool_full", new JsonObject(full.body()).getJsonObject("error").getString("code"));
    assertEquals("1", full.headers().firstValue("retry-after").orElse(null));
    assertEquals(503, waiter.get(10, TimeUnit.SECONDS).statusCode());

    String metrics = metrics();
    assertEquals(7, metric(metrics,
      "switchboard_upstream_pool_refused_total{deployment=\"one-connection.0\",reason=\"wait_timeout\""));
    assertEquals(1, metric(metrics,
      "switchboard_upstream_pool_refused_total{deployment=\"one-connection.0\",reason=\"queue_full\""));
    assertEquals(0, metric(metrics, "switchboard_upstream_pool_waiting{deployment=\"one-connection.0\""));
    assertEquals(1, metric(metrics, "switchboard_upstream_pool_in_use{deployment=\"one-connection.0\""));
    assertTrue(metric(metrics, "switchboard_upstream_pool_wait_seconds_count{deployment=\"one-connection.0\"") >= 8,
      "every wait is timed");
  }

  private static void awaitMetric(String prefix, double value) throws InterruptedException {
    long until = System.currentTimeMillis() + 10_000;
    while (metric(metrics(), prefix) != value) {
      if (System.currentTimeMillis() > until) {
        throw new AssertionError(prefix + " never reached " + value + ":\n" + metrics().lines()
          .filter(l -> l.startsWith("switchboard_upstream_pool")).reduce("", (a, b) -> a + b + "\n"));
      }
      Thread.sleep(20);
    }
  }
}

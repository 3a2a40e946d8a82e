package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.Load;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every chat survives slow, failing and rate-limited upstreams: each scenario drives one of the simulator's
 * fault knobs with one healthy fallback behind it.
 */
class ResilienceTest {
  private static final String CONFIG = """
    server:
      request_timeout_ms: 4000
    management:
      admin_token: admin-token-0123456789
    simulator:
      ttft_ms: 2
      tokens_per_second: 0
      reply_tokens: 12
    model_list:
      - model_name: healthy
        provider: simulator
      - model_name: flaky
        provider: simulator
        simulator: {error_rate: 0.5}
      - model_name: hanging
        provider: simulator
        first_token_timeout_ms: 300
        simulator: {hang: true}
      - model_name: hanging-alone
        provider: simulator
        timeout_ms: 60000
        simulator: {hang: true}
        circuit_breaker: {max_failures: 1000}
      - model_name: dropping
        provider: simulator
        simulator: {drop_after_chunks: 4, tokens_per_second: 2000}
      - model_name: limited
        provider: simulator
        simulator: {error_rate: 1, error_status: 429, retry_after: 2}
      - model_name: limited-alone
        provider: simulator
        simulator: {error_rate: 1, error_status: 429, retry_after: 2}
        circuit_breaker: {max_failures: 1000}
      - model_name: hedged
        provider: simulator
        weight: 100
        simulator: {ttft_ms: 3000}
      - model_name: hedged
        provider: simulator
        weight: 1
      - model_name: slow-talker
        provider: simulator
        simulator: {tokens_per_second: 10, reply_tokens: 100}
      - model_name: broken
        provider: simulator
        simulator: {error_rate: 1}
        circuit_breaker: {max_failures: 3, reset_timeout_ms: 60000}
    routes:
      - {model_name: flaky, fallbacks: [healthy], retry_base_ms: 5}
      - {model_name: hanging, fallbacks: [healthy]}
      - {model_name: hanging-alone}
      - {model_name: dropping, fallbacks: [healthy], num_retries: 0}
      - {model_name: limited, fallbacks: [healthy]}
      - {model_name: limited-alone, num_retries: 0}
      - {model_name: hedged, hedge_after_ms: 150}
      - {model_name: broken, num_retries: 0}
    """;
  private static TestNode node;
  private static String url;

  @BeforeAll
  static void start() {
    node = TestNode.start(CONFIG);
    url = node.baseUrl() + "/v1/chat/completions";
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static String body(String model, String text, boolean stream) {
    return new JsonObject().put("model", model).put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  private static String answer(String responseBody) {
    return new JsonObject(responseBody).getJsonArray("choices").getJsonObject(0).getJsonObject("message")
      .getString("content");
  }

  @Test
  void with_half_the_calls_failing_at_least_999_of_1000_requests_succeed() throws Exception {
    List<Load.Outcome> outcomes = Load.post(url, 1000, 32, i -> body("flaky", "question " + i, false));
    long ok = outcomes.stream().filter(o -> o.status() == 200).count();
    System.out.printf("flaky (50%% failing) + fallback: %d/1000 ok, p50 %d ms, p99 %d ms%n", ok,
      Load.percentile(outcomes, 50), Load.percentile(outcomes, 99));
    assertTrue(ok >= 999, "succeeded: " + ok + "; first failure: "
      + outcomes.stream().filter(o -> o.status() != 200).findFirst().orElse(null));
    assertTrue(outcomes.stream().allMatch(o -> o.millis() < 4000 + 1000), "none outlived the total timeout");
  }

  @Test
  void a_hanging_upstream_is_left_after_its_first_token_timeout_and_the_fallback_answers() throws Exception {
    List<Load.Outcome> outcomes = Load.post(url, 40, 8, i -> body("hanging", "q" + i, false));
    assertTrue(outcomes.stream().allMatch(o -> o.status() == 200),
      String.valueOf(outcomes.stream().filter(o -> o.status() != 200).findFirst().orElse(null)));
    System.out.printf("hanging + fallback: 40/40 ok, p99 %d ms%n", Load.percentile(outcomes, 99));
    assertTrue(Load.percentile(outcomes, 100) < 4000);
  }

  @Test
  void no_request_outlives_its_total_timeout() {
    long start = System.nanoTime();
    HttpResponse<String> response = Http.post(url, body("hanging-alone", "x", false));
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(504, response.statusCode(), response.body());
    assertTrue(millis >= 3900 && millis < 5000, "ended at the 4 s turn timeout: " + millis + " ms");
  }

  @Test
  void a_stream_whose_upstream_dies_mid_way_continues_on_the_fallback_as_one_stream() throws Exception {
    for (int i = 0; i < 25; i++) {
      String prompt = "tell me a story " + i;
      String expected = answer(Http.post(url, body("healthy", prompt, false)).body());
      HttpResponse<Stream<String>> response = Http.postLines(url, body("dropping", prompt, true));
      assertEquals(200, response.statusCode());
      List<String> events = Http.sseData(response);
      assertEquals(1, events.stream().filter("[DONE]"::equals).count(), "one [DONE]");
      assertEquals("[DONE]", events.get(events.size() - 1));
      StringBuilder text = new StringBuilder();
      for (String event : events.subList(0, events.size() - 1)) {
        JsonObject chunk = new JsonObject(event);
        assertFalse(chunk.containsKey("error"), event);
        JsonObject delta = chunk.getJsonArray("choices").getJsonObject(0).getJsonObject("delta");
        if (delta.getString("content") != null) {
          text.append(delta.getString("content"));
        }
      }
      assertEquals(expected, text.toString(), "the fallback continued exactly where the first upstream stopped");
    }
    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    assertTrue(metrics.contains("switchboard_routing_midstream_failovers_total{model=\"dropping\"}"), metrics);
  }

  @Test
  void a_429_with_retry_after_moves_to_the_fallback_and_alone_is_passed_on_with_retry_after() {
    HttpResponse<String> fallback = Http.post(url, body("limited", "x", false));
    assertEquals(200, fallback.statusCode(), fallback.body());
    HttpResponse<String> alone = Http.post(url, body("limited-alone", "x", false));
    assertEquals(429, alone.statusCode(), alone.body());
    assertEquals("2", alone.headers().firstValue("retry-after").orElse(null));
  }

  @Test
  void a_slow_first_token_is_hedged_and_the_faster_deployment_wins() {
    long start = System.nanoTime();
    HttpResponse<Stream<String>> response = Http.postLines(url, body("hedged", "hurry", true));
    List<String> events = Http.sseData(response);
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals("[DONE]", events.get(events.size() - 1));
    assertTrue(millis < 2000, "answered by the hedge, not the 3 s deployment: " + millis + " ms");
    long nonStreamStart = System.nanoTime();
    assertEquals(200, Http.post(url, body("hedged", "hurry", false)).statusCode());
    assertTrue((System.nanoTime() - nonStreamStart) / 1_000_000 < 2000);
    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    assertTrue(metrics.contains("switchboard_routing_hedges_total{model=\"hedged\"}"), metrics);
  }

  @Test
  void a_hedged_tool_call_streams_once_whole_from_the_winner() {
    JsonObject request = new JsonObject(body("hedged", "weather in Paris", true)).put("tools", new JsonArray().add(
      new JsonObject().put("type", "function").put("function", new JsonObject().put("name", "get_weather")
        .put("parameters", new JsonObject().put("type", "object").put("properties", new JsonObject()
          .put("city", new JsonObject().put("type", "string"))).put("required", new JsonArray().add("city"))))));
    long start = System.nanoTime();
    List<String> events = Http.sseData(Http.postLines(url, request.encode()));
    assertTrue((System.nanoTime() - start) / 1_000_000 < 2000, "the hedge answered");
    assertEquals("[DONE]", events.get(events.size() - 1));
    StringBuilder arguments = new StringBuilder();
    int headers = 0;
    for (String event : events.subList(0, events.size() - 1)) {
      JsonArray choices = new JsonObject(event).getJsonArray("choices");
      JsonArray calls = choices.isEmpty() ? null : choices.getJsonObject(0).getJsonObject("delta").getJsonArray("tool_calls");
      if (calls != null) {
        JsonObject call = calls.getJsonObject(0);
        headers += call.containsKey("id") ? 1 : 0;
        arguments.append(call.getJsonObject("function").getString("arguments", ""));
      }
    }
    assertEquals(1, headers, "one call, from one attempt: " + events);
    assertEquals("weather in Paris", new JsonObject(arguments.toString()).getString("city"));
  }

  @Test
  void a_client_that_leaves_mid_stream_cancels_the_upstream_call() throws Exception {
    HttpResponse<java.io.InputStream> response = java.net.http.HttpClient.newHttpClient().send(
      java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).header("content-type", "application/json")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body("slow-talker", "long story", true))).build(),
      HttpResponse.BodyHandlers.ofInputStream());
    java.io.BufferedReader reader = new java.io.BufferedReader(new java.io.InputStreamReader(response.body()));
    assertTrue(reader.readLine().startsWith("data: "), "the stream started");
    assertEquals(1.0, inflight(), "one upstream call in flight");
    reader.close(); // the client goes away after the first chunk of a 10 s answer
    long deadline = System.currentTimeMillis() + 3000;
    while (inflight() > 0 && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    assertEquals(0.0, inflight(), "the upstream call was cancelled, not left to run for 10 s");
  }

  private static double inflight() {
    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    return metrics.lines().filter(l -> l.startsWith("switchboard_inference_inflight "))
      .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1))).findFirst().orElse(-1);
  }

  @Test
  void repeated_failures_open_the_breaker_and_calls_then_fail_fast() {
    for (int i = 0; i < 3; i++) {
      assertEquals(502, Http.post(url, body("broken", "x", false)).statusCode());
    }
    long start = System.nanoTime();
    HttpResponse<String> fast = Http.post(url, body("broken", "x", false));
    long micros = (System.nanoTime() - start) / 1000;
    assertEquals(503, fast.statusCode(), fast.body());
    assertEquals("circuit_open", new JsonObject(fast.body()).getJsonObject("error").getString("code"));
    System.out.printf("breaker open: rejected in %d us%n", micros);
    assertTrue(Http.get(node.managementUrl() + "/metrics").body()
      .contains("switchboard_circuit_state{deployment=\"broken.0\",model=\"broken\"} 2.0"));
  }

  @Test
  void the_degrade_switch_sends_a_models_traffic_to_its_backup_and_back() {
    String admin = node.managementUrl() + "/admin/models/broken/degrade";
    assertEquals(401, Http.post(admin, "{\"to\":\"healthy\"}").statusCode(), "the admin API needs its token");
    assertEquals(400, Http.post(admin, "{\"to\":\"nope\"}", "authorization", "Bearer admin-token-0123456789")
      .statusCode());
    assertEquals(200, Http.post(admin, "{\"to\":\"healthy\"}", "authorization", "Bearer admin-token-0123456789")
      .statusCode());
    HttpResponse<String> degraded = Http.post(url, body("broken", "degraded?", false));
    assertEquals(200, degraded.statusCode(), degraded.body());
    assertEquals("healthy.0", degraded.headers().firstValue("x-switchboard-deployment").orElseThrow());
    JsonObject routes = new JsonObject(Http.get(node.managementUrl() + "/admin/routes", "authorization",
      "Bearer admin-token-0123456789").body());
    assertEquals("healthy", routes.getJsonObject("models").getJsonObject("broken").getString("degraded_to"));
    assertEquals(200, Http.delete(admin, "authorization", "Bearer admin-token-0123456789").statusCode());
    assertTrue(Http.post(url, body("broken", "degraded?", false)).statusCode() >= 500);
  }
}

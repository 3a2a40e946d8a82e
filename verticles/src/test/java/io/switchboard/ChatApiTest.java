package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.stream.Stream;

import static io.switchboard.testing.TestConfigs.ACME_KEY;
import static io.switchboard.testing.TestConfigs.GLOBEX_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenAI-compatible API over real HTTP against a running node whose upstream is the simulator. */
class ChatApiTest {
  private static TestNode node;
  private static String url;

  @BeforeAll
  static void start() {
    node = TestNode.start(TestConfigs.GATEWAY);
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

  private static HttpResponse<String> post(String body, String... headers) {
    String[] all = Stream.concat(Stream.of("authorization", "Bearer " + ACME_KEY), Stream.of(headers))
      .toArray(String[]::new);
    return Http.post(url, body, all);
  }

  @Test
  void a_question_gets_the_simulators_answer_with_usage_and_a_request_id() {
    HttpResponse<String> response = post(body("switchboard-simulator", "hello there", false));
    assertEquals(200, response.statusCode(), response.body());
    JsonObject json = new JsonObject(response.body());
    assertEquals("chat.completion", json.getString("object"));
    assertEquals("switchboard-simulator", json.getString("model"));
    JsonObject choice = json.getJsonArray("choices").getJsonObject(0);
    assertEquals("assistant", choice.getJsonObject("message").getString("role"));
    assertEquals("stop", choice.getString("finish_reason"));
    String answer = choice.getJsonObject("message").getString("content");
    assertEquals(12, answer.split(" ").length, answer);
    assertEquals(12, json.getJsonObject("usage").getInteger("completion_tokens"));
    assertTrue(json.getJsonObject("usage").getInteger("prompt_tokens") > 0);
    assertTrue(response.headers().firstValue("x-request-id").orElse("").startsWith("req_"));

    HttpResponse<String> again = post(body("switchboard-simulator", "hello there", false));
    assertEquals(answer, new JsonObject(again.body()).getJsonArray("choices").getJsonObject(0)
      .getJsonObject("message").getString("content"), "the simulator is deterministic");
    assertNotEquals(response.headers().firstValue("x-request-id"), again.headers().firstValue("x-request-id"));
  }

  @Test
  void a_client_request_id_is_kept() {
    HttpResponse<String> response = post(body("switchboard-simulator", "hi", false), "x-request-id", "trace-42");
    assertEquals("trace-42", response.headers().firstValue("x-request-id").orElseThrow());
  }

  @Test
  void a_stream_arrives_as_openai_chunks_ending_with_usage_and_done() {
    String body = new JsonObject(body("sim-paced", "stream please", true))
      .put("stream_options", new JsonObject().put("include_usage", true)).encode();
    HttpResponse<Stream<String>> response = Http.postLines(url, body, "authorization", "Bearer " + ACME_KEY);
    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
    List<String> events = Http.sseData(response);
    assertEquals("[DONE]", events.get(events.size() - 1));
    StringBuilder text = new StringBuilder();
    int contentChunks = 0;
    String finish = null;
    JsonObject usage = null;
    for (String event : events.subList(0, events.size() - 1)) {
      JsonObject chunk = new JsonObject(event);
      assertEquals("chat.completion.chunk", chunk.getString("object"));
      assertEquals("sim-paced", chunk.getString("model"));
      if (chunk.getJsonArray("choices").isEmpty()) {
        usage = chunk.getJsonObject("usage");
        continue;
      }
      JsonObject choice = chunk.getJsonArray("choices").getJsonObject(0);
      String content = choice.getJsonObject("delta").getString("content");
      if (content != null) {
        if (contentChunks == 0) {
          assertEquals("assistant", choice.getJsonObject("delta").getString("role"));
        }
        contentChunks++;
        text.append(content);
      }
      if (choice.getString("finish_reason") != null) {
        finish = choice.getString("finish_reason");
      }
    }
    assertEquals(10, contentChunks);
    assertEquals("stop", finish);
    assertNotNull(usage, "include_usage asks for a usage chunk");
    assertEquals(10, usage.getInteger("completion_tokens"));
    assertTrue(text.toString().endsWith("."), text.toString());
  }

  @Test
  void a_stream_that_breaks_off_ends_with_an_error_event_not_a_silent_done() {
    HttpResponse<Stream<String>> response = Http.postLines(url, body("sim-drop", "x", true),
      "authorization", "Bearer " + ACME_KEY);
    assertEquals(200, response.statusCode());
    List<String> events = Http.sseData(response);
    assertFalse(events.contains("[DONE]"), events.toString());
    JsonObject last = new JsonObject(events.get(events.size() - 1));
    assertEquals("upstream_error", last.getJsonObject("error").getString("type"));
    assertEquals(3, events.size() - 1, "the three chunks before the drop were relayed");
  }

  @Test
  void malformed_json_is_a_400_in_openai_shape() {
    HttpResponse<String> response = post("{\"model\": ");
    assertEquals(400, response.statusCode());
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertEquals("invalid_request_error", error.getString("type"));
    assertTrue(error.containsKey("param") && error.containsKey("code"));
    assertFalse(response.body().contains("Exception"), response.body());
  }

  @Test
  void schema_errors_are_400s_that_name_the_parameter() {
    assertParam(post("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), "model");
    assertParam(post("{\"model\":\"switchboard-simulator\",\"messages\":\"hi\"}"), "messages");
    assertParam(post("{\"model\":\"switchboard-simulator\",\"messages\":[]}"), "messages");
    assertParam(post("{\"model\":\"switchboard-simulator\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}"),
      "messages[0].role");
    assertParam(post("{\"model\":\"switchboard-simulator\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\","
      + "\"content\":\"x\"}]}"), "stream");
    assertParam(post("[1,2,3]"), null);
  }

  private static void assertParam(HttpResponse<String> response, String param) {
    assertEquals(400, response.statusCode(), response.body());
    assertEquals(param, new JsonObject(response.body()).getJsonObject("error").getString("param"));
  }

  @Test
  void a_missing_or_wrong_key_is_a_401() {
    HttpResponse<String> missing = Http.post(url, body("switchboard-simulator", "x", false));
    assertEquals(401, missing.statusCode());
    assertEquals("invalid_api_key", new JsonObject(missing.body()).getJsonObject("error").getString("code"));
    HttpResponse<String> wrong = Http.post(url, body("switchboard-simulator", "x", false),
      "authorization", "Bearer test-key-acme-0123456788");
    assertEquals(401, wrong.statusCode());
    assertFalse(wrong.body().contains("0123456788"), "the presented key is not echoed");
    HttpResponse<String> models = Http.get(node.baseUrl() + "/v1/models");
    assertEquals(401, models.statusCode());
  }

  @Test
  void an_unknown_model_is_a_404() {
    HttpResponse<String> response = post(body("gpt-17", "x", false));
    assertEquals(404, response.statusCode());
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertEquals("model_not_found", error.getString("code"));
    assertTrue(error.getString("message").contains("gpt-17"));
  }

  @Test
  void a_body_over_the_limit_is_a_413() {
    String big = body("switchboard-simulator", "x".repeat(5000), false);
    HttpResponse<String> response = post(big);
    assertEquals(413, response.statusCode());
    assertEquals("request_too_large", new JsonObject(response.body()).getJsonObject("error").getString("code"));
  }

  @Test
  void a_failing_upstream_is_a_502_without_internals() {
    HttpResponse<String> response = post(body("sim-broken", "x", false));
    assertEquals(502, response.statusCode(), response.body());
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertEquals("upstream_error", error.getString("type"));
    assertFalse(response.body().contains("127.0.0.1"), "no upstream address leaks: " + response.body());
    HttpResponse<Stream<String>> stream = Http.postLines(url, body("sim-broken", "x", true),
      "authorization", "Bearer " + ACME_KEY);
    assertEquals(502, stream.statusCode(), "a stream that fails before its first chunk is a plain HTTP error");
  }

  @Test
  void a_hanging_upstream_is_a_504_after_the_deployments_timeout() {
    long start = System.nanoTime();
    HttpResponse<String> response = post(body("sim-hang", "x", false));
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(504, response.statusCode(), response.body());
    assertEquals("upstream_timeout", new JsonObject(response.body()).getJsonObject("error").getString("code"));
    assertTrue(millis < 5_000, "gave up after the 400 ms timeout, not the bus's: " + millis + " ms");
  }

  @Test
  void unknown_paths_and_methods_answer_in_openai_shape() {
    HttpResponse<String> response = Http.get(node.baseUrl() + "/v1/embeddingz", "authorization", "Bearer " + ACME_KEY);
    assertEquals(404, response.statusCode());
    assertNotNull(new JsonObject(response.body()).getJsonObject("error").getString("message"));
  }

  @Test
  void models_are_listed_and_the_simulator_is_named_as_one() {
    HttpResponse<String> response = Http.get(node.baseUrl() + "/v1/models", "authorization", "Bearer " + ACME_KEY);
    assertEquals(200, response.statusCode());
    JsonArray data = new JsonObject(response.body()).getJsonArray("data");
    JsonObject simulator = data.stream().map(JsonObject.class::cast)
      .filter(m -> m.getString("id").equals("switchboard-simulator")).findFirst().orElseThrow();
    assertEquals("switchboard-simulator", simulator.getString("owned_by"));
    assertEquals("model", simulator.getString("object"));
    assertEquals(200, Http.get(node.baseUrl() + "/v1/models/sim-paced", "authorization", "Bearer " + ACME_KEY)
      .statusCode());
    assertEquals(404, Http.get(node.baseUrl() + "/v1/models/nope", "authorization", "Bearer " + ACME_KEY)
      .statusCode());
  }

  @Test
  void a_conversation_id_brings_back_earlier_turns_for_its_tenant_only() {
    String conversation = "conv-" + System.nanoTime();
    String first = "my name is Ada";
    HttpResponse<String> turn1 = post(body("switchboard-simulator", first, false), "x-conversation-id", conversation);
    assertEquals(200, turn1.statusCode());
    assertEquals(conversation, turn1.headers().firstValue("x-conversation-id").orElseThrow());

    int fresh = promptTokens(post(body("switchboard-simulator", "what is my name?", false)));
    int remembered = promptTokens(post(body("switchboard-simulator", "what is my name?", false),
      "x-conversation-id", conversation));
    assertTrue(remembered > fresh + 5, "the second turn carried the first: " + remembered + " vs " + fresh);

    HttpResponse<String> otherTenant = Http.post(url, body("switchboard-simulator", "what is my name?", false),
      "authorization", "Bearer " + GLOBEX_KEY, "x-conversation-id", conversation);
    assertEquals(fresh, promptTokens(otherTenant), "another tenant's same id is another conversation");

    assertEquals(400, post(body("switchboard-simulator", "x", false), "x-conversation-id", "a:b").statusCode());
  }

  private static int promptTokens(HttpResponse<String> response) {
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body()).getJsonObject("usage").getInteger("prompt_tokens");
  }

  @Test
  void metrics_count_requests_per_model_and_leave_vertx_per_request_meters_off() {
    post(body("switchboard-simulator", "count me", false));
    HttpResponse<String> metrics = Http.get(node.managementUrl() + "/metrics");
    assertEquals(200, metrics.statusCode());
    String text = metrics.body();
    assertTrue(text.contains("switchboard_chat_requests_seconds_count{model=\"switchboard-simulator\""), text);
    assertTrue(text.contains("jvm_memory_used_bytes"), "the JVM's metrics are exported");
    assertFalse(text.contains("vertx_http_client_") || text.contains("vertx_eventbus_")
        || text.contains("vertx_http_server_"),
      "Vert.x's per-request server, per-call client and event bus meters are off by default");
    assertTrue(text.contains("switchboard_upstream_requests_seconds_count{deployment=\"switchboard-simulator.0\","
      + "model=\"switchboard-simulator\",outcome=\"ok\"}"), "upstream calls are counted per deployment: " + text);
    assertTrue(text.contains("switchboard_upstream_requests_seconds_bucket{deployment=\"switchboard-simulator.0\""),
      "as a histogram, for p95/p99 in Prometheus");
    assertTrue(text.contains("switchboard_upstream_ttft_seconds_count{deployment=\"switchboard-simulator.0\""));
    assertTrue(text.contains("switchboard_circuit_state{deployment=\"sim-broken.0\""), "breaker state is a metric");
    assertFalse(text.contains(ACME_KEY) || text.contains("gpt-17"), "no keys, no client-invented labels");
    JsonObject health = new JsonObject(Http.get(node.managementUrl() + "/health").body());
    assertEquals("UP", health.getString("status"));
    assertNull(health.getString("error"));
  }
}

package io.switchboard;

import io.switchboard.testing.ChatSocket;
import io.switchboard.testing.Http;
import io.switchboard.testing.Scrape;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.switchboard.testing.TestConfigs.ACME_KEY;
import static io.switchboard.testing.TestConfigs.GATEWAY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Grafana dashboard and the Prometheus alert rules in {@code docker/} query only metrics a real node exports once
 * it served a few turns (JSON, SSE, WebSocket), and those metrics say what they should: every channel's turns, per
 * model histograms, HTTP requests apart from chat ones with honest paths.
 */
class DashboardsTest {
  private static final Path DOCKER = Path.of("../docker");
  private static TestNode node;
  private static Vertx vertx;
  private static Scrape scrape;
  private static String text;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start(GATEWAY);
    vertx = Vertx.vertx();
    String url = node.baseUrl() + "/v1/chat/completions";
    String auth = "Bearer " + ACME_KEY;
    assertEquals(200, Http.post(url, chat(false), "authorization", auth).statusCode());
    HttpResponse<Stream<String>> sse = Http.postLines(url, chat(true), "authorization", auth);
    assertTrue(Http.sseData(sse).contains("[DONE]"));
    assertEquals(500, Http.post(url, new JsonObject().put("model", "sim-broken").put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", "fail"))).encode(), "authorization", auth).statusCode() / 100 * 100);
    WebSocketClient client = vertx.createWebSocketClient();
    try (ChatSocket socket = ChatSocket.connect(client, node.apiPort)) {
      socket.send(new JsonObject().put("type", "auth").put("api_key", ACME_KEY));
      assertEquals("ready", socket.next().getString("type"));
      socket.send(new JsonObject().put("type", "chat").put("id", "w1").put("model", "switchboard-simulator")
        .put("message", "hello over the socket"));
      assertEquals("done", socket.next(m -> m.getString("type").equals("done")).getString("type"));
    }
    assertEquals(200, Http.get(node.baseUrl() + "/v1/models", "authorization", auth).statusCode());
    assertEquals(404, Http.get(node.baseUrl() + "/no/such/page").statusCode());
    String big = "x".repeat(8_000);
    assertEquals(413, Http.post(url, big, "authorization", auth).statusCode());
    text = Http.get(node.managementUrl() + "/metrics").body();
    scrape = new Scrape(text);
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    node.close();
  }

  private static String chat(boolean stream) {
    return new JsonObject().put("model", "switchboard-simulator").put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))).encode();
  }

  @Test
  void every_metric_the_dashboard_queries_is_exported() throws Exception {
    JsonObject dashboard = new JsonObject(Files.readString(DOCKER.resolve("grafana/dashboards/switchboard.json")));
    List<String> expressions = new ArrayList<>();
    for (Object p : dashboard.getJsonArray("panels")) {
      for (Object t : ((JsonObject) p).getJsonArray("targets")) {
        expressions.add(((JsonObject) t).getString("expr"));
      }
    }
    for (Object v : dashboard.getJsonObject("templating").getJsonArray("list")) {
      expressions.add(((JsonObject) v).getJsonObject("query").getString("query"));
    }
    assertTrue(expressions.size() >= 15, "the golden signals: " + expressions.size());
    assertAllExported("dashboard", expressions);
    String all = String.join("\n", expressions);
    for (String signal : List.of("switchboard_turns_seconds_count", "switchboard_turns_seconds_bucket",
      "switchboard_turn_ttft_seconds_bucket", "switchboard_tokens_total", "switchboard_streams_inflight",
      "switchboard_routing_queued", "switchboard_circuit_state", "rate_limit_error",
      "switchboard_eventloop_delay_seconds", "switchboard_upstream_requests_seconds_count")) {
      assertTrue(all.contains(signal), "the dashboard shows " + signal);
    }
  }

  @Test
  void every_metric_the_alert_rules_query_is_exported() throws Exception {
    Map<String, Object> rules = new Yaml().load(Files.readString(DOCKER.resolve("prometheus/alerts.yml")));
    List<String> expressions = new ArrayList<>();
    for (Object group : (List<?>) rules.get("groups")) {
      for (Object rule : (List<?>) ((Map<?, ?>) group).get("rules")) {
        expressions.add(String.valueOf(((Map<?, ?>) rule).get("expr")));
      }
    }
    assertTrue(expressions.size() >= 8);
    assertAllExported("alert rules", expressions);
  }

  private static void assertAllExported(String where, List<String> expressions) {
    for (String expression : expressions) {
      Set<String> names = Scrape.metricNames(expression);
      assertFalse(names.isEmpty(), "no metric found in " + expression);
      for (String name : names) {
        assertTrue(scrape.has(name), where + " queries " + name + " (in " + expression + "), not exported");
      }
    }
  }

  @Test
  void turns_of_every_channel_are_counted_with_per_model_histograms() {
    assertTrue(text.contains("switchboard_turns_seconds_count{channel=\"http\",model=\"switchboard-simulator\","
      + "outcome=\"ok\"} 2"), text);
    assertTrue(text.contains("switchboard_turns_seconds_count{channel=\"websocket\",model=\"switchboard-simulator\","
      + "outcome=\"ok\"} 1"), "the WebSocket turn is a turn");
    assertTrue(text.contains("switchboard_turns_seconds_bucket{channel=\"http\",model=\"switchboard-simulator\""),
      "a histogram, for p95/p99");
    assertTrue(text.contains("switchboard_turn_ttft_seconds_count{channel=\"http\",model=\"switchboard-simulator\"} 1"),
      "the SSE stream's first token was timed");
    assertTrue(text.contains("switchboard_turn_ttft_seconds_count{channel=\"websocket\",model=\"switchboard-simulator\"} 1"));
    assertTrue(text.contains("switchboard_turns_seconds_count{channel=\"http\",model=\"sim-broken\","
      + "outcome=\"upstream_error\"} 1"),
      "the failed turn is counted by its error's type: " + grep("model=\"sim-broken\""));
    assertTrue(text.contains("switchboard_tokens_total{kind=\"completion\",model=\"switchboard-simulator\""));
    assertTrue(text.contains("switchboard_turns_inflight{model=\"switchboard-simulator\"} 0"), "all turns ended");
    assertTrue(text.contains("switchboard_eventloop_delay_seconds{loop=\""), "the event loops are probed");
  }

  @Test
  void chat_request_metrics_count_only_chat_requests_under_their_real_path() {
    for (String line : text.split("\n")) {
      if (line.startsWith("switchboard_chat_requests_seconds_count")) {
        assertTrue(line.contains("path=\"/v1/chat/completions\""), "only chat requests: " + line);
      }
    }
    assertTrue(text.contains("switchboard_chat_requests_seconds_count{model=\"none\",path=\"/v1/chat/completions\","
      + "status=\"413\"} 1"), "a 413 on the chat endpoint carries its path: " + grep("status=\"413\""));
    assertTrue(text.contains("switchboard_http_requests_seconds_count{path=\"/v1/models\",status=\"200\"} 1"),
      grep("switchboard_http_requests"));
    assertTrue(text.contains("switchboard_http_requests_seconds_count{path=\"unmatched\",status=\"404\"} 1"));
    for (String line : text.split("\n")) {
      if (line.startsWith("# HELP switchboard_")) {
        assertFalse(line.contains(" kind") && !line.contains("switchboard_tokens"), "help names labels that exist: "
          + line);
      }
    }
  }

  private static String grep(String fragment) {
    return String.join("\n", Stream.of(text.split("\n")).filter(l -> l.contains(fragment)).toList());
  }
}

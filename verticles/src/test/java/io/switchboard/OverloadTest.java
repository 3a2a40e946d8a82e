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
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node that measures itself overloaded (here: turns piling up in its admission queue behind a deployment that takes
 * one call at a time) first goes without the route's optional work, then sheds low priorities, and returns to
 * normal by itself once the queue has drained and stayed calm.
 */
class OverloadTest {
  private static final String FREE = "sk-free-0123456789abcdef";
  private static final String GOLD = "sk-gold-0123456789abcdef";
  private static final String CONFIG = """
    server:
      request_timeout_ms: 30000
    auth:
      enabled: true
      keys:
        - {key: %s, tenant: free, priority: 0}
        - {key: %s, tenant: gold, priority: 5}
    overload:
      check_interval_ms: 50
      queued: [3, 8, 16]
      event_loop_delay_ms: [5000, 10000, 20000]
      heap_after_gc_percent: [98, 99, 100]
      calm_ms: 400
      shed_below_priority: 1
    simulator:
      tokens_per_second: 0
      reply_tokens: 4
    model_list:
      - model_name: narrow
        provider: simulator
        max_concurrency: 1
        simulator: {ttft_ms: 60}
    routes:
      - model_name: narrow
        overload_skips: [memory_write, cache_fill]
        queue: {max_waiting: 1000, max_wait_ms: 30000}
    """.formatted(FREE, GOLD);
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

  private static String body(String text) {
    return new JsonObject().put("model", "narrow")
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  private static double metric(String name, String labels) {
    Matcher m = Pattern.compile(Pattern.quote(name) + "(\\{[^}]*})? ([0-9.E+-]+)")
      .matcher(Http.get(node.managementUrl() + "/metrics").body());
    while (m.find()) {
      if (labels == null || m.group(1) != null && m.group(1).contains(labels)) {
        return Double.parseDouble(m.group(2));
      }
    }
    return -1;
  }

  private static double level() {
    return metric("switchboard_overload_level", null);
  }

  @Test
  void a_node_overloaded_by_its_queue_skips_memory_writes_then_sheds_low_priority_and_recovers_by_itself()
    throws Exception {
    assertEquals(0, level());
    List<Double> levels = Collections.synchronizedList(new ArrayList<>());
    // 24 free turns at once queue behind a deployment that takes one at a time (60 ms each)
    CompletableFuture<List<Load.Outcome>> rush = CompletableFuture.supplyAsync(() -> {
      try {
        return Load.post(url, 24, 24, i -> body("rush " + i), "authorization", "Bearer " + FREE,
          "x-conversation-id", "rush-conversation");
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    long until = System.currentTimeMillis() + 20_000;
    while (System.currentTimeMillis() < until && level() < 3) {
      Thread.sleep(20);
    }
    levels.add(level());
    assertEquals(3, levels.get(0), "24 queued is past level 3's 16");
    HttpResponse<String> shed = Http.post(url, body("free during the rush"), "authorization", "Bearer " + FREE);
    assertEquals(503, shed.statusCode(), shed.body());
    assertEquals("overloaded", new JsonObject(shed.body()).getJsonObject("error").getString("code"));
    assertTrue(shed.headers().firstValue("retry-after").isPresent(), "says when to come back");
    HttpResponse<String> gold = Http.post(url, body("gold during the rush"), "authorization", "Bearer " + GOLD);
    assertEquals(200, gold.statusCode(), "a higher priority is still served: " + gold.body());

    List<Load.Outcome> rushed = rush.get();
    assertTrue(rushed.stream().allMatch(o -> o.status() == 200), "turns admitted before the shedding are answered");
    assertTrue(metric("switchboard_overload_skipped_total", "work=\"memory_write\"") > 0,
      "memory writes were the first optional work to go");

    until = System.currentTimeMillis() + 20_000;
    while (System.currentTimeMillis() < until && level() > 0) {
      Thread.sleep(50);
    }
    assertEquals(0, level(), "back to normal by itself once the queue drained and stayed calm");
    HttpResponse<String> after = Http.post(url, body("free after"), "authorization", "Bearer " + FREE);
    assertEquals(200, after.statusCode(), after.body());
  }
}

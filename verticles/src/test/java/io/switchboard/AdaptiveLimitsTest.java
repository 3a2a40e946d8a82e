package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.Load;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Breakers that judge a rolling window and concurrency limits that follow latency, driven by the simulator's knobs:
 * {@code ttft_per_inflight_ms} makes a deployment slow down as more calls are in flight on it, as a GPU server does.
 */
class AdaptiveLimitsTest {
  private static final String ADMIN = "admin-token-0123456789";
  private static final String CONFIG = """
    server:
      request_timeout_ms: 30000
    management:
      admin_token: %s
    simulator:
      ttft_ms: 2
      tokens_per_second: 0
      reply_tokens: 8
    model_list:
      - model_name: healthy
        provider: simulator
      - model_name: swelling
        provider: simulator
        simulator: {ttft_ms: 5, ttft_per_inflight_ms: 40}
        circuit_breaker: {window_calls: 20, minimum_calls: 10, slow_call_ms: 150, reset_timeout_ms: 60000}
      - model_name: mostly-fine
        provider: simulator
        simulator: {ttft_ms: 1, error_rate: 0.01}
        circuit_breaker: {window_calls: 100, minimum_calls: 20, reset_timeout_ms: 60000}
      - model_name: knee
        provider: simulator
        simulator: {ttft_ms: 10, ttft_per_inflight_ms: 20, reply_tokens: 9}
        adaptive_concurrency: {algorithm: aimd, initial_limit: 4, min_limit: 1, max_limit: 64, latency_ms: 150}
      - model_name: knee-unlimited
        provider: simulator
        simulator: {ttft_ms: 10, ttft_per_inflight_ms: 20, reply_tokens: 10}
      - model_name: knee-gradient
        provider: simulator
        simulator: {ttft_ms: 10, ttft_per_inflight_ms: 20, reply_tokens: 11}
        adaptive_concurrency: {algorithm: gradient, initial_limit: 4, min_limit: 1, max_limit: 64}
    routes:
      - {model_name: swelling, fallbacks: [healthy], num_retries: 0}
      - {model_name: mostly-fine, retry_base_ms: 5}
      - {model_name: knee, queue: {max_waiting: 1000, max_wait_ms: 30000}}
      - {model_name: knee-gradient, queue: {max_waiting: 1000, max_wait_ms: 30000}}
    """.formatted(ADMIN);
  private static final Pattern COUNT = Pattern.compile(
    "switchboard_upstream_requests_seconds_count\\{([^}]*)} ([0-9.E]+)");
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

  private static String body(String model, String text) {
    return new JsonObject().put("model", model)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  /** The deployment's entry in /admin/routes. */
  private static JsonObject deployment(String model) {
    JsonObject routes = new JsonObject(Http.get(node.managementUrl() + "/admin/routes", "authorization",
      "Bearer " + ADMIN).body());
    JsonArray deployments = routes.getJsonObject("models").getJsonObject(model).getJsonArray("deployments");
    return deployments.getJsonObject(0);
  }

  private static double circuitState(String deploymentId) {
    Matcher m = Pattern.compile("switchboard_circuit_state\\{deployment=\"" + Pattern.quote(deploymentId)
      + "\"[^}]*} ([0-9.]+)").matcher(Http.get(node.managementUrl() + "/metrics").body());
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }

  /** Upstream calls made to a deployment so far, however they ended. */
  private static long upstreamCalls(String deploymentId) {
    Matcher m = COUNT.matcher(Http.get(node.managementUrl() + "/metrics").body());
    long sum = 0;
    while (m.find()) {
      if (m.group(1).contains("deployment=\"" + deploymentId + "\"")) {
        sum += (long) Double.parseDouble(m.group(2));
      }
    }
    return sum;
  }

  @Test
  void a_deployment_that_turns_slow_under_load_is_opened_within_its_window_and_the_fallback_answers()
    throws Exception {
    List<Load.Outcome> calm = Load.post(url, 20, 1, i -> body("swelling", "calm " + i));
    assertTrue(calm.stream().allMatch(o -> o.status() == 200));
    assertEquals(0, circuitState("swelling.0"), "one call at a time is fast: closed");
    long before = upstreamCalls("swelling.0");

    AtomicBoolean running = new AtomicBoolean(true);
    long[] openedAfterMillis = {-1};
    long start = System.nanoTime();
    Thread watcher = new Thread(() -> {
      while (running.get() && openedAfterMillis[0] < 0) {
        if (circuitState("swelling.0") == 2) {
          openedAfterMillis[0] = (System.nanoTime() - start) / 1_000_000;
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    watcher.start();
    List<Load.Outcome> rush = Load.post(url, 80, 12, i -> body("swelling", "rush " + i));
    running.set(false);
    watcher.join();
    long slowCalls = upstreamCalls("swelling.0") - before;
    System.out.printf("breaker: a deployment turning slow (5 ms + 40 ms per call in flight) opened %d ms into the "
      + "rush, after %d calls to it; p99 of the rush %d ms%n", openedAfterMillis[0], slowCalls,
      Load.percentile(rush, 99));
    assertTrue(rush.stream().allMatch(o -> o.status() == 200), "the fallback answered what the breaker turned away");
    assertEquals(2, circuitState("swelling.0"), "open");
    assertTrue(openedAfterMillis[0] >= 0);
    assertTrue(slowCalls <= 20 + 12, "opened within its window of 20 calls (plus the calls already in flight): "
      + slowCalls);
    assertEquals("open", deployment("swelling").getString("breaker"), "as /admin/routes shows it");
  }

  @Test
  void a_one_percent_error_rate_under_volume_never_opens_the_rate_breaker() throws Exception {
    List<Load.Outcome> outcomes = Load.post(url, 1500, 16, i -> body("mostly-fine", "q" + i));
    long ok = outcomes.stream().filter(o -> o.status() == 200).count();
    assertEquals(1500, ok, "a retry covers each 1% failure");
    assertEquals(0, circuitState("mostly-fine.0"), "closed: a 1% failure rate is far below the threshold");
    assertTrue(upstreamCalls("mostly-fine.0") > 1500, "some calls did fail and were retried");
  }

  /** The p99 of a deployment's answered upstream calls, from its Prometheus histogram (a bucket's bound), in ms. */
  private static double upstreamP99(String deploymentId) {
    Matcher m = Pattern.compile("switchboard_upstream_requests_seconds_bucket\\{([^}]*)} ([0-9.E]+)")
      .matcher(Http.get(node.managementUrl() + "/metrics").body());
    List<double[]> buckets = new ArrayList<>();
    while (m.find()) {
      if (m.group(1).contains("deployment=\"" + deploymentId + "\"") && m.group(1).contains("outcome=\"ok\"")) {
        Matcher le = Pattern.compile("le=\"([^\"]+)\"").matcher(m.group(1));
        le.find();
        buckets.add(new double[] {le.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY
          : Double.parseDouble(le.group(1)), Double.parseDouble(m.group(2))});
      }
    }
    buckets.sort((x, y) -> Double.compare(x[0], y[0]));
    double total = buckets.get(buckets.size() - 1)[1];
    return buckets.stream().filter(b -> b[1] >= 0.99 * total).findFirst().orElseThrow()[0] * 1000;
  }

  /** One light closed-loop run: 240 turns from 32 clients; prints what it saw and returns the limits seen. */
  private static List<Integer> run(String model, boolean limited) throws Exception {
    List<Integer> limits = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean running = new AtomicBoolean(true);
    Thread watcher = new Thread(() -> {
      while (running.get() && limited) {
        limits.add(deployment(model).getInteger("concurrency_limit"));
        try {
          Thread.sleep(25);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    watcher.start();
    long start = System.nanoTime();
    List<Load.Outcome> outcomes = Load.post(url, 240, 32, i -> body(model, "q" + i));
    double seconds = (System.nanoTime() - start) / 1e9;
    running.set(false);
    watcher.join();
    System.out.printf("%s: %.1f req/s; client p50 %d ms, p99 %d ms; upstream call p99 <= %.0f ms; limits "
        + "seen %s%n", model, 240 / seconds, Load.percentile(outcomes, 50), Load.percentile(outcomes, 99),
      upstreamP99(model + ".0"), limits);
    assertTrue(outcomes.stream().allMatch(o -> o.status() == 200), "excess turns waited in the admission queue");
    return limits;
  }

  private static void assertFellAndRose(List<Integer> limits, int initial) {
    int highest = limits.stream().mapToInt(Integer::intValue).max().orElseThrow();
    assertTrue(highest > initial, "rose above its initial " + initial + " while calls were fast: " + limits);
    boolean fell = false;
    for (int i = 1; i < limits.size(); i++) {
      fell |= limits.get(i) < limits.get(i - 1);
    }
    assertTrue(fell, "fell once calls grew slow: " + limits);
    assertTrue(highest < 32, "never let all 32 clients pile onto the deployment: " + limits);
  }

  @Test
  void the_adaptive_limit_falls_when_latency_grows_with_concurrency_and_rises_when_it_is_fast() throws Exception {
    // the knee: 10 ms + 20 ms per other call in flight stays under AIMD's 150 ms up to 7 calls at once
    List<Integer> aimd = run("knee", true);
    assertFellAndRose(aimd, 4);
    List<Integer> gradient = run("knee-gradient", true);
    assertFellAndRose(gradient, 4);
    run("knee-unlimited", false);
    assertTrue(upstreamP99("knee.0") < upstreamP99("knee-unlimited.0"),
      "with the limit on, the deployment's own p99 is lower than with every client on it");
  }
}

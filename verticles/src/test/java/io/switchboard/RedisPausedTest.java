package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Redis that stops answering (SIGSTOP, like a hung server or a partition) must not slow turns down: they skip memory
 * at once, say {@code x-switchboard-memory: unavailable}, and keep their throughput; memory comes back when Redis does.
 */
class RedisPausedTest {
  private static final String KEY = "redis-paused-key-00000001";
  private static final int CLIENTS = 8;
  private static final long PHASE_MILLIS = 6_000;
  private static RedisServer redis;
  private static TestNode node;

  @BeforeAll
  static void start() {
    redis = RedisServer.launchEmbedded();
    node = TestNode.start("""
      auth:
        enabled: true
        keys: [{key: %s, tenant: acme}]
      simulator: {ttft_ms: 5, tokens_per_second: 0, reply_tokens: 12}
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
      session: {store: redis, redis_url: "%s"}
      """.formatted(KEY, redis.url()));
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      redis.resume();
    } catch (RuntimeException ignored) {
      // not paused
    }
    node.close();
    redis.close();
  }

  /** Turns answered per second by {@link #CLIENTS} clients in a closed loop, and the memory headers they saw. */
  private record Phase(double turnsPerSecond, Map<String, AtomicLong> memory, long slowest) {
  }

  private static Phase run(String label) throws Exception {
    ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
    Map<String, AtomicLong> memory = new ConcurrentHashMap<>();
    AtomicLong slowest = new AtomicLong();
    long end = System.currentTimeMillis() + PHASE_MILLIS;
    List<Future<Integer>> counts = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      String conversation = label + "-" + c;
      counts.add(clients.submit(() -> {
        int answered = 0;
        while (System.currentTimeMillis() < end) {
          long started = System.nanoTime();
          HttpResponse<String> response = Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject()
              .put("model", "switchboard-simulator").put("messages", new JsonArray()
                .add(new JsonObject().put("role", "user").put("content", "turn " + answered))).encode(),
            "authorization", "Bearer " + KEY, "x-conversation-id", conversation);
          slowest.accumulateAndGet((System.nanoTime() - started) / 1_000_000, Math::max);
          assertEquals(200, response.statusCode(), response.body());
          memory.computeIfAbsent(response.headers().firstValue("x-switchboard-memory").orElse("none"),
            k -> new AtomicLong()).incrementAndGet();
          answered++;
        }
        return answered;
      }));
    }
    int total = 0;
    for (Future<Integer> count : counts) {
      total += count.get(PHASE_MILLIS + 30_000, TimeUnit.MILLISECONDS);
    }
    clients.shutdown();
    return new Phase(total * 1000.0 / PHASE_MILLIS, memory, slowest.get());
  }

  @Test
  void while_redis_does_not_answer_turns_skip_memory_at_once_and_keep_their_throughput() throws Exception {
    run("warm-up");
    Phase normal = run("normal");
    assertTrue(normal.memory().containsKey("on"), "memory used while Redis answers: " + normal.memory());

    redis.pause();
    Phase paused;
    try {
      paused = run("paused");
    } finally {
      redis.resume();
    }
    System.out.printf("Redis answering: %.0f turns/s (memory %s, slowest %d ms); Redis paused: %.0f turns/s "
        + "(memory %s, slowest %d ms); ratio %.2f%n", normal.turnsPerSecond(), normal.memory(), normal.slowest(),
      paused.turnsPerSecond(), paused.memory(), paused.slowest(), paused.turnsPerSecond() / normal.turnsPerSecond());
    long unavailable = paused.memory().getOrDefault("unavailable", new AtomicLong()).get();
    long all = paused.memory().values().stream().mapToLong(AtomicLong::get).sum();
    assertTrue(unavailable >= all - CLIENTS * 2L, "turns said memory was unavailable: " + paused.memory());
    assertTrue(paused.turnsPerSecond() >= 0.8 * normal.turnsPerSecond(),
      "throughput with Redis paused within 20% of normal: " + paused.turnsPerSecond() + " vs " + normal.turnsPerSecond());

    // once Redis answers again, memory is back within a few seconds
    long deadline = System.currentTimeMillis() + 10_000;
    String header = "";
    while (System.currentTimeMillis() < deadline && !header.equals("on")) {
      header = Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject().put("model", "switchboard-simulator")
          .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "back?"))).encode(),
        "authorization", "Bearer " + KEY, "x-conversation-id", "after").headers()
        .firstValue("x-switchboard-memory").orElse("");
      Thread.sleep(200);
    }
    assertEquals("on", header, "memory is used again once Redis answers");
  }
}

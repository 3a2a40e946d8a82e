package io.switchboard.governance;

import io.switchboard.session.RedisConversationStore;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestNode;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static io.switchboard.governance.AdminHttp.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the limit check costs a turn, measured against a real Redis on loopback: the round trip of the admission
 * script alone (10,000 sequential checks of a key and its tenant), whole turns through a gateway with and without
 * limits, and the Redis commands a turn sends (read from INFO commandstats): one script call at admission, and one
 * at settle only when there is something to settle (reserved tokens, or a cost).
 */
class AdmissionCostTest {
  private static final String LIMITED = "yaml-key-costed-limits-0123456789";
  private static final String RPM_ONLY = "yaml-key-costed-rpm-0123456789";
  private static final String FREE = "yaml-key-costed-free-0123456789";
  private static RedisServer redis;
  private static Vertx vertx;
  private static Redis client;

  @BeforeAll
  static void start() {
    redis = RedisServer.launchEmbedded();
    vertx = Vertx.vertx();
    client = Redis.createClient(vertx, RedisConversationStore.options(redis.url()));
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    redis.close();
  }

  @Test
  void one_admission_script_call_per_turn_and_its_round_trip() throws Exception {
    onContext(() -> client.send(Request.cmd(Command.PING)).mapEmpty()); // connected, as Governance.start() does
    RedisCounters counters = onContext(() -> Future.succeededFuture(new RedisCounters(vertx, client, 1_000)));
    List<Scope> scopes = List.of(
      new Scope("key:bench", "key", new Limits(1_000_000_000, 1_000_000_000, 100.0, null)),
      new Scope("tenant:bench", "tenant", new Limits(1_000_000_000, 0, null, null)));
    long[] script = time(() -> counters.admit(scopes, 300, System.currentTimeMillis(), true).mapEmpty(), 10_000);
    long[] ping = time(() -> client.send(Request.cmd(Command.PING)).mapEmpty(), 10_000);
    System.out.printf("admission script (key + tenant, rpm+tpm+budget), 10000 sequential: p50 %.0f us, p99 %.0f us;"
      + " PING for comparison: p50 %.0f us, p99 %.0f us%n", p(script, 50), p(script, 99), p(ping, 50), p(ping, 99));
    assertTrue(p(script, 50) > 0);

    String yaml = """
      auth:
        enabled: true
        keys:
          - {key: %s, tenant: acme, rpm_limit: 1000000, tpm_limit: 1000000000}
          - {key: %s, tenant: acme, rpm_limit: 1000000}
          - {key: %s, tenant: acme}
      # the deadline is the on_redis_down policy's business; here every check must be Redis's to be counted
      governance: {store: redis, redis_url: %s, redis_timeout_ms: 1000}
      simulator: {ttft_ms: 0, tokens_per_second: 0, reply_tokens: 5}
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
      """.formatted(LIMITED, RPM_ONLY, FREE, redis.url());
    try (TestNode node = TestNode.start(yaml, Map.of("SWITCHBOARD_SERVER_INSTANCES", "1"))) {
      for (String key : List.of(LIMITED, RPM_ONLY, FREE)) {
        for (int i = 0; i < 300; i++) {
          chat(node.baseUrl(), key, "switchboard-simulator"); // warm up
        }
      }
      Map<String, Long> turns = new TreeMap<>();
      for (String key : List.of(LIMITED, RPM_ONLY, FREE)) {
        resetStats();
        for (int i = 0; i < 1_000; i++) {
          HttpResponse<String> answer = chat(node.baseUrl(), key, "switchboard-simulator");
          assertEquals(200, answer.statusCode(), answer.body());
        }
        Thread.sleep(200); // settles are sent after the answers
        Map<String, Long> calls = commandStats();
        System.out.printf("%s: Redis commands for 1000 turns: %s%n", name(key), calls);
        turns.put(key, calls.getOrDefault("evalsha", 0L) + calls.getOrDefault("eval", 0L));
      }
      // latency: the three kinds of turn interleaved, so warm-up and neighbours' load fall on all alike
      List<String> keys = List.of(LIMITED, RPM_ONLY, FREE);
      long[][] nanos = new long[3][1_000];
      for (int i = 0; i < 3_000; i++) {
        long started = System.nanoTime();
        chat(node.baseUrl(), keys.get(i % 3), "switchboard-simulator");
        nanos[i % 3][i / 3] = System.nanoTime() - started;
      }
      for (int k = 0; k < 3; k++) {
        System.out.printf("%s: 1000 sequential turns (interleaved), p50 %.0f us, p99 %.0f us%n", name(keys.get(k)),
          p(nanos[k], 50), p(nanos[k], 99));
      }
      assertEquals(2_000L, turns.get(LIMITED), "admission + settle (reserved tokens) per turn");
      assertEquals(1_000L, turns.get(RPM_ONLY), "admission only: nothing to settle");
      assertEquals(0L, turns.get(FREE), "no limits, no cost: Redis is not asked");
    }
  }

  private static String name(String key) {
    return key.equals(LIMITED) ? "rpm+tpm limits" : key.equals(RPM_ONLY) ? "rpm limit only" : "no limits";
  }

  private static void resetStats() throws Exception {
    onContext(() -> client.send(Request.cmd(Command.CONFIG).arg("RESETSTAT")).mapEmpty());
  }

  /** Calls per command since the last reset (the INFO and CONFIG of this test left out). */
  private static Map<String, Long> commandStats() throws Exception {
    String info = onContext(() -> client.send(Request.cmd(Command.INFO).arg("commandstats")).map(Object::toString));
    Map<String, Long> calls = new TreeMap<>();
    for (String line : info.split("\r?\n")) {
      if (line.startsWith("cmdstat_")) {
        String name = line.substring(8, line.indexOf(':'));
        long n = Long.parseLong(line.substring(line.indexOf("calls=") + 6, line.indexOf(',', line.indexOf("calls="))));
        if (!name.equals("info") && !name.equals("config")) {
          calls.put(name, n);
        }
      }
    }
    return calls;
  }

  /** Each call's nanoseconds, one after the other, on an event loop. */
  private static long[] time(Supplier<Future<Void>> call, int times) throws Exception {
    long[] nanos = new long[times];
    for (int i = 0; i < 1_000; i++) { // warm up (a cold first call may miss the 50 ms deadline)
      onContext(() -> call.get().otherwiseEmpty());
    }
    onContext(() -> {
      Promise<Void> done = Promise.promise();
      loop(call, nanos, 0, done);
      return done.future();
    });
    return nanos;
  }

  private static void loop(Supplier<Future<Void>> call, long[] nanos, int i, Promise<Void> done) {
    if (i == nanos.length) {
      done.complete();
      return;
    }
    long started = System.nanoTime();
    call.get().onComplete(outcome -> {
      nanos[i] = System.nanoTime() - started;
      if (outcome.failed()) {
        done.fail(outcome.cause());
      } else {
        vertx.runOnContext(v -> loop(call, nanos, i + 1, done));
      }
    });
  }

  private static <T> T onContext(Supplier<Future<T>> work) throws Exception {
    Promise<T> result = Promise.promise();
    vertx.runOnContext(v -> work.get().onComplete(result));
    return result.future().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  /** The percentile in microseconds. */
  private static double p(long[] nanos, int percentile) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, sorted.length * percentile / 100)] / 1_000.0;
  }
}

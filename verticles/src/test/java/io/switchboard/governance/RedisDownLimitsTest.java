package io.switchboard.governance;

import io.switchboard.testing.Http;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static io.switchboard.governance.AdminHttp.admin;
import static io.switchboard.governance.AdminHttp.chat;
import static io.switchboard.governance.AdminHttp.code;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Redis goes silent, then away, under two nodes that count limits in it: the one with {@code on_redis_down: local}
 * goes on with the same limits counted in its own memory (and says so in a metric), without waiting long for a
 * silent Redis; the one with {@code closed} refuses with 503. Keys a node has seen keep working; others cannot be
 * checked and get 503.
 */
class RedisDownLimitsTest {
  private static final String KEY = "yaml-key-redisdown-0123456789";
  private static RedisServer redis;
  private static TestNode local;
  private static TestNode closed;

  private static String config(String policy) {
    return """
      management:
        admin_token: %s
      auth:
        enabled: true
        keys:
          - key: %s
            tenant: acme
            rpm_limit: 3
      governance:
        store: redis
        redis_url: %s
        on_redis_down: %s
      simulator:
        ttft_ms: 1
        tokens_per_second: 0
        reply_tokens: 5
      model_list:
        - model_name: switchboard-simulator
          provider: simulator
      """.formatted(AdminHttp.ADMIN_TOKEN, KEY, redis.url(), policy);
  }

  @BeforeAll
  static void start() {
    redis = RedisServer.launchEmbedded();
    local = TestNode.start(config("local"));
    closed = TestNode.start(config("closed"));
  }

  @AfterAll
  static void stop() throws Exception {
    local.close();
    closed.close();
    redis.close();
  }

  private static double unavailable(TestNode node) {
    return AdminHttp.metric(Http.get(node.managementUrl() + "/metrics").body(),
      "switchboard_limits_redis_unavailable_total");
  }

  @Test
  void limits_go_local_or_closed_by_policy_when_redis_is_silent_or_down() throws Exception {
    HttpResponse<String> counted = chat(local.baseUrl(), KEY, "switchboard-simulator");
    assertEquals(200, counted.statusCode(), counted.body());
    assertEquals("2", counted.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow());
    HttpResponse<String> created = admin("POST", local.managementUrl() + "/admin/keys",
      new JsonObject().put("key_alias", "seen"));
    String seen = new JsonObject(created.body()).getString("key");
    String unseen = new JsonObject(admin("POST", local.managementUrl() + "/admin/keys",
      new JsonObject().put("key_alias", "unseen")).body()).getString("key");
    assertEquals(200, chat(local.baseUrl(), seen, "switchboard-simulator").statusCode());

    // silent (SIGSTOP): the check gives up after governance.redis_timeout_ms (50 ms) and counts on this node
    redis.pause();
    try {
      long started = System.nanoTime();
      HttpResponse<String> silent = chat(local.baseUrl(), KEY, "switchboard-simulator");
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertEquals(200, silent.statusCode(), silent.body());
      assertEquals("2", silent.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow(),
        "counted afresh in this node's memory, with the same limit");
      assertTrue(millis < 1_000, "a silent Redis held the turn " + millis + " ms");
      assertTrue(unavailable(local) >= 1);
    } finally {
      redis.resume();
    }

    // down: connections refused
    redis.stop();
    try {
      assertEquals(200, chat(local.baseUrl(), KEY, "switchboard-simulator").statusCode());
      HttpResponse<String> third = chat(local.baseUrl(), KEY, "switchboard-simulator");
      assertEquals(200, third.statusCode(), third.body());
      assertEquals("0", third.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow());
      HttpResponse<String> over = chat(local.baseUrl(), KEY, "switchboard-simulator");
      assertEquals(429, over.statusCode(), "the same rpm_limit, counted per node: " + over.body());
      assertEquals("rate_limit_exceeded", code(over));
      assertTrue(unavailable(local) >= 4, "each check that missed Redis is counted");

      HttpResponse<String> refused = chat(closed.baseUrl(), KEY, "switchboard-simulator");
      assertEquals(503, refused.statusCode(), refused.body());
      assertEquals("service_unavailable", code(refused));
      assertTrue(unavailable(closed) >= 1);

      Thread.sleep(600); // past the key cache: the node falls back on the last answer it had for the key
      assertEquals(200, chat(local.baseUrl(), seen, "switchboard-simulator").statusCode(),
        "a key this node has seen keeps working");
      HttpResponse<String> stranger = chat(local.baseUrl(), unseen, "switchboard-simulator");
      assertEquals(503, stranger.statusCode(), "a key never seen here cannot be checked: " + stranger.body());
    } finally {
      redis.start();
    }
  }
}

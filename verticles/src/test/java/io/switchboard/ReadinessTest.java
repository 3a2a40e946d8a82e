package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /ready} says whether the node takes traffic and reaches what it depends on; {@code /health} only that the
 * process is alive. Redis down degrades a node that can serve without it, and takes out of the load balancer one
 * that refuses turns without it.
 */
class ReadinessTest {
  private static final String CONFIG = """
    session:
      store: redis
      redis_url: %s
    governance:
      on_redis_down: %s
    model_list:
      - model_name: sim
        provider: simulator
    """;

  @Test
  void redis_down_degrades_a_node_that_serves_without_it() throws Exception {
    try (RedisServer redis = RedisServer.launchEmbedded();
         TestNode node = TestNode.start(CONFIG.formatted(redis.url(), "local"))) {
      JsonObject ready = ready(node, 200);
      assertEquals("reachable", ready.getString("redis"));
      assertFalse(ready.getBoolean("degraded"));
      redis.stop();
      JsonObject degraded = ready(node, 200);
      assertEquals("unreachable", degraded.getString("redis"));
      assertTrue(degraded.getBoolean("degraded"), "still takes traffic, without memory and shared limits");
      assertEquals(200, Http.get(node.managementUrl() + "/health").statusCode(), "the process is alive");
      redis.start();
      assertEquals("reachable", awaitReady(node, 200).getString("redis"));
    }
  }

  @Test
  void redis_down_takes_a_node_that_needs_it_out_of_the_load_balancer() throws Exception {
    try (RedisServer redis = RedisServer.launchEmbedded();
         TestNode node = TestNode.start(CONFIG.formatted(redis.url(), "closed"))) {
      assertEquals("READY", ready(node, 200).getString("status"));
      redis.stop();
      JsonObject notReady = ready(node, 503);
      assertEquals("NOT_READY", notReady.getString("status"));
      assertTrue(notReady.getString("reason").contains("Redis"), notReady.encode());
      assertEquals(200, Http.get(node.managementUrl() + "/health").statusCode());
      redis.start();
      awaitReady(node, 200);
    }
  }

  private static JsonObject ready(TestNode node, int status) {
    HttpResponse<String> response = Http.get(node.managementUrl() + "/ready");
    assertEquals(status, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  /** Redis clients reconnect on their next command: a few probes may still fail. */
  private static JsonObject awaitReady(TestNode node, int status) throws InterruptedException {
    HttpResponse<String> response = null;
    for (int i = 0; i < 60; i++) {
      response = Http.get(node.managementUrl() + "/ready");
      JsonObject body = new JsonObject(response.body());
      if (response.statusCode() == status && "reachable".equals(body.getString("redis"))) {
        return body;
      }
      Thread.sleep(250);
    }
    throw new AssertionError("not ready again: " + response.body());
  }
}

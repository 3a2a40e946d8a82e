package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Memory in a real Redis server, including Redis going away and coming back mid-test. */
class RedisMemoryTest extends MemoryContract {
  private static RedisServer redis;
  private static TestNode node;

  @BeforeAll
  static void start() {
    redis = RedisServer.launchEmbedded();
    node = TestNode.start(config("session: {store: redis, redis_url: \"" + redis.url() + "\"}\n"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    redis.close();
  }

  @Override
  TestNode node() {
    return node;
  }

  @Test
  void chat_goes_on_without_memory_while_redis_is_down_and_memory_comes_back_with_it() {
    String id = "conv-outage-" + System.nanoTime();
    HttpResponse<String> before = turn(ACME, "switchboard-simulator", id, "remember: the password is swordfish");
    assertEquals("on", before.headers().firstValue("x-switchboard-memory").orElse(null));
    int remembered = promptTokens(turn(ACME, "switchboard-simulator", id, "what was it?"));

    redis.stop();
    try {
      long start = System.nanoTime();
      HttpResponse<String> during = turn(ACME, "switchboard-simulator", id, "what was it?");
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertEquals("unavailable", during.headers().firstValue("x-switchboard-memory").orElse(null));
      assertTrue(promptTokens(during) < remembered, "served without memory");
      assertTrue(millis < 3_000, "memory being down costs little time: " + millis + " ms");
      String metrics = Http.get(node.managementUrl() + "/metrics").body();
      assertTrue(metrics.lines().anyMatch(l -> l.startsWith("switchboard_session_unavailable_total") && !l.endsWith(" 0.0")),
        "a metric counts turns served without memory");
    } finally {
      redis.start();
    }
    HttpResponse<String> after = turn(ACME, "switchboard-simulator", id, "and now?");
    assertEquals("on", after.headers().firstValue("x-switchboard-memory").orElse(null), "memory resumed by itself");
    assertTrue(promptTokens(after) >= remembered, "nothing stored before the outage was lost");
    assertEquals(6, new JsonObject(Http.get(node.baseUrl() + "/v1/conversations/" + id, "authorization",
      "Bearer " + ACME).body()).getJsonArray("messages").size());
  }
}

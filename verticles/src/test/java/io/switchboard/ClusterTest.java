package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.NodeProcess;
import io.switchboard.testing.RedisServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two nodes in separate JVMs, clustered over Hazelcast on loopback and sharing a real Redis: the front node
 * has no inference proxy, so every answer it gives was produced on the other node and crossed the event bus.
 */
class ClusterTest {
  private static RedisServer redis;
  private static NodeProcess front;
  private static NodeProcess back;

  @BeforeAll
  static void start() {
    redis = RedisServer.launchEmbedded();
    Map<String, String> env = Map.of("SWITCHBOARD_SIMULATOR_TOKENS_PER_SECOND", "500",
      "SWITCHBOARD_SIMULATOR_TTFT_MS", "5", "SWITCHBOARD_SESSION_STORE", "redis", "REDIS_URL", redis.url());
    back = NodeProcess.start("back", env, "--cluster");
    front = NodeProcess.start("front", env, "--cluster", "--verticles", "connection,session,routing,monitoring");
    back.awaitHealthy(90_000);
    front.awaitHealthy(90_000);
  }

  @AfterAll
  static void stop() {
    if (front != null) {
      front.close();
    }
    if (back != null) {
      back.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  private static String body(boolean stream) {
    return new JsonObject().put("model", "switchboard-simulator").put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "across the cluster")))
      .encode();
  }

  @Test
  void a_node_without_inference_proxy_is_served_by_the_other_node() {
    HttpResponse<String> response = awaitCluster();
    assertEquals(200, response.statusCode(), response.body() + "\n" + front.log());
    String content = new JsonObject(response.body()).getJsonArray("choices").getJsonObject(0)
      .getJsonObject("message").getString("content");
    assertFalse(content.isBlank());

    HttpResponse<Stream<String>> stream = Http.postLines(front.baseUrl() + "/v1/chat/completions", body(true));
    assertEquals(200, stream.statusCode());
    List<String> events = Http.sseData(stream);
    assertEquals("[DONE]", events.get(events.size() - 1));
    StringBuilder streamed = new StringBuilder();
    for (String event : events.subList(0, events.size() - 1)) {
      JsonObject chunk = new JsonObject(event);
      if (!chunk.getJsonArray("choices").isEmpty()) {
        String piece = chunk.getJsonArray("choices").getJsonObject(0).getJsonObject("delta").getString("content");
        if (piece != null) {
          streamed.append(piece);
        }
      }
    }
    assertEquals(content, streamed.toString(), "the stream relayed across nodes is the whole answer, in order");

    String frontMetrics = Http.get("http://127.0.0.1:" + front.managementPort + "/metrics").body();
    String backMetrics = Http.get("http://127.0.0.1:" + back.managementPort + "/metrics").body();
    assertFalse(frontMetrics.contains("switchboard_circuit_state"), "the front node calls no upstream");
    assertFalse(frontMetrics.contains("switchboard_upstream_requests_seconds"), "nor counts upstream calls");
    assertTrue(backMetrics.contains("switchboard_upstream_requests_seconds_count{deployment=\"switchboard-simulator.0\""),
      "the node that called the upstream counts the call");
    assertTrue(backMetrics.contains("switchboard_circuit_state{deployment=\"switchboard-simulator.0\""));
    JsonObject health = new JsonObject(Http.get("http://127.0.0.1:" + front.managementPort + "/health").body());
    assertTrue(health.getBoolean("clustered"));
  }

  @Test
  void turns_of_one_conversation_arriving_at_once_on_two_nodes_are_all_kept_in_one_order() throws Exception {
    awaitCluster();
    String conversation = "conv-race-" + System.nanoTime();
    int perNode = 10;
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<HttpResponse<String>>> sent = new ArrayList<>();
      for (int i = 0; i < perNode; i++) {
        for (NodeProcess node : List.of(front, back)) {
          String text = (node == front ? "front " : "back ") + i;
          sent.add(pool.submit(() -> Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject()
            .put("model", "switchboard-simulator").put("messages", new JsonArray().add(new JsonObject()
              .put("role", "user").put("content", text))).encode(), "x-conversation-id", conversation)));
        }
      }
      for (Future<HttpResponse<String>> response : sent) {
        assertEquals(200, response.get(30, TimeUnit.SECONDS).statusCode());
      }
    } finally {
      pool.shutdownNow();
    }
    // appends land after the answers: give the last ones a moment
    JsonArray fromFront = null;
    long deadline = System.currentTimeMillis() + 5_000;
    while (System.currentTimeMillis() < deadline) {
      fromFront = new JsonObject(Http.get(front.baseUrl() + "/v1/conversations/" + conversation).body())
        .getJsonArray("messages");
      if (fromFront != null && fromFront.size() == perNode * 4) {
        break;
      }
      Thread.sleep(100);
    }
    JsonArray fromBack = new JsonObject(Http.get(back.baseUrl() + "/v1/conversations/" + conversation).body())
      .getJsonArray("messages");
    assertEquals(perNode * 4, fromFront.size(), "every turn from both nodes was kept");
    assertEquals(fromFront, fromBack, "both nodes see one and the same order");
    Set<String> questions = new HashSet<>();
    for (int i = 0; i < fromFront.size(); i += 2) {
      assertEquals("user", fromFront.getJsonObject(i).getString("role"), "each question is followed by its answer");
      assertEquals("assistant", fromFront.getJsonObject(i + 1).getString("role"));
      questions.add(fromFront.getJsonObject(i).getString("content"));
    }
    assertEquals(perNode * 2, questions.size(), "nothing was overwritten");
  }

  /** The back node's registrations reach the front node shortly after both are up. */
  private static HttpResponse<String> awaitCluster() {
    long deadline = System.currentTimeMillis() + 30_000;
    HttpResponse<String> response;
    do {
      response = Http.post(front.baseUrl() + "/v1/chat/completions", body(false));
      if (response.statusCode() == 200) {
        return response;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    } while (System.currentTimeMillis() < deadline);
    return response;
  }
}

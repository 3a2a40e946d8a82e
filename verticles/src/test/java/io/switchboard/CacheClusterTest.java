package io.switchboard;

import io.switchboard.testing.FakeOpenAi;
import io.switchboard.testing.Http;
import io.switchboard.testing.NodeProcess;
import io.switchboard.testing.RedisServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two clustered nodes in their own JVMs sharing a real Redis, in front of a fake OpenAI that counts its calls and
 * takes half a second to answer: a burst of identical questions spread over both nodes, streamed and not, reaches
 * the model once, and every one of them gets the same answer.
 */
class CacheClusterTest {
  private static final String ADMIN = "admin-token-0123456789";
  private static FakeOpenAi upstream;
  private static RedisServer redis;
  private static NodeProcess one;
  private static NodeProcess two;

  @BeforeAll
  static void start() throws Exception {
    upstream = new FakeOpenAi();
    redis = RedisServer.launchEmbedded();
    Path config = Files.createDirectories(Path.of("target")).resolve("cache-cluster.yaml");
    Files.writeString(config, """
      server: {request_timeout_ms: 20000}
      management: {admin_token: %s}
      model_list:
        - {model_name: gpt-cached, provider: openai, api_base: "%s", api_key: sk-upstream-key-0001}
      routes:
        - {model_name: gpt-cached, cache: {ttl_seconds: 600}}
      session: {store: redis, redis_url: "%s"}
      """.formatted(ADMIN, upstream.baseUrl(), redis.url()));
    Map<String, String> env = Map.of();
    one = NodeProcess.start("cache-one", env, "--cluster", "--conf", config.toString());
    two = NodeProcess.start("cache-two", env, "--cluster", "--conf", config.toString());
    one.awaitHealthy(90_000);
    two.awaitHealthy(90_000);
    // warm nodes, as a node in service is: a cold JVM busy compiling can miss Redis's first answers for 400 ms,
    // and then (as with a hung Redis) goes on without the shared layer for a moment
    for (NodeProcess node : List.of(one, two)) {
      for (int i = 0; i < 20; i++) {
        Http.post(node.baseUrl() + "/v1/chat/completions", body("warm-up " + i % 5, i % 2 == 0));
      }
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (NodeProcess node : new NodeProcess[] {one, two}) {
      if (node != null) {
        node.close();
      }
    }
    if (redis != null) {
      redis.close();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  private static String body(String text, boolean stream) {
    return new JsonObject().put("model", "gpt-cached").put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  /** The answer's text, from a completion or from the content deltas of a stream. */
  private static String content(String body, boolean stream) {
    if (!stream) {
      return new JsonObject(body).getJsonArray("choices").getJsonObject(0).getJsonObject("message")
        .getString("content");
    }
    StringBuilder text = new StringBuilder();
    assertTrue(body.endsWith("data: [DONE]\n\n"), body);
    for (String event : body.split("\n\n")) {
      if (event.startsWith("data: {")) {
        JsonArray choices = new JsonObject(event.substring(6)).getJsonArray("choices");
        if (!choices.isEmpty() && choices.getJsonObject(0).getJsonObject("delta").getValue("content")
          instanceof String piece) {
          text.append(piece);
        }
      }
    }
    return text.toString();
  }

  private static double hits(NodeProcess node, String layer) {
    String metrics = Http.get("http://127.0.0.1:" + node.managementPort + "/metrics").body();
    Matcher m = Pattern.compile("switchboard_cache_lookups_total\\{layer=\"" + layer + "\",result=\"hit\"} (\\S+)")
      .matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  @Test
  void a_hundred_identical_questions_over_two_nodes_reach_the_model_once() throws Exception {
    String text = "how do I reset my password?";
    upstream.delayMillis = 500;
    ExecutorService pool = Executors.newFixedThreadPool(100);
    CountDownLatch go = new CountDownLatch(1);
    double[] before = {hits(one, "local"), hits(one, "flight"), hits(one, "shared"), hits(two, "local"),
      hits(two, "flight"), hits(two, "shared")};
    try {
      List<Future<HttpResponse<String>>> sent = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        NodeProcess node = i % 2 == 0 ? one : two;
        boolean stream = i % 4 >= 2;
        sent.add(pool.submit(() -> {
          go.await();
          return Http.post(node.baseUrl() + "/v1/chat/completions", body(text, stream));
        }));
      }
      long started = System.nanoTime();
      go.countDown();
      List<String> answers = new ArrayList<>();
      int hits = 0;
      for (int i = 0; i < sent.size(); i++) {
        HttpResponse<String> response = sent.get(i).get(60, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode(), response.body());
        answers.add(content(response.body(), i % 4 >= 2));
        hits += response.headers().firstValue("x-switchboard-cache").orElseThrow().equals("hit") ? 1 : 0;
      }
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertEquals(1, upstream.calls(text), "one call for a hundred questions");
      assertEquals(99, hits, "every other answer was a hit");
      assertEquals(1, answers.stream().distinct().count(), "everyone got the same answer: " + answers);
      assertEquals("Paris is the capital of France.", answers.get(0));
      System.out.printf("cache: 100 identical questions over 2 nodes: 1 upstream call (99 saved), all answered "
          + "in %d ms; hits by layer: node one local %.0f / flight %.0f / shared %.0f, node two local %.0f / "
          + "flight %.0f / shared %.0f%n", millis, hits(one, "local") - before[0], hits(one, "flight") - before[1],
        hits(one, "shared") - before[2], hits(two, "local") - before[3], hits(two, "flight") - before[4],
        hits(two, "shared") - before[5]);
    } finally {
      upstream.delayMillis = 0;
      pool.shutdownNow();
    }

    // one flush on one node empties Redis and every node's local layer
    HttpResponse<String> flushed = Http.delete("http://127.0.0.1:" + one.managementPort
      + "/admin/cache?model=gpt-cached", "authorization", "Bearer " + ADMIN);
    assertEquals(200, flushed.statusCode(), flushed.body());
    assertEquals(6, new JsonObject(flushed.body()).getLong("shared_entries_removed"), "5 warm-ups and the question");
    long deadline = System.currentTimeMillis() + 5_000;
    String state;
    do {
      HttpResponse<String> again = Http.post(two.baseUrl() + "/v1/chat/completions", body(text, false));
      state = again.headers().firstValue("x-switchboard-cache").orElseThrow();
    } while (!state.equals("miss") && System.currentTimeMillis() < deadline);
    assertEquals("miss", state, "node two's local layer was flushed too");
    assertEquals(2, upstream.calls(text));
  }
}

package io.switchboard.governance;

import io.switchboard.testing.Http;
import io.switchboard.testing.NodeProcess;
import io.switchboard.testing.RedisServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.switchboard.governance.AdminHttp.admin;
import static io.switchboard.governance.AdminHttp.chat;
import static io.switchboard.governance.AdminHttp.code;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three nodes in separate JVMs, clustered, sharing one real Redis: a key made on one node works on the others, its
 * revocation reaches them within a second, and its rpm_limit is exact across the cluster.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RateLimitClusterTest {
  private static RedisServer redis;
  private static final List<NodeProcess> nodes = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    redis = RedisServer.launchEmbedded();
    Path conf = Path.of("target", "rate-limit-cluster.yaml");
    Files.createDirectories(conf.getParent());
    Files.writeString(conf, """
      server:
        request_timeout_ms: 20000
      management:
        admin_token: %s
      auth:
        enabled: true
        keys:
          - key: yaml-cluster-key-0123456789
            tenant: acme
      session:
        store: redis
        redis_url: %s
      governance:
        # a loaded test machine runs three JVMs on two cores: give Redis time rather than count locally
        redis_timeout_ms: 2000
      simulator:
        ttft_ms: 1
        tokens_per_second: 0
        reply_tokens: 5
      model_list:
        - model_name: switchboard-simulator
          provider: simulator
          price: {input_per_million: 100, output_per_million: 100}
        - model_name: sim-capped
          provider: simulator
          rpm_limit: 10
      """.formatted(AdminHttp.ADMIN_TOKEN, redis.url()));
    Map<String, String> env = Map.of("SWITCHBOARD_CONF", conf.toAbsolutePath().toString());
    for (String name : List.of("gov-a", "gov-b", "gov-c")) {
      nodes.add(NodeProcess.start(name, env, "--cluster"));
    }
    nodes.forEach(n -> n.awaitHealthy(120_000));
  }

  @AfterAll
  static void stop() {
    nodes.forEach(NodeProcess::close);
    if (redis != null) {
      redis.close();
    }
  }

  private static String keysUrl(NodeProcess node) {
    return "http://127.0.0.1:" + node.managementPort + "/admin/keys";
  }

  @Test
  @Order(1)
  void a_key_made_on_one_node_works_on_all_and_its_revocation_reaches_them_within_a_second() throws Exception {
    HttpResponse<String> created = admin("POST", keysUrl(nodes.get(0)), new JsonObject().put("key_alias", "ops-bot")
      .put("tenant", "acme").put("rpm_limit", 100).put("metadata", new JsonObject().put("team", "ops")));
    assertEquals(201, created.statusCode(), created.body());
    JsonObject key = new JsonObject(created.body());
    String secret = key.getString("key");
    String id = key.getString("id");
    assertTrue(id.startsWith("key_"), id);
    assertEquals("ops", key.getJsonObject("metadata").getString("team"));

    HttpResponse<String> used = chat(nodes.get(1).baseUrl(), secret, "switchboard-simulator");
    assertEquals(200, used.statusCode(), used.body());
    assertEquals("100", used.headers().firstValue("x-ratelimit-limit-requests").orElse(null));

    HttpResponse<String> list = admin("GET", keysUrl(nodes.get(2)), null);
    assertEquals(200, list.statusCode(), list.body());
    assertFalse(list.body().contains(secret), "the list never shows the secret");
    JsonObject row = new JsonObject(list.body()).getJsonArray("data").stream().map(JsonObject.class::cast)
      .filter(r -> r.getString("id").equals(id)).findFirst().orElseThrow();
    assertNull(row.getValue("key"));
    assertEquals("sk-sb-…" + secret.substring(secret.length() - 4), row.getString("key_hint"));
    assertEquals(false, row.getBoolean("revoked"));
    assertTrue(row.getDouble("spend") >= 0, "its spend this period: " + row);

    HttpResponse<String> patched = admin("PATCH", keysUrl(nodes.get(2)) + "/" + id, new JsonObject()
      .put("rpm_limit", 5).put("tpm_limit", 100_000));
    assertEquals(200, patched.statusCode(), patched.body());
    assertEquals(5L, new JsonObject(patched.body()).getLong("rpm_limit"));
    long patchedAt = System.nanoTime();
    HttpResponse<String> limited;
    do { // the change is broadcast; another node applies it within the key cache's 500 ms at most
      limited = chat(nodes.get(1).baseUrl(), secret, "switchboard-simulator");
    } while (!"5".equals(limited.headers().firstValue("x-ratelimit-limit-requests").orElse(null))
      && System.nanoTime() - patchedAt < 3_000_000_000L);
    long patchMillis = (System.nanoTime() - patchedAt) / 1_000_000;
    assertEquals("5", limited.headers().firstValue("x-ratelimit-limit-requests").orElse(null));
    System.out.printf("patched limit seen on another node after %d ms%n", patchMillis);
    assertTrue(patchMillis < 1_000, "the new limit applied on another node after " + patchMillis + " ms");
    assertEquals("100000", limited.headers().firstValue("x-ratelimit-limit-tokens").orElse(null));

    // revoked on node a; nodes b and c have the key cached from their last answers
    assertEquals(200, chat(nodes.get(2).baseUrl(), secret, "switchboard-simulator").statusCode());
    HttpResponse<String> deleted = admin("DELETE", keysUrl(nodes.get(0)) + "/" + id, null);
    assertEquals(200, deleted.statusCode(), deleted.body());
    assertEquals(true, new JsonObject(deleted.body()).getBoolean("deleted"));
    long revokedAt = System.nanoTime();
    for (NodeProcess node : List.of(nodes.get(1), nodes.get(2))) {
      int status;
      do {
        status = chat(node.baseUrl(), secret, "switchboard-simulator").statusCode();
      } while (status == 200 && System.nanoTime() - revokedAt < 3_000_000_000L);
      long millis = (System.nanoTime() - revokedAt) / 1_000_000;
      System.out.printf("revoked key refused on %d after %d ms%n", node.apiPort, millis);
      assertEquals(401, status, "still accepted after " + millis + " ms");
      assertTrue(millis < 1_000, "refused only after " + millis + " ms");
    }
    assertEquals(404, admin("GET", keysUrl(nodes.get(1)) + "/" + id, null).statusCode());
  }

  @Test
  @Order(2)
  void a_key_with_rpm_limit_60_gets_exactly_60_of_200_requests_spread_over_three_nodes() throws Exception {
    HttpResponse<String> created = admin("POST", keysUrl(nodes.get(1)), new JsonObject().put("key_alias", "sixty")
      .put("rpm_limit", 60));
    assertEquals(201, created.statusCode(), created.body());
    String secret = new JsonObject(created.body()).getString("key");
    for (NodeProcess node : nodes) { // every node knows the key before the clock starts (a lookup is not a turn)
      assertEquals(200, Http.get(node.baseUrl() + "/v1/key/info", "authorization", "Bearer " + secret).statusCode());
    }
    ExecutorService pool = Executors.newFixedThreadPool(12);
    long started = System.nanoTime();
    List<Future<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      NodeProcess node = nodes.get(i % 3);
      calls.add(pool.submit(() -> chat(node.baseUrl(), secret, "switchboard-simulator")));
    }
    int ok = 0;
    int limited = 0;
    int[] perNode = new int[3];
    List<String> other = new ArrayList<>();
    for (int i = 0; i < calls.size(); i++) {
      HttpResponse<String> response = calls.get(i).get();
      if (response.statusCode() == 200) {
        ok++;
        perNode[i % 3]++;
      } else if (response.statusCode() == 429 && code(response).equals("rate_limit_exceeded")) {
        limited++;
        assertTrue(response.headers().firstValue("retry-after").isPresent());
        assertEquals("0", response.headers().firstValue("x-ratelimit-remaining-requests").orElse(null));
      } else {
        other.add(response.statusCode() + " " + response.body());
      }
    }
    long seconds = (System.nanoTime() - started) / 1_000_000_000L;
    pool.shutdown();
    System.out.printf("rpm_limit 60 over 3 nodes: %d ok (per node %d/%d/%d), %d limited, %d other, in %d s%n",
      ok, perNode[0], perNode[1], perNode[2], limited, other.size(), seconds);
    assertTrue(seconds < 55, "all 200 requests within the minute (took " + seconds + " s)");
    assertEquals(List.of(), other);
    assertEquals(60, ok);
    assertEquals(140, limited);
    assertTrue(perNode[0] > 0 && perNode[1] > 0 && perNode[2] > 0, "every node served some");
    double refused = 0;
    double fallbacks = 0;
    for (NodeProcess node : nodes) {
      String metrics = Http.get("http://127.0.0.1:" + node.managementPort + "/metrics").body();
      refused += AdminHttp.metric(metrics, "switchboard_limits_refused_total{reason=\"rpm\"");
      fallbacks += AdminHttp.metric(metrics, "switchboard_limits_redis_unavailable_total");
    }
    assertEquals(140, refused, "refusals counted by reason");
    assertEquals(0, fallbacks, "every check was Redis's");
  }

  @Test
  @Order(3)
  void tokens_and_spend_settle_in_redis_for_every_node_and_a_spent_budget_is_refused_everywhere() throws Exception {
    HttpResponse<String> created = admin("POST", keysUrl(nodes.get(0)), new JsonObject().put("key_alias", "metered")
      .put("tpm_limit", 10_000).put("max_budget", 0.002).put("budget_duration", "30d"));
    assertEquals(201, created.statusCode(), created.body());
    String secret = new JsonObject(created.body()).getString("key");
    String id = new JsonObject(created.body()).getString("id");
    String body = new JsonObject().put("model", "switchboard-simulator").put("max_tokens", 100)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))).encode();
    long reserve = (2 + 4 + 3) / 4 + 100;
    double spent = 0;
    long used = 0;
    int served = 0;
    HttpResponse<String> last;
    int i = 0;
    do {
      NodeProcess node = nodes.get(i++ % 3);
      last = Http.post(node.baseUrl() + "/v1/chat/completions", body, "authorization", "Bearer " + secret);
      if (last.statusCode() == 200) {
        served++;
        assertEquals(String.valueOf(10_000 - used - reserve),
          last.headers().firstValue("x-ratelimit-remaining-tokens").orElse(null),
          "the turns before, settled by other nodes, count their real tokens");
        long total = new JsonObject(last.body()).getJsonObject("usage").getLong("total_tokens");
        used += total;
        spent += total * 100 / 1e6;
        awaitSpend(id, spent); // settled off the answer's path
      }
    } while (last.statusCode() == 200 && i < 50);
    assertEquals(429, last.statusCode(), last.body());
    assertEquals("insufficient_quota", code(last));
    assertTrue(served >= 2, "served " + served);
    assertTrue(spent >= 0.002 && spent - 0.002 < spent / served, "refused once the budget was reached: " + spent);
    for (NodeProcess node : nodes) {
      HttpResponse<String> refused = chat(node.baseUrl(), secret, "switchboard-simulator");
      assertEquals("insufficient_quota", code(refused), "every node sees the spend");
    }
  }

  @Test
  @Order(4)
  void a_websocket_opened_with_an_admin_key_looked_up_in_redis_signs_in() throws Exception {
    String secret = new JsonObject(admin("POST", keysUrl(nodes.get(0)), new JsonObject().put("key_alias", "socket"))
      .body()).getString("key");
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      io.vertx.core.http.WebSocketClient client = vertx.createWebSocketClient();
      try (io.switchboard.testing.ChatSocket socket = io.switchboard.testing.ChatSocket.connect(client,
        nodes.get(2).apiPort, "authorization", "Bearer " + secret)) {
        JsonObject ready = socket.next();
        assertEquals("ready", ready.getString("type"), ready.encode());
        assertEquals("default", ready.getString("tenant"));
        socket.send(new JsonObject().put("type", "chat").put("id", "t1").put("model", "switchboard-simulator")
          .put("message", "hi"));
        socket.next(m -> "t1".equals(m.getString("id")) && "done".equals(m.getString("type")));
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Test
  @Order(5)
  void a_deployments_own_rpm_limit_is_exact_across_the_cluster_too() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(6);
    List<Future<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      NodeProcess node = nodes.get(i % 3);
      calls.add(pool.submit(() -> chat(node.baseUrl(), "yaml-cluster-key-0123456789", "sim-capped")));
    }
    int ok = 0;
    int limited = 0;
    for (Future<HttpResponse<String>> call : calls) {
      HttpResponse<String> response = call.get();
      if (response.statusCode() == 200) {
        ok++;
      } else if (response.statusCode() == 429 && code(response).equals("rate_limit_exceeded")) {
        limited++;
      }
    }
    pool.shutdown();
    assertEquals(10, ok, "the deployment's rpm_limit of 10, shared by three nodes");
    assertEquals(20, limited);
  }

  private static void awaitSpend(String id, double expected) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 5_000;
    double seen;
    do {
      seen = new JsonObject(admin("GET", keysUrl(nodes.get(2)) + "/" + id, null).body()).getDouble("spend");
      if (Math.abs(seen - expected) < 1e-9) {
        return;
      }
      Thread.sleep(20);
    } while (System.currentTimeMillis() < deadline);
    assertEquals(expected, seen, 1e-9, "spend of key " + id);
  }
}

package io.switchboard.governance;

import io.switchboard.testing.ChatSocket;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.stream.Stream;

import static io.switchboard.governance.AdminHttp.admin;
import static io.switchboard.governance.AdminHttp.chat;
import static io.switchboard.governance.AdminHttp.code;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keys, allow-lists, limits and budgets on one node with the embedded default (no Redis: everything in its memory),
 * through the public API and the admin API as a client and an operator use them.
 */
class GovernanceTest {
  static final String LIMITED = "yaml-key-limited-0123456789";
  static final String TOKENS = "yaml-key-tokens-0123456789";
  static final String NARROW = "yaml-key-narrow-0123456789";
  static final String CLOSED_SHOP = "yaml-key-closedshop-0123456789";
  static final String BUDGET = "yaml-key-budget-0123456789";
  static final String FREE = "yaml-key-free-0123456789";
  static final String WS = "yaml-key-socket-0123456789";
  static final String EMBED_RPM = "yaml-key-embed-rpm-0123456789";
  static final String EMBED_TPM = "yaml-key-embed-tpm-0123456789";

  private static final String CONFIG = """
    server:
      request_timeout_ms: 20000
    management:
      admin_token: admin-token-0123456789
    auth:
      enabled: true
      keys:
        - key: yaml-key-limited-0123456789
          tenant: acme
          key_alias: limited
          rpm_limit: 3
        - key: yaml-key-tokens-0123456789
          tenant: acme
          key_alias: tokens
          tpm_limit: 1000
        - key: yaml-key-narrow-0123456789
          tenant: acme
          models: [switchboard-simulator]
        - key: yaml-key-closedshop-0123456789
          tenant: closedshop
        - key: yaml-key-budget-0123456789
          tenant: acme
          key_alias: budget
          max_budget: 0.001
          budget_duration: 1h
        - key: yaml-key-free-0123456789
          tenant: acme
        - key: yaml-key-socket-0123456789
          tenant: acme
          rpm_limit: 1
        - key: yaml-key-embed-rpm-0123456789
          tenant: acme
          rpm_limit: 2
        - key: yaml-key-embed-tpm-0123456789
          tenant: acme
          tpm_limit: 60
    tenants:
      - name: closedshop
        models: [sim-b]
    simulator:
      ttft_ms: 2
      tokens_per_second: 0
      reply_tokens: 12
    model_list:
      - model_name: switchboard-simulator
        provider: simulator
        price: {input_per_million: 100, output_per_million: 100}
      - model_name: sim-b
        provider: simulator
      - model_name: sim-pair
        provider: simulator
        rpm_limit: 1
      - model_name: sim-pair
        provider: simulator
        rpm_limit: 3
      - model_name: sim-embed
        provider: simulator
        model_info: {mode: embedding}
    """;

  private static TestNode node;
  private static Vertx vertx;
  private static WebSocketClient sockets;

  @BeforeAll
  static void start() {
    node = TestNode.start(CONFIG);
    vertx = Vertx.vertx();
    sockets = vertx.createWebSocketClient();
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    vertx.close();
  }

  private static String header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  @Test
  void a_model_outside_the_keys_or_the_tenants_allow_list_is_403_and_not_listed() {
    HttpResponse<String> allowed = chat(node.baseUrl(), NARROW, "switchboard-simulator");
    assertEquals(200, allowed.statusCode(), allowed.body());
    HttpResponse<String> outside = chat(node.baseUrl(), NARROW, "sim-b");
    assertEquals(403, outside.statusCode(), outside.body());
    JsonObject error = new JsonObject(outside.body()).getJsonObject("error");
    assertEquals("model_not_allowed", error.getString("code"));
    assertEquals("invalid_request_error", error.getString("type"));
    assertEquals("model", error.getString("param"));

    HttpResponse<String> tenantOutside = chat(node.baseUrl(), CLOSED_SHOP, "switchboard-simulator");
    assertEquals(403, tenantOutside.statusCode(), tenantOutside.body());
    assertEquals("model_not_allowed", code(tenantOutside));
    assertEquals(200, chat(node.baseUrl(), CLOSED_SHOP, "sim-b").statusCode());

    List<String> listed = models(NARROW);
    assertEquals(List.of("switchboard-simulator"), listed);
    assertEquals(List.of("sim-b"), models(CLOSED_SHOP));
    assertTrue(models(FREE).containsAll(List.of("switchboard-simulator", "sim-b")));
    assertEquals(404, Http.get(node.baseUrl() + "/v1/models/sim-b", "authorization", "Bearer " + NARROW).statusCode());
  }

  private static List<String> models(String key) {
    HttpResponse<String> response = Http.get(node.baseUrl() + "/v1/models", "authorization", "Bearer " + key);
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body()).getJsonArray("data").stream()
      .map(m -> ((JsonObject) m).getString("id")).sorted().toList();
  }

  @Test
  void rate_limit_headers_count_down_on_every_answer_and_the_429_says_when_to_retry() {
    HttpResponse<String> first = chat(node.baseUrl(), LIMITED, "switchboard-simulator");
    assertEquals(200, first.statusCode(), first.body());
    assertEquals("3", header(first, "x-ratelimit-limit-requests"));
    assertEquals("2", header(first, "x-ratelimit-remaining-requests"));
    assertTrue(header(first, "x-ratelimit-reset-requests").matches("\\d+(\\.\\d+)?m?s|1m0s"),
      header(first, "x-ratelimit-reset-requests"));
    assertNull(header(first, "x-ratelimit-limit-tokens"), "no token limit applies to this key");

    HttpResponse<Stream<String>> streamed = Http.postLines(node.baseUrl() + "/v1/chat/completions",
      AdminHttp.chatBody("switchboard-simulator", true), "authorization", "Bearer " + LIMITED);
    assertEquals(200, streamed.statusCode());
    assertEquals("1", header(streamed, "x-ratelimit-remaining-requests"));
    List<String> events = Http.sseData(streamed);
    assertEquals("[DONE]", events.get(events.size() - 1));

    HttpResponse<String> third = chat(node.baseUrl(), LIMITED, "switchboard-simulator");
    assertEquals("0", header(third, "x-ratelimit-remaining-requests"));

    HttpResponse<String> refused = chat(node.baseUrl(), LIMITED, "switchboard-simulator");
    assertEquals(429, refused.statusCode(), refused.body());
    JsonObject error = new JsonObject(refused.body()).getJsonObject("error");
    assertEquals("rate_limit_exceeded", error.getString("code"));
    assertEquals("requests", error.getString("type"));
    assertTrue(error.getString("message").contains("key 'limited'"), error.getString("message"));
    long retryAfter = Long.parseLong(header(refused, "retry-after"));
    assertTrue(retryAfter >= 1 && retryAfter <= 60, "retry-after " + retryAfter);
    assertEquals("3", header(refused, "x-ratelimit-limit-requests"));
    assertEquals("0", header(refused, "x-ratelimit-remaining-requests"));

    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    assertTrue(AdminHttp.metric(metrics, "switchboard_limits_refused_total{reason=\"rpm\",tenant=\"acme\"}") >= 1,
      metrics.lines().filter(l -> l.contains("limits")).toList().toString());
  }

  @Test
  void tokens_reserved_at_admission_come_back_when_the_turn_settles_with_its_real_usage() {
    String body = new JsonObject().put("model", "switchboard-simulator").put("max_tokens", 300)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))).encode();
    long reserve = (2 + 4 + 3) / 4 + 300; // "hi": 2 bytes + 4 per message, /4 rounded up; + max_tokens
    HttpResponse<String> first = Http.post(node.baseUrl() + "/v1/chat/completions", body,
      "authorization", "Bearer " + TOKENS);
    assertEquals(200, first.statusCode(), first.body());
    assertEquals("1000", header(first, "x-ratelimit-limit-tokens"));
    assertEquals(String.valueOf(1000 - reserve), header(first, "x-ratelimit-remaining-tokens"));
    long used = new JsonObject(first.body()).getJsonObject("usage").getLong("total_tokens");
    assertTrue(used > 0 && used < reserve, "a short answer uses less than it reserved: " + used);

    HttpResponse<String> second = Http.post(node.baseUrl() + "/v1/chat/completions", body,
      "authorization", "Bearer " + TOKENS);
    assertEquals(200, second.statusCode(), second.body());
    // the first turn now counts its real tokens, not its reservation
    assertEquals(String.valueOf(1000 - used - reserve), header(second, "x-ratelimit-remaining-tokens"));

    String big = new JsonObject().put("model", "switchboard-simulator").put("max_tokens", 2000)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))).encode();
    HttpResponse<String> tooMany = Http.post(node.baseUrl() + "/v1/chat/completions", big,
      "authorization", "Bearer " + TOKENS);
    assertEquals(429, tooMany.statusCode(), tooMany.body());
    assertEquals("tokens", new JsonObject(tooMany.body()).getJsonObject("error").getString("type"));
    assertEquals("rate_limit_exceeded", code(tooMany));

    HttpResponse<String> info = Http.get(node.baseUrl() + "/v1/key/info", "authorization", "Bearer " + TOKENS);
    assertEquals(200, info.statusCode(), info.body());
    JsonObject json = new JsonObject(info.body());
    assertEquals("tokens", json.getString("key_alias"));
    assertEquals("acme", json.getString("tenant"));
    assertEquals(1000L, json.getJsonObject("limits").getLong("tpm_limit"));
    assertNull(json.getJsonObject("limits").getValue("rpm_limit"));
    long usedSecond = new JsonObject(second.body()).getJsonObject("usage").getLong("total_tokens");
    assertEquals(1000 - used - usedSecond, json.getJsonObject("remaining").getLong("tokens"));
  }

  @Test
  void a_budget_used_up_refuses_with_insufficient_quota_until_its_period_ends() {
    HttpResponse<String> first = chat(node.baseUrl(), BUDGET, "switchboard-simulator");
    assertEquals(200, first.statusCode(), first.body());
    JsonObject usage = new JsonObject(first.body()).getJsonObject("usage");
    double cost = usage.getLong("total_tokens") * 100 / 1e6; // 100 USD per million, in and out
    assertTrue(cost >= 0.001, "one turn costs more than the budget: " + cost);

    HttpResponse<String> info = Http.get(node.baseUrl() + "/v1/key/info", "authorization", "Bearer " + BUDGET);
    JsonObject spend = new JsonObject(info.body()).getJsonObject("spend");
    assertEquals(cost, spend.getDouble("cost_usd"), 1e-9);
    assertTrue(spend.getString("period_end").compareTo(spend.getString("period_start")) > 0);
    assertEquals(0.0, new JsonObject(info.body()).getJsonObject("remaining").getDouble("budget_usd"), 1e-12);

    HttpResponse<String> refused = chat(node.baseUrl(), BUDGET, "switchboard-simulator");
    assertEquals(429, refused.statusCode(), refused.body());
    JsonObject error = new JsonObject(refused.body()).getJsonObject("error");
    assertEquals("insufficient_quota", error.getString("code"));
    assertEquals("insufficient_quota", error.getString("type"));
    long retryAfter = Long.parseLong(header(refused, "retry-after"));
    assertTrue(retryAfter >= 1 && retryAfter <= 3600, "the 1h period ends within the hour: " + retryAfter);
    // sim-b has no price: the free model is refused too, the budget is the key's
    assertEquals(429, chat(node.baseUrl(), BUDGET, "sim-b").statusCode());
  }

  @Test
  void a_websocket_turn_over_its_limit_gets_the_usual_error_event() throws Exception {
    try (ChatSocket socket = ChatSocket.connect(sockets, node.apiPort, "authorization", "Bearer " + WS)) {
      assertEquals("ready", socket.next().getString("type"));
      socket.send(new JsonObject().put("type", "chat").put("id", "t1").put("model", "switchboard-simulator")
        .put("message", "hi"));
      socket.next(m -> "t1".equals(m.getString("id")) && "done".equals(m.getString("type")));
      socket.send(new JsonObject().put("type", "chat").put("id", "t2").put("model", "switchboard-simulator")
        .put("message", "hi"));
      JsonObject error = socket.next(m -> "error".equals(m.getString("type")));
      assertEquals("t2", error.getString("id"));
      assertEquals("rate_limit_exceeded", error.getJsonObject("error").getString("code"));
    }
  }

  @Test
  void the_admin_api_names_the_bad_field_and_says_404_for_an_unknown_key() {
    String keys = node.managementUrl() + "/admin/keys";
    HttpResponse<String> noToken = Http.get(keys);
    assertEquals(401, noToken.statusCode());
    for (JsonObject bad : List.of(new JsonObject().put("rpm_limit", -1), new JsonObject().put("rpm_limit", "many"),
      new JsonObject().put("budget_duration", "monthly"), new JsonObject().put("tenant", "a b"),
      new JsonObject().put("expires", "tomorrow"), new JsonObject().put("models", "gpt-4o"),
      new JsonObject().put("rpm_limt", 5))) {
      HttpResponse<String> refused = admin("POST", keys, bad);
      assertEquals(400, refused.statusCode(), bad + " → " + refused.body());
      assertEquals(bad.fieldNames().iterator().next(),
        new JsonObject(refused.body()).getJsonObject("error").getString("param"), refused.body());
    }
    assertEquals(404, admin("GET", keys + "/key_nothere", null).statusCode());
    assertEquals(404, admin("PATCH", keys + "/key_nothere", new JsonObject().put("rpm_limit", 1)).statusCode());
    assertEquals(404, admin("DELETE", keys + "/key_nothere", null).statusCode());

    // a key made here works at once; its secret is shown once
    HttpResponse<String> created = admin("POST", keys, new JsonObject().put("key_alias", "made-here")
      .put("models", new JsonArray().add("sim-b")).put("duration", "1h"));
    assertEquals(201, created.statusCode(), created.body());
    JsonObject key = new JsonObject(created.body());
    String secret = key.getString("key");
    assertTrue(secret.startsWith("sk-sb-") && secret.length() >= 6 + 64, secret.length() + " characters");
    assertEquals(200, chat(node.baseUrl(), secret, "sim-b").statusCode());
    assertEquals(403, chat(node.baseUrl(), secret, "switchboard-simulator").statusCode());
    long deadline = System.currentTimeMillis() + 5_000;
    boolean logged;
    do { // the spend log's rows carry the key that made the turn
      logged = admin("GET", node.managementUrl() + "/admin/usage?group_by=key", null).body()
        .contains("\"key\":\"" + key.getString("id") + "\"");
    } while (!logged && System.currentTimeMillis() < deadline);
    assertTrue(logged, "usage by key lists " + key.getString("id"));
    HttpResponse<String> one = admin("GET", keys + "/" + key.getString("id"), null);
    assertFalse(one.body().contains(secret), one.body());
    assertEquals("sk-sb-…" + secret.substring(secret.length() - 4),
      new JsonObject(one.body()).getString("key_hint"));

    // tenants: config ones are read-only here, admin ones come and go
    HttpResponse<String> tenants = admin("GET", node.managementUrl() + "/admin/tenants", null);
    assertTrue(tenants.body().contains("\"name\":\"closedshop\""), tenants.body());
    assertEquals(409, admin("DELETE", node.managementUrl() + "/admin/tenants/closedshop", null).statusCode());
    HttpResponse<String> put = admin("PUT", node.managementUrl() + "/admin/tenants/newco",
      new JsonObject().put("rpm_limit", 1).put("models", new JsonArray().add("sim-b")));
    assertEquals(200, put.statusCode(), put.body());
    assertEquals("admin", new JsonObject(put.body()).getString("source"));
    assertEquals(400, admin("PUT", node.managementUrl() + "/admin/tenants/newco",
      new JsonObject().put("tpm_limit", 1.5)).statusCode());
    HttpResponse<String> moved = admin("PATCH", keys + "/" + key.getString("id"), new JsonObject().put("tenant",
      "newco"));
    assertEquals(200, moved.statusCode(), moved.body());
    assertEquals(200, chat(node.baseUrl(), secret, "sim-b").statusCode());
    HttpResponse<String> tenantLimit = chat(node.baseUrl(), secret, "sim-b");
    assertEquals(429, tenantLimit.statusCode(), "the tenant's rpm_limit of 1 applies inside it");
    assertTrue(tenantLimit.body().contains("tenant 'newco'"), tenantLimit.body());
    assertEquals(200, admin("DELETE", node.managementUrl() + "/admin/tenants/newco", null).statusCode());
  }

  @Test
  void a_deployment_at_its_own_limit_is_skipped_and_when_all_are_the_turn_is_429() {
    java.util.Map<String, Integer> served = new java.util.TreeMap<>();
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> answer = chat(node.baseUrl(), FREE, "sim-pair");
      assertEquals(200, answer.statusCode(), answer.body());
      served.merge(header(answer, "x-switchboard-deployment"), 1, Integer::sum);
    }
    // weighted round robin alternates; once sim-pair.0 is at its limit, its turns go to sim-pair.1
    assertEquals(java.util.Map.of("sim-pair.0", 1, "sim-pair.1", 3), served);
    HttpResponse<String> full = chat(node.baseUrl(), FREE, "sim-pair");
    assertEquals(429, full.statusCode(), full.body());
    assertEquals("rate_limit_exceeded", code(full));
    assertTrue(Long.parseLong(header(full, "retry-after")) >= 1);
  }

  @Test
  void a_sockjs_client_signs_in_with_an_admin_key_and_hears_its_refusal_as_an_error_event() throws Exception {
    HttpResponse<String> created = admin("POST", node.managementUrl() + "/admin/keys",
      new JsonObject().put("key_alias", "bridge").put("rpm_limit", 1));
    String secret = new JsonObject(created.body()).getString("key");
    java.util.concurrent.BlockingQueue<JsonObject> heard = new java.util.concurrent.LinkedBlockingQueue<>();
    io.vertx.core.http.WebSocket socket = sockets.connect(node.apiPort, "127.0.0.1", "/eventbus/websocket")
      .toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    socket.handler(data -> heard.add(new JsonObject(data.toString()))); // raw SockJS may write binary frames
    try {
      socket.writeTextMessage(new JsonObject().put("type", "send").put("address", "switchboard.client.auth")
        .put("headers", new JsonObject().put("authorization", "Bearer sk-sb-not-a-key")).put("replyAddress", "a0")
        .put("body", new JsonObject()).encode());
      assertEquals("err", poll(heard).getString("type"), "an unknown key is refused");
      socket.writeTextMessage(new JsonObject().put("type", "send").put("address", "switchboard.client.auth")
        .put("headers", new JsonObject().put("authorization", "Bearer " + secret)).put("replyAddress", "a1")
        .put("body", new JsonObject()).encode());
      JsonObject signedIn = poll(heard);
      assertEquals("a1", signedIn.getString("address"), signedIn.encode());
      String stream = signedIn.getJsonObject("body").getString("stream_address");
      socket.writeTextMessage(new JsonObject().put("type", "register").put("address", stream).encode());
      for (String reply : List.of("c1", "c2")) {
        socket.writeTextMessage(new JsonObject().put("type", "send").put("address", "switchboard.client.chat")
          .put("replyAddress", reply).put("body", new JsonObject().put("model", "switchboard-simulator")
            .put("message", "hi")).encode());
        JsonObject event;
        do {
          event = poll(heard);
        } while (!stream.equals(event.getString("address")) || "delta".equals(event.getJsonObject("body")
          .getString("type")));
        if (reply.equals("c1")) {
          assertEquals("done", event.getJsonObject("body").getString("type"), event.encode());
        } else {
          assertEquals("error", event.getJsonObject("body").getString("type"), event.encode());
          assertEquals("rate_limit_exceeded", event.getJsonObject("body").getJsonObject("error").getString("code"));
        }
      }
    } finally {
      socket.close();
    }
  }

  private static JsonObject poll(java.util.concurrent.BlockingQueue<JsonObject> queue) throws InterruptedException {
    JsonObject message = queue.poll(10, java.util.concurrent.TimeUnit.SECONDS);
    if (message == null) {
      throw new AssertionError("nothing heard within 10 s");
    }
    return message;
  }

  @Test
  void an_expired_key_is_refused() throws Exception {
    java.time.Instant soon = java.time.Instant.now().plusMillis(1_500);
    HttpResponse<String> created = admin("POST", node.managementUrl() + "/admin/keys",
      new JsonObject().put("key_alias", "short-lived").put("expires", soon.toString()));
    assertEquals(201, created.statusCode(), created.body());
    String secret = new JsonObject(created.body()).getString("key");
    assertEquals(200, chat(node.baseUrl(), secret, "switchboard-simulator").statusCode());
    Thread.sleep(Math.max(0, soon.toEpochMilli() - System.currentTimeMillis()) + 50);
    HttpResponse<String> expired = chat(node.baseUrl(), secret, "switchboard-simulator");
    assertEquals(401, expired.statusCode(), expired.body());
    assertEquals("invalid_api_key", code(expired));
  }

  @Test
  void a_socket_signed_in_with_a_key_that_is_then_revoked_has_its_next_turn_refused() throws Exception {
    JsonObject key = new JsonObject(admin("POST", node.managementUrl() + "/admin/keys",
      new JsonObject().put("key_alias", "socket")).body());
    try (ChatSocket socket = ChatSocket.connect(sockets, node.apiPort)) {
      socket.send(new JsonObject().put("type", "auth").put("api_key", key.getString("key")));
      assertEquals("ready", socket.next().getString("type"));
      socket.send(new JsonObject().put("type", "chat").put("id", "t1").put("model", "switchboard-simulator")
        .put("message", "hi"));
      socket.next(m -> "t1".equals(m.getString("id")) && "done".equals(m.getString("type")));
      assertEquals(200, admin("DELETE", node.managementUrl() + "/admin/keys/" + key.getString("id"), null)
        .statusCode());
      socket.send(new JsonObject().put("type", "chat").put("id", "t2").put("model", "switchboard-simulator")
        .put("message", "hi"));
      JsonObject error = socket.next(m -> "error".equals(m.getString("type")));
      assertEquals("invalid_api_key", error.getJsonObject("error").getString("code"));
    }
  }

  private static HttpResponse<String> embed(String key, String input) {
    return Http.post(node.baseUrl() + "/v1/embeddings", new JsonObject().put("model", "sim-embed")
      .put("input", input).encode(), "authorization", "Bearer " + key, "content-type", "application/json");
  }

  @Test
  void embeddings_are_admitted_like_turns_requests_and_tokens_counted() {
    HttpResponse<String> first = embed(EMBED_RPM, "one");
    assertEquals(200, first.statusCode(), first.body());
    assertEquals("2", header(first, "x-ratelimit-limit-requests"));
    assertEquals("1", header(first, "x-ratelimit-remaining-requests"));
    assertEquals(200, embed(EMBED_RPM, "two").statusCode());
    HttpResponse<String> third = embed(EMBED_RPM, "three");
    assertEquals(429, third.statusCode(), third.body());
    assertEquals("rate_limit_exceeded", code(third));
    assertTrue(header(third, "retry-after") != null, "says when to come back");

    // 60 tokens a minute: an input estimated at ~100 tokens does not fit; short ones do, settled at their real count
    HttpResponse<String> big = embed(EMBED_TPM, "x".repeat(400));
    assertEquals(429, big.statusCode(), big.body());
    assertEquals("tokens", new JsonObject(big.body()).getJsonObject("error").getString("type"));
    HttpResponse<String> small = embed(EMBED_TPM, "a few words");
    assertEquals(200, small.statusCode(), small.body());
    int used = new JsonObject(small.body()).getJsonObject("usage").getInteger("prompt_tokens");
    HttpResponse<String> next = embed(EMBED_TPM, "a few words");
    assertEquals(200, next.statusCode(), next.body());
    assertEquals(60 - used - (int) Governance.textTokens("a few words"),
      Integer.parseInt(header(next, "x-ratelimit-remaining-tokens")),
      "the first call settled at its real count; the second is still counted at its estimate");
  }
}

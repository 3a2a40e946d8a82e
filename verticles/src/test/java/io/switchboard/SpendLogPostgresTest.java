package io.switchboard;

import io.switchboard.governance.UsageLedger;
import io.switchboard.testing.FakeOpenAi;
import io.switchboard.testing.Http;
import io.switchboard.testing.PostgresServer;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The spend log in a real PostgreSQL, started by the test: every turn through the gateway is a row with its tokens
 * and cost; with the database stopped the turns go on and their rows arrive once it is back; a clean stop of the
 * node writes every row it held; {@code /admin/usage} sums the table.
 */
class SpendLogPostgresTest {
  private static final String ADMIN = "admin-token-0123456789";
  private static final String CHAT = "/v1/chat/completions";
  /** 800 uncached x $2 + 200 cached x $0.50 + 500 out x $8 per million = $0.0057 a turn. */
  private static final double TURN_COST = 0.0057;
  private static PostgresServer postgres;
  private static String gatewayUrl;
  private static FakeOpenAi upstream;
  private static TestNode node;

  static String config(String upstreamUrl, String postgresUrl, String spendLog) {
    return """
      server:
        request_timeout_ms: 20000
      management: {admin_token: %s}
      auth:
        enabled: true
        keys:
          - {key: %s, tenant: acme}
          - {key: %s, tenant: globex}
      model_list:
        - model_name: gpt-priced
          id: priced-0
          provider: openai
          api_base: "%s"
          api_key: sk-upstream-key-0001
          price: {input_per_million: 2, output_per_million: 8, cached_input_per_million: 0.5}
        - {model_name: gpt-cached, id: cached-0, provider: openai, api_base: "%s", api_key: sk-upstream-key-0001}
        - {model_name: sim-broken, provider: simulator, simulator: {error_rate: 1}, circuit_breaker: {max_failures: 1000}}
      routes:
        - {model_name: gpt-cached, cache: {ttl_seconds: 600}}
        - {model_name: sim-broken, num_retries: 0}
      cache: {store: local}
      spend_log: {store: postgres, postgres_url: "%s", %s}
      """.formatted(ADMIN, TestConfigs.ACME_KEY, TestConfigs.GLOBEX_KEY, upstreamUrl, upstreamUrl, postgresUrl,
      spendLog);
  }

  @BeforeAll
  static void start() throws Exception {
    postgres = PostgresServer.launch();
    // the gateway signs in as a user of its own with a password (SCRAM), not as the trusted superuser
    gatewayUrl = postgres.addUser("switchboard", "spend-pass-0123");
    upstream = new FakeOpenAi();
    upstream.usage = UsageLedger.usage(1000, 200, 500, 64);
    node = TestNode.start(config(upstream.baseUrl(), gatewayUrl, "batch_size: 50, flush_millis: 100"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    upstream.close();
    postgres.close();
  }

  private static HttpResponse<String> ask(TestNode at, String key, String requestId, String model, String text,
                                          boolean stream) {
    String body = new JsonObject().put("model", model).put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
    return Http.post(at.baseUrl() + CHAT, body, "authorization", "Bearer " + key, "x-request-id", requestId);
  }

  /** The rows whose request id starts with {@code prefix}, by request id. */
  private static List<Map<String, Object>> rows(String prefix) {
    try (Connection c = postgres.dataSource().getConnection();
         PreparedStatement st = c.prepareStatement("SELECT request_id, key_id, tenant, model, deployment, "
           + "prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, status, "
           + "cache_hit, refusal FROM switchboard_spend WHERE request_id LIKE ? ORDER BY request_id")) {
      st.setString(1, prefix + "%");
      List<Map<String, Object>> rows = new ArrayList<>();
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          Map<String, Object> row = new java.util.HashMap<>();
          for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
            row.put(rs.getMetaData().getColumnName(i), rs.getObject(i));
          }
          rows.add(row);
        }
      }
      return rows;
    } catch (SQLException e) {
      if ("42P01".equals(e.getSQLState())) {
        return List.of(); // the table is not made yet
      }
      throw new AssertionError(e);
    }
  }

  private static List<Map<String, Object>> awaitRows(String prefix, int count) {
    UsageLedger.await(() -> rows(prefix).size() >= count);
    List<Map<String, Object>> rows = rows(prefix);
    assertEquals(count, rows.size(), "one row per turn, no more");
    return rows;
  }

  private static double metric(TestNode at, String name) {
    String metrics = Http.get(at.managementUrl() + "/metrics").body();
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " ([0-9.eE+-]+)$").matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  @Test
  void every_turn_is_a_row_with_its_tokens_and_its_cost() {
    for (int i = 0; i < 3; i++) {
      assertEquals(200, ask(node, TestConfigs.ACME_KEY, "rows-whole-" + i, "gpt-priced", "hello " + i, false)
        .statusCode());
    }
    for (int i = 0; i < 2; i++) {
      assertEquals(200, ask(node, TestConfigs.GLOBEX_KEY, "rows-stream-" + i, "gpt-priced", "hi " + i, true)
        .statusCode());
    }
    int failed = ask(node, TestConfigs.ACME_KEY, "rows-x-broken", "sim-broken", "fail", false).statusCode();
    assertTrue(failed >= 500, "the simulator fails every call: " + failed);
    List<Map<String, Object>> rows = awaitRows("rows-", 6);
    for (Map<String, Object> row : rows.subList(0, 5)) {
      assertEquals(row.get("request_id").toString().startsWith("rows-stream") ? "globex" : "acme", row.get("tenant"));
      assertEquals("gpt-priced", row.get("model"));
      assertEquals("priced-0", row.get("deployment"));
      assertEquals(1000, row.get("prompt_tokens"));
      assertEquals(500, row.get("completion_tokens"));
      assertEquals(200, row.get("cached_tokens"));
      assertEquals(64, row.get("reasoning_tokens"));
      assertEquals(TURN_COST, (Double) row.get("cost_usd"), 1e-12);
      assertEquals(200, row.get("status"));
      assertEquals(false, row.get("cache_hit"));
      assertTrue((Integer) row.get("latency_ms") >= 0);
    }
    Map<String, Object> broken = rows.get(5);
    assertEquals("sim-broken", broken.get("model"));
    assertEquals(failed, broken.get("status"), "the status the client was told");
    assertNull(broken.get("deployment"));
    assertEquals(0, broken.get("prompt_tokens"));
    assertEquals(0.0, broken.get("cost_usd"));

    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    assertTrue(metrics.contains("switchboard_tokens_total{kind=\"cached\",model=\"gpt-priced\",tenant=\"globex\"} "
      + "400.0"), metrics);
    assertTrue(metrics.contains("switchboard_tokens_total{kind=\"reasoning\",model=\"gpt-priced\",tenant=\"globex\"} "
      + "128.0"), metrics);
    assertTrue(metrics.contains("switchboard_spend_usd_total{model=\"gpt-priced\",tenant=\"globex\"} 0.0114"), metrics);
    assertTrue(metric(node, "switchboard_spend_log_rows_total") >= 6);
    assertTrue(metric(node, "switchboard_spend_log_batches_total") >= 1);
  }

  @Test
  void a_cache_hit_is_a_row_marked_as_a_hit_with_no_tokens_and_no_cost() {
    assertEquals("miss", ask(node, TestConfigs.ACME_KEY, "hit-1", "gpt-cached", "cache me", false).headers()
      .firstValue("x-switchboard-cache").orElseThrow());
    assertEquals("hit", ask(node, TestConfigs.ACME_KEY, "hit-2", "gpt-cached", "cache me", false).headers()
      .firstValue("x-switchboard-cache").orElseThrow());
    List<Map<String, Object>> rows = awaitRows("hit-", 2);
    assertEquals(false, rows.get(0).get("cache_hit"));
    assertEquals(1000, rows.get(0).get("prompt_tokens"));
    assertEquals("cached-0", rows.get(0).get("deployment"));
    assertEquals(true, rows.get(1).get("cache_hit"));
    assertEquals(0, rows.get(1).get("prompt_tokens"));
    assertEquals(0, rows.get(1).get("completion_tokens"));
    assertEquals(0.0, rows.get(1).get("cost_usd"));
    assertNull(rows.get(1).get("deployment"), "no deployment was called");
  }

  @Test
  void with_postgres_stopped_turns_go_on_and_their_rows_arrive_once_it_is_back() {
    awaitRows("down-none", 0);
    double failuresBefore = metric(node, "switchboard_spend_log_write_failures_total");
    postgres.stop();
    try {
      for (int i = 0; i < 10; i++) {
        long started = System.nanoTime();
        assertEquals(200, ask(node, TestConfigs.ACME_KEY, "down-" + i, "gpt-priced", "while down " + i, i % 2 == 0)
          .statusCode());
        assertTrue(System.nanoTime() - started < 2_000_000_000L, "a turn does not wait for the spend log");
      }
      UsageLedger.await(() -> metric(node, "switchboard_spend_log_write_failures_total") > failuresBefore);
      assertTrue(metric(node, "switchboard_spend_log_queued") >= 10, "the rows wait");
    } finally {
      postgres.start();
    }
    List<Map<String, Object>> rows = awaitRows("down-", 10);
    assertEquals(TURN_COST, (Double) rows.get(9).get("cost_usd"), 1e-12);
    UsageLedger.await(() -> metric(node, "switchboard_spend_log_queued") == 0);
    assertEquals(0, metric(node, "switchboard_spend_log_dropped_total"));
  }

  @Test
  void a_clean_stop_writes_every_row_the_node_held() throws Exception {
    // nothing is written before the stop: batches of 10,000, flushed once a minute
    TestNode held = TestNode.start(config(upstream.baseUrl(), gatewayUrl, "batch_size: 10000, flush_millis: 60000"));
    java.util.concurrent.CompletableFuture<HttpResponse<String>> inFlight;
    try {
      for (int i = 0; i < 25; i++) {
        assertEquals(200, ask(held, TestConfigs.GLOBEX_KEY, "stop-" + (100 + i), "gpt-priced", "before stop " + i,
          i % 3 == 0).statusCode());
      }
      assertEquals(25, metric(held, "switchboard_spend_log_queued"));
      assertTrue(rows("stop-").isEmpty(), "still held");
      // one more turn, still waiting for its answer when the stop begins: the node drains it, then writes its row
      upstream.delayMillis = 1_500;
      inFlight = java.util.concurrent.CompletableFuture.supplyAsync(() -> ask(held, TestConfigs.GLOBEX_KEY,
        "stop-200", "gpt-priced", "the last one", false));
      UsageLedger.await(() -> upstream.calls("the last one") == 1);
    } finally {
      held.close();
      upstream.delayMillis = 0;
    }
    assertEquals(200, inFlight.get(10, java.util.concurrent.TimeUnit.SECONDS).statusCode());
    List<Map<String, Object>> rows = rows("stop-");
    assertEquals(26, rows.size(), "every row written by the time the node has stopped");
    assertEquals("stop-100", rows.get(0).get("request_id"));
    assertEquals("stop-124", rows.get(24).get("request_id"));
    assertEquals("stop-200", rows.get(25).get("request_id"));
    assertEquals(TURN_COST, (Double) rows.get(25).get("cost_usd"), 1e-12);
  }

  @Test
  void admin_usage_sums_the_table_by_day_key_model_and_tenant() {
    UsageLedger.record(node.node().spend());
    UsageLedger.check(node.managementUrl(), ADMIN);
    JsonObject answer = UsageLedger.get(node.managementUrl(), ADMIN, "tenant=ledger&from=2025-01-01&to=2025-01-03");
    assertEquals("postgres", answer.getString("source"));
    assertFalse(answer.containsKey("note"));
    UsageLedger.checkRefusals(node.managementUrl(), ADMIN);
  }

  @Test
  void a_node_whose_database_is_not_there_starts_and_answers() throws Exception {
    String nowhere = "postgresql://postgres:unused@127.0.0.1:" + io.switchboard.testing.FreePorts.next() + "/postgres";
    long started = System.nanoTime();
    TestNode orphan = TestNode.start(config(upstream.baseUrl(), nowhere, "batch_size: 10, flush_millis: 50"));
    try {
      assertTrue(System.nanoTime() - started < 20_000_000_000L, "the start does not wait for the database");
      assertEquals(200, ask(orphan, TestConfigs.ACME_KEY, "orphan-1", "gpt-priced", "anyone there?", false)
        .statusCode());
      UsageLedger.await(() -> metric(orphan, "switchboard_spend_log_write_failures_total") > 0);
      assertEquals(1, metric(orphan, "switchboard_spend_log_queued"), "kept for when it comes");
      assertEquals(503, Http.get(orphan.managementUrl() + "/admin/usage", "authorization", "Bearer " + ADMIN)
        .statusCode(), "usage cannot be read");
    } finally {
      orphan.close(); // gives up on the row after the shutdown deadline, and says so
    }
  }

  @Test
  void text_postgres_cannot_hold_does_not_hold_up_the_log() {
    node.node().spend().record(new io.switchboard.governance.TurnRecord(java.time.Instant.now(), "nul-1", "key_1",
      "al\u0000ias", "acme", "gpt-priced", null, null, 0, 1, 200, false, null));
    assertEquals(200, ask(node, TestConfigs.ACME_KEY, "nul-2", "gpt-priced", "after it", false).statusCode());
    awaitRows("nul-", 2);
    try (Connection c = postgres.dataSource().getConnection();
         PreparedStatement st = c.prepareStatement("SELECT key_alias FROM switchboard_spend WHERE request_id = 'nul-1'");
         ResultSet rs = st.executeQuery()) {
      assertTrue(rs.next());
      assertEquals("alias", rs.getString(1), "NUL, which PostgreSQL's text refuses, left out");
    } catch (SQLException e) {
      throw new AssertionError(e);
    }
  }
}

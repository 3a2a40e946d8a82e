package io.switchboard;

import io.switchboard.governance.UsageLedger;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The embedded default: the spend log is a bounded ring in the node's memory, and {@code /admin/usage} says it
 * answers for this node only. Tokens are counted in metrics per configured tenant and model.
 */
class SpendLogMemoryTest {
  private static final String ADMIN = "admin-token-0123456789";
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = TestNode.start("""
      management: {admin_token: %s}
      auth:
        enabled: true
        keys:
          - {key: %s, tenant: acme}
      simulator: {ttft_ms: 1, tokens_per_second: 0, reply_tokens: 7}
      model_list:
        - {model_name: sim, provider: simulator}
        - {model_name: sim-slow, provider: simulator, simulator: {tokens_per_second: 4, reply_tokens: 40}}
      spend_log: {max_memory_rows: 10}
      """.formatted(ADMIN, TestConfigs.ACME_KEY));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static HttpResponse<String> ask(String model, String text) {
    String body = new JsonObject().put("model", model)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
    return Http.post(node.baseUrl() + "/v1/chat/completions", body, "authorization", "Bearer " + TestConfigs.ACME_KEY);
  }

  @Test
  void the_memory_log_keeps_the_last_rows_only_and_says_it_is_this_nodes() {
    int completion = 0;
    for (int i = 0; i < 12; i++) {
      HttpResponse<String> answer = ask("sim", "question " + i);
      assertEquals(200, answer.statusCode(), answer.body());
      completion += new JsonObject(answer.body()).getJsonObject("usage").getInteger("completion_tokens");
    }
    assertEquals(84, completion, "7 tokens a reply");
    JsonObject usage = UsageLedger.get(node.managementUrl(), ADMIN, "model=sim&group_by=model");
    assertEquals("memory", usage.getString("source"));
    assertTrue(usage.getString("note").contains("this node's turns only"), usage.encode());
    JsonArray data = usage.getJsonArray("data");
    assertEquals(1, data.size(), data.encode());
    assertEquals(10, data.getJsonObject(0).getLong("requests"), "max_memory_rows: 10 keeps the last 10");
    assertEquals(70, data.getJsonObject(0).getLong("completion_tokens"));

    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    assertTrue(metrics.contains("switchboard_tokens_total{kind=\"completion\",model=\"sim\",tenant=\"acme\"} 84.0"),
      "the metric counts every turn, the ring only holds the last ones: " + metrics);
  }

  @Test
  void a_stream_the_client_leaves_is_a_cancelled_row() throws Exception {
    String body = new JsonObject().put("model", "sim-slow").put("stream", true).put("messages",
      new JsonArray().add(new JsonObject().put("role", "user").put("content", "leave me"))).encode();
    try (Socket socket = new Socket("127.0.0.1", node.apiPort)) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer " + TestConfigs.ACME_KEY
        + "\r\nx-request-id: leaver-1\r\ncontent-type: application/json\r\ncontent-length: "
        + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] first = new byte[512];
      assertTrue(in.read(first) > 0, "the stream started");
    }
    UsageLedger.await(() -> !UsageLedger.data(node.managementUrl(), ADMIN, "model=sim-slow").isEmpty());
    JsonObject row = UsageLedger.data(node.managementUrl(), ADMIN, "model=sim-slow&group_by=model").getJsonObject(0);
    assertEquals(1, row.getLong("requests"));
    assertEquals(1, row.getLong("errors"), "cancelled (499): " + row.encode());
  }

  @Test
  void admin_usage_sums_the_memory_log_as_it_would_the_table() throws Exception {
    try (TestNode roomy = TestNode.start("""
      management: {admin_token: %s}
      model_list:
        - {model_name: sim, provider: simulator}
      """.formatted(ADMIN))) {
      UsageLedger.record(roomy.node().spend());
      UsageLedger.check(roomy.managementUrl(), ADMIN);
      UsageLedger.checkRefusals(roomy.managementUrl(), ADMIN);
    }
  }
}

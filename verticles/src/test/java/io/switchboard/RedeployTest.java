package io.switchboard;

import io.switchboard.testing.ConstantLoad;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each of the five verticles redeployed under constant JSON, SSE and WebSocket load: nothing fails, nothing breaks. */
@Timeout(240)
class RedeployTest {
  private static final Logger LOG = LoggerFactory.getLogger(RedeployTest.class);
  private static final String ADMIN = "redeploy-admin-token-0123";
  private static final String[] AUTH = {"authorization", "Bearer " + ADMIN};
  private static final String YAML = """
    management:
      admin_token: %s
    simulator:
      ttft_ms: 5
      tokens_per_second: 100
      reply_tokens: 20
    model_list:
      - model_name: chat
        provider: simulator
    """.formatted(ADMIN);

  @Test
  void everyVerticleIsRedeployedWithoutAFailedTurn() throws Exception {
    try (TestNode node = TestNode.start(YAML, Map.of());
         ConstantLoad load = new ConstantLoad(node.apiPort, "chat", true).start(2, 2, 2)) {
      load.awaitTurns(20, 30_000);
      for (String verticle : List.of("session", "routing", "inference-proxy", "connection", "monitoring")) {
        HttpResponse<String> answer = Http.post(node.managementUrl() + "/admin/verticles/" + verticle + "/redeploy",
          "", AUTH);
        assertEquals(200, answer.statusCode(), verticle + ": " + answer.body());
        assertEquals(verticle, new JsonObject(answer.body()).getString("verticle"));
        load.awaitTurns(10, 30_000); // traffic goes on through the new instances
      }
      awaitReady(node);
      List<ConstantLoad.Turn> turns = load.stop();
      List<ConstantLoad.Turn> failed = turns.stream().filter(t -> !t.ok()).toList();
      LOG.info("redeploy of all five verticles: {} turns ({} JSON, {} SSE, {} WebSocket), {} failed, {} WebSocket "
          + "reconnects after 1012", turns.size(), count(turns, "json"), count(turns, "sse"), count(turns, "ws"),
        failed.size(), load.reconnects());
      assertEquals(List.of(), failed, "failed or broken turns");
      assertTrue(count(turns, "ws") > 0 && count(turns, "sse") > 0 && count(turns, "json") > 0);
      assertTrue(load.reconnects() >= 1, "the sockets of the old connection verticle were closed with 1012");
      // the new instances' meters are the ones read: breakers show up again
      JsonObject routes = new JsonObject(Http.get(node.managementUrl() + "/admin/routes", AUTH).body());
      assertEquals("closed", routes.getJsonObject("models").getJsonObject("chat").getJsonArray("deployments")
        .getJsonObject(0).getString("breaker"), routes.encode());
    }
  }

  @Test
  void anUnknownVerticleIsNotFound() throws Exception {
    try (TestNode node = TestNode.start(YAML, Map.of())) {
      assertEquals(404, Http.post(node.managementUrl() + "/admin/verticles/nothing/redeploy", "", AUTH).statusCode());
      assertEquals(401, Http.post(node.managementUrl() + "/admin/verticles/routing/redeploy", "").statusCode());
    }
  }

  private static long count(List<ConstantLoad.Turn> turns, String kind) {
    return turns.stream().filter(t -> t.kind().equals(kind)).count();
  }

  private static void awaitReady(TestNode node) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 10_000;
    while (System.currentTimeMillis() < deadline) {
      try {
        if (Http.get(node.managementUrl() + "/ready").statusCode() == 200) {
          return;
        }
      } catch (RuntimeException notYet) {
        // the new monitoring verticle is taking over the port
      }
      Thread.sleep(100);
    }
    throw new AssertionError("/ready not 200 after the redeploys");
  }
}

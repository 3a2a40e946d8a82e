package io.switchboard.inference;

import io.switchboard.governance.UsageLedger;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A Claude turn is priced from the bundled table by its upstream model, with Anthropic's prompt-cache reads counted
 * as cached tokens (the gateway hands on Anthropic's usage in OpenAI's shape).
 */
class AnthropicSpendTest {
  private static final String ADMIN = "admin-token-0123456789";

  @Test
  void a_claude_turn_reading_its_prompt_cache_costs_the_cached_price_for_those_tokens() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (FakeAnthropic anthropic = FakeAnthropic.start(vertx);
         TestNode node = TestNode.start("""
           management: {admin_token: %s}
           model_list:
             - model_name: claude
               provider: anthropic
               api_base: %s
               api_key: sk-ant-test-key-000000001
               upstream_model: claude-sonnet-4-20250514
           """.formatted(ADMIN, anthropic.baseUrl()))) {
      // (the fake reads its prompt cache on a turn with tools)
      String body = new JsonObject().put("model", "claude").put("messages", new JsonArray()
          .add(new JsonObject().put("role", "user").put("content", "Weather? " + FakeAnthropic.CACHED)))
        .put("tools", new JsonArray().add(new JsonObject().put("type", "function").put("function", new JsonObject()
          .put("name", "get_weather").put("parameters", new JsonObject().put("type", "object"))))).encode();
      assertEquals(200, Http.post(node.baseUrl() + "/v1/chat/completions", body).statusCode());
      JsonObject row = UsageLedger.data(node.managementUrl(), ADMIN, "group_by=model").getJsonObject(0);
      // Anthropic said input 30, cache read 1,800, cache write 200, output 15: prompt 2,030 of which 1,800 cached
      assertEquals(2030, row.getLong("prompt_tokens"));
      assertEquals(1800, row.getLong("cached_tokens"));
      assertEquals(15, row.getLong("completion_tokens"));
      // claude-sonnet-4 at $3 in, $0.30 cache read, $15 out: 230 x 3 + 1,800 x 0.3 + 15 x 15 = 690 + 540 + 225
      assertEquals(0.001455, row.getDouble("cost_usd"), 1e-12);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}

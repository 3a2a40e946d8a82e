package io.switchboard;

import io.switchboard.config.ConfigException;
import io.switchboard.config.ConfigLoader;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Route rules send a turn where it fits — a long prompt to the long-context pool, images to the vision pool, tools
 * to the tool-capable one, a tenant to its own — before the strategy chooses; the answer says which deployment
 * served it ({@code x-switchboard-deployment}).
 */
class RouteRulesTest {
  private static final String DEPLOYMENTS = """
    simulator:
      ttft_ms: 1
      tokens_per_second: 0
      reply_tokens: 4
    auth:
      enabled: true
      keys:
        - {key: sk-acme-0123456789abcdef, tenant: acme}
        - {key: sk-other-0123456789abcdef, tenant: other}
    model_list:
      - {model_name: chat, id: chat-small, provider: simulator, weight: 10}
      - {model_name: chat, id: chat-long, provider: simulator}
      - {model_name: chat, id: chat-vision, provider: simulator}
      - {model_name: chat, id: chat-tools, provider: simulator}
      - {model_name: chat, id: chat-acme, provider: simulator}
      - {model_name: chat, id: chat-gpu, provider: simulator}
    """;
  private static final String CONFIG = DEPLOYMENTS + """
    routes:
      - model_name: chat
        rules:
          - when: {header: {X-Pool: gpu}}
            deployments: [chat-gpu]
          - when: {prompt_tokens_over: 1000}
            deployments: [chat-long]
          - when: {images: true}
            deployments: [chat-vision]
          - when: {tools: true}
            deployments: [chat-tools]
          - when: {tenant: acme}
            deployments: [chat-acme, chat-small]
          - when: {images: false, tools: false}
            deployments: [chat-small]
    """;
  private static TestNode node;
  private static String url;

  @BeforeAll
  static void start() {
    node = TestNode.start(CONFIG);
    url = node.baseUrl() + "/v1/chat/completions";
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static JsonObject chat(Object content) {
    return new JsonObject().put("model", "chat")
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", content)));
  }

  /** The deployments that served ten such turns. */
  private static Set<String> servedBy(JsonObject body, String key, String... headers) {
    Set<String> served = new HashSet<>();
    String[] all = new String[headers.length + 2];
    all[0] = "authorization";
    all[1] = "Bearer " + key;
    System.arraycopy(headers, 0, all, 2, headers.length);
    for (int i = 0; i < 10; i++) {
      HttpResponse<String> response = Http.post(url, body.encode(), all);
      assertEquals(200, response.statusCode(), response.body());
      served.add(response.headers().firstValue("x-switchboard-deployment").orElse("?"));
    }
    return served;
  }

  @Test
  void a_long_prompt_goes_to_the_long_context_deployment() {
    assertEquals(Set.of("chat-long"), servedBy(chat("word ".repeat(1200)), "sk-other-0123456789abcdef"));
  }

  @Test
  void an_image_goes_to_the_vision_deployment() {
    JsonArray parts = new JsonArray().add(new JsonObject().put("type", "text").put("text", "what is this?"))
      .add(new JsonObject().put("type", "image_url").put("image_url",
        new JsonObject().put("url", "data:image/png;base64,iVBORw0KGgo=")));
    assertEquals(Set.of("chat-vision"), servedBy(chat(parts), "sk-other-0123456789abcdef"));
  }

  @Test
  void tools_go_to_the_tool_capable_deployment() {
    JsonObject body = chat("weather in Paris?").put("tools", new JsonArray().add(new JsonObject()
      .put("type", "function").put("function", new JsonObject().put("name", "get_weather")
        .put("parameters", new JsonObject().put("type", "object")))));
    assertEquals(Set.of("chat-tools"), servedBy(body, "sk-other-0123456789abcdef"));
  }

  @Test
  void a_tenant_with_a_pool_of_its_own_is_served_there_and_the_strategy_chooses_within_it() {
    Set<String> served = servedBy(chat("hello"), "sk-acme-0123456789abcdef");
    assertTrue(Set.of("chat-acme", "chat-small").containsAll(served), served.toString());
  }

  @Test
  void a_request_header_picks_a_dedicated_pool_and_another_value_does_not() {
    assertEquals(Set.of("chat-gpu"), servedBy(chat("hello"), "sk-other-0123456789abcdef", "x-pool", "gpu"));
    assertEquals(Set.of("chat-small"), servedBy(chat("hello"), "sk-other-0123456789abcdef", "x-pool", "cpu"));
  }

  @Test
  void a_plain_turn_meets_the_last_rule() {
    assertEquals(Set.of("chat-small"), servedBy(chat("hello"), "sk-other-0123456789abcdef"));
  }

  private static String error(String routes) {
    return assertThrows(ConfigException.class, () -> ConfigLoader.parse("test.yaml", DEPLOYMENTS + routes,
      Map.of())).getMessage();
  }

  @Test
  void config_errors_name_the_rule() {
    String unknown = error("""
      routes:
        - model_name: chat
          rules:
            - {when: {tools: true}, deployments: [chat-nope]}
      """);
    assertTrue(unknown.contains("rules[0].deployments") && unknown.contains("'chat-nope' is not a deployment of chat"),
      unknown);
    String empty = error("""
      routes:
        - model_name: chat
          rules:
            - {when: {}, deployments: [chat-long]}
      """);
    assertTrue(empty.contains("sets no condition"), empty);
    String typo = error("""
      routes:
        - model_name: chat
          rules:
            - {when: {prompt_tokens: 10}, deployments: [chat-long]}
      """);
    assertTrue(typo.contains("prompt_tokens") && typo.contains("is not a known setting"), typo);
  }
}

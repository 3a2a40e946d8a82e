package io.switchboard.inference;

import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The corners of the Gemini and Bedrock translations that a conversation through the gateway reaches less often:
 * assistant-first conversations, several tool results in a row, tool choices the other side says differently, what
 * is refused and by which field.
 */
class CloudTranslationTest {
  private static Vertx vertx;
  private static HttpClientAgent client;
  private static GeminiUpstream gemini;
  private static BedrockUpstream bedrock;

  private static Deployment deployment(String provider, SwitchboardConfig.Cloud cloud) {
    return new Deployment("d." + provider, "m", provider, "http://127.0.0.1:1", List.of(), "model-1", 1, 30_000,
      2_000, 10_000, 10_000, SwitchboardConfig.Pool.http1(4), 0, null, new SwitchboardConfig.Breaker(5, 10_000),
      Deployment.CHAT, null, cloud, null);
  }

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    client = vertx.httpClientBuilder().build();
    var meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    Deployment g = deployment("gemini", SwitchboardConfig.Cloud.NONE);
    gemini = new GeminiUpstream(g, "http://127.0.0.1:1", client, new UpstreamSlots(vertx, g, meters));
    Deployment b = deployment("bedrock", new SwitchboardConfig.Cloud(null, null, null, "us-east-1", "test-access-key-id", "s", null));
    bedrock = new BedrockUpstream(vertx, b, "http://127.0.0.1:1", client, new UpstreamSlots(vertx, b, meters));
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static ChatRequest request(String options, ChatMessage... messages) {
    return new ChatRequest("req-1", "tenant-a", "m", List.of(messages), false,
      options == null ? null : new JsonObject(options), null, 30_000, null, 0);
  }

  private static ChatMessage json(String json) {
    return new ChatMessage(new JsonObject(json));
  }

  private static final ChatMessage TWO_CALLS = json("""
    {"role":"assistant","content":null,"tool_calls":[
      {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"}},
      {"id":"call_2","type":"function","function":{"name":"get_time","arguments":""}}]}""");

  private static String param(Runnable translation) {
    return assertThrows(UpstreamFailure.class, translation::run).error().param();
  }

  @Test
  void gemini_puts_tool_results_in_a_row_into_one_user_turn_named_after_their_calls() {
    JsonObject body = gemini.requestBody(request(null, new ChatMessage("user", "Weather and time?"), TWO_CALLS,
      json("{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"temp\\\":-3}\"}"),
      json("{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"noon\"}"),
      new ChatMessage("user", "Thanks")));
    JsonArray contents = body.getJsonArray("contents");
    assertEquals(3, contents.size(), "user, model, user");
    JsonArray results = contents.getJsonObject(2).getJsonArray("parts");
    assertEquals(new JsonObject().put("functionResponse", new JsonObject().put("name", "get_weather")
      .put("response", new JsonObject().put("temp", -3))), results.getJsonObject(0), "a JSON result as it is");
    assertEquals(new JsonObject().put("functionResponse", new JsonObject().put("name", "get_time")
      .put("response", new JsonObject().put("content", "noon"))), results.getJsonObject(1));
    assertEquals(new JsonObject().put("text", "Thanks"), results.getJsonObject(2));
    assertEquals(new JsonObject(), contents.getJsonObject(1).getJsonArray("parts").getJsonObject(1)
      .getJsonObject("functionCall").getJsonObject("args"), "no arguments: an empty object");
  }

  @Test
  void gemini_says_a_named_tool_choice_and_effort_its_own_way_and_refuses_what_it_cannot_say() {
    JsonObject body = gemini.requestBody(request("""
      {"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
       "tool_choice":{"type":"function","function":{"name":"get_weather"}},"reasoning_effort":"low","seed":7}""",
      new ChatMessage("user", "Oslo")));
    assertEquals(new JsonObject().put("functionCallingConfig", new JsonObject().put("mode", "ANY")
      .put("allowedFunctionNames", new JsonArray().add("get_weather"))), body.getJsonObject("toolConfig"));
    assertEquals(new JsonObject().put("seed", 7L).put("thinkingConfig", new JsonObject().put("thinkingBudget", 1024)),
      body.getJsonObject("generationConfig"));

    assertEquals("n", param(() -> gemini.requestBody(request("{\"n\":2}", new ChatMessage("user", "hi")))));
    assertEquals("messages[0].tool_call_id", param(() -> gemini.requestBody(request(null,
      json("{\"role\":\"tool\",\"tool_call_id\":\"call_x\",\"content\":\"orphan\"}")))));
    assertEquals("functions", param(() -> gemini.requestBody(request("{\"functions\":[]}",
      new ChatMessage("user", "hi")))));
  }

  @Test
  void bedrock_opens_with_the_user_and_declares_called_tools_when_none_may_be_called() {
    JsonObject body = bedrock.requestBody(request("{\"tool_choice\":\"none\"}", new ChatMessage("assistant", "Hi!"),
      new ChatMessage("user", "Weather?"), TWO_CALLS,
      json("{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"Snow\"}"),
      json("{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"\"}")));
    JsonArray messages = body.getJsonArray("messages");
    assertEquals(List.of("user", "assistant", "user", "assistant", "user"), messages.stream()
      .map(m -> ((JsonObject) m).getString("role")).toList());
    assertEquals(2, messages.getJsonObject(4).getJsonArray("content").size(), "both results in one turn");
    JsonObject config = body.getJsonObject("toolConfig");
    assertEquals(List.of("get_weather", "get_time"), config.getJsonArray("tools").stream()
      .map(t -> ((JsonObject) t).getJsonObject("toolSpec").getString("name")).toList());
    assertFalse(config.containsKey("toolChoice"));

    JsonObject required = bedrock.requestBody(request("""
      {"tools":[{"type":"function","function":{"name":"get_weather"}}],"tool_choice":"required"}""",
      new ChatMessage("user", "Oslo")));
    assertEquals(new JsonObject().put("any", new JsonObject()),
      required.getJsonObject("toolConfig").getJsonObject("toolChoice"));
    assertEquals("n", param(() -> bedrock.requestBody(request("{\"n\":3}", new ChatMessage("user", "hi")))));
    assertEquals("messages[0].content[0].type", param(() -> bedrock.requestBody(request(null,
      json("{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AA\",\"format\":\"wav\"}}]}")))));
  }

  @Test
  void bedrock_sends_an_inline_pdf_as_a_named_document() {
    JsonObject body = bedrock.requestBody(request(null, json("""
      {"role":"user","content":[{"type":"text","text":"Summarise"},
        {"type":"file","file":{"filename":"Q3 report.pdf","file_data":"data:application/pdf;base64,JVBERi0="}}]}""")));
    assertEquals(new JsonObject().put("document", new JsonObject().put("format", "pdf").put("name", "Q3 report")
        .put("source", new JsonObject().put("bytes", "JVBERi0="))),
      body.getJsonArray("messages").getJsonObject(0).getJsonArray("content").getJsonObject(1));
  }
}

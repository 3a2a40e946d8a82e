package io.switchboard;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.BadRequestException;
import com.anthropic.errors.NotFoundException;
import com.anthropic.errors.RateLimitException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.Base64ImageSource;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.ImageBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.TextBlockParam;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.anthropic.models.messages.UrlImageSource;
import io.switchboard.testing.FakeOpenAi;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Anthropic's Messages API inbound, through the official Anthropic Java SDK pointed at the gateway with only its base
 * URL and key changed: text and streams from the simulator, and a tool round and images through an OpenAI-compatible
 * upstream (what reaches it is checked); errors in Anthropic's shape.
 */
class MessagesApiTest {
  private static final String PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
  private static final String LIMITED_KEY = "test-key-initech-0123456789";
  private static FakeOpenAi upstream;
  private static TestNode node;
  private static AnthropicClient client;

  @BeforeAll
  static void start() throws Exception {
    upstream = new FakeOpenAi();
    String config = TestConfigs.GATEWAY.replace("max_body_bytes: 4096", "max_body_bytes: 65536")
      .replace("      tenant: globex\n", "      tenant: globex\n    - key: " + LIMITED_KEY
        + "\n      tenant: initech\n      rpm_limit: 1\n")
      .replace("model_list:\n", """
        model_list:
          - model_name: gpt-fake
            provider: openai
            api_base: %s
        """.formatted(upstream.baseUrl()));
    node = TestNode.start(config);
    client = sdk(TestConfigs.ACME_KEY);
  }

  private static AnthropicClient sdk(String key) {
    return AnthropicOkHttpClient.builder().baseUrl(node.baseUrl()).apiKey(key).maxRetries(0)
      .timeout(Duration.ofSeconds(20)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
    upstream.close();
  }

  private static String text(Message message) {
    StringBuilder text = new StringBuilder();
    message.content().forEach(block -> block.text().ifPresent(t -> text.append(t.text())));
    return text.toString();
  }

  private static Tool weather() {
    return Tool.builder().name("get_weather").description("Weather in a city")
      .inputSchema(Tool.InputSchema.builder().properties(JsonValue.from(Map.of("city", Map.of("type", "string"))))
        .required(List.of("city")).build()).build();
  }

  @Test
  void the_sdk_gets_a_message_from_the_simulator() {
    Message message = client.messages().create(MessageCreateParams.builder().model("switchboard-simulator")
      .maxTokens(256).system("Be brief.").addUserMessage("hello").build());
    message.validate();
    assertEquals(12, text(message).split(" ").length, text(message));
    assertEquals(StopReason.END_TURN, message.stopReason().orElseThrow());
    assertEquals(12, message.usage().outputTokens());
    assertTrue(message.usage().inputTokens() > 0);
    assertTrue(message.id().startsWith("msg_"));
  }

  @Test
  void a_stream_comes_in_anthropics_event_sequence_and_assembles_to_the_whole_answer() {
    MessageCreateParams params = MessageCreateParams.builder().model("sim-paced").maxTokens(256)
      .addUserMessage("stream to me").build();
    MessageAccumulator accumulator = MessageAccumulator.create();
    List<RawMessageStreamEvent> events = new ArrayList<>();
    try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(params)) {
      stream.stream().forEach(event -> {
        event.validate();
        events.add(event);
        accumulator.accumulate(event);
      });
    }
    assertTrue(events.get(0).isMessageStart());
    assertTrue(events.get(1).isContentBlockStart());
    assertTrue(events.get(2).isContentBlockDelta());
    int n = events.size();
    assertTrue(events.get(n - 3).isContentBlockStop());
    assertTrue(events.get(n - 2).isMessageDelta());
    assertTrue(events.get(n - 1).isMessageStop());
    Message streamed = accumulator.message();
    Message whole = client.messages().create(params);
    assertEquals(text(whole), text(streamed));
    assertEquals(10, streamed.usage().outputTokens());
    assertEquals(StopReason.END_TURN, streamed.stopReason().orElseThrow());
  }

  @Test
  void a_raw_stream_has_a_ping_after_message_start() {
    var lines = Http.post(node.baseUrl() + "/v1/messages", new JsonObject().put("model", "switchboard-simulator")
        .put("max_tokens", 64).put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))).encode(),
      "x-api-key", TestConfigs.ACME_KEY, "anthropic-version", "2023-06-01").body().lines()
      .filter(l -> l.startsWith("event: ")).map(l -> l.substring(7)).toList();
    assertEquals(List.of("message_start", "ping", "content_block_start"), lines.subList(0, 3));
    assertEquals(List.of("content_block_stop", "message_delta", "message_stop"), lines.subList(lines.size() - 3,
      lines.size()));
  }

  @Test
  void a_tool_round_reaches_a_chat_completions_upstream_as_tool_calls_and_a_tool_message() {
    MessageCreateParams.Builder params = MessageCreateParams.builder().model("gpt-fake").maxTokens(256)
      .addTool(weather()).addUserMessage("What is the weather in Paris?");
    Message first = client.messages().create(params.build());
    assertEquals(StopReason.TOOL_USE, first.stopReason().orElseThrow());
    ToolUseBlock use = first.content().stream().filter(ContentBlock::isToolUse).map(ContentBlock::asToolUse)
      .findFirst().orElseThrow();
    assertEquals("get_weather", use.name());
    assertEquals("Paris", use._input().convert(Map.class).get("city"));
    JsonObject asked = upstream.last();
    assertEquals(256, asked.getInteger("max_completion_tokens"));
    assertEquals("object", asked.getJsonArray("tools").getJsonObject(0).getJsonObject("function")
      .getJsonObject("parameters").getString("type"));

    Message second = client.messages().create(params.addMessage(first)
      .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(ToolResultBlockParam.builder()
        .toolUseId(use.id()).content("18 degrees").build()))).build());
    assertEquals("The tool said: 18 degrees.", text(second));
    JsonArray messages = upstream.last().getJsonArray("messages");
    assertEquals("assistant", messages.getJsonObject(1).getString("role"));
    assertEquals(use.id(), messages.getJsonObject(1).getJsonArray("tool_calls").getJsonObject(0).getString("id"));
    assertEquals(new JsonObject().put("role", "tool").put("tool_call_id", use.id()).put("content", "18 degrees"),
      messages.getJsonObject(2));
  }

  @Test
  void a_streamed_tool_call_comes_as_a_tool_use_block_with_input_json_deltas() {
    MessageAccumulator accumulator = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(MessageCreateParams.builder()
      .model("gpt-fake").maxTokens(256).addTool(weather()).addUserMessage("Weather in Paris?").build())) {
      stream.stream().forEach(accumulator::accumulate);
    }
    Message message = accumulator.message();
    assertEquals(StopReason.TOOL_USE, message.stopReason().orElseThrow());
    ToolUseBlock use = message.content().get(0).asToolUse();
    assertEquals("Paris", use._input().convert(Map.class).get("city"));
  }

  @Test
  void images_by_base64_and_by_url_reach_the_upstream_as_image_parts() {
    Message message = client.messages().create(MessageCreateParams.builder().model("gpt-fake").maxTokens(256)
      .addUserMessageOfContentBlockParams(List.of(
        ContentBlockParam.ofImage(ImageBlockParam.builder().source(Base64ImageSource.builder()
          .mediaType(Base64ImageSource.MediaType.IMAGE_PNG).data(PNG).build()).build()),
        ContentBlockParam.ofImage(ImageBlockParam.builder().source(UrlImageSource.builder()
          .url("https://example.com/cat.png").build()).build()),
        ContentBlockParam.ofText(TextBlockParam.builder().text("What is this?").build()))).build());
    assertTrue(text(message).startsWith("I see an image (data). I see an image (https)."), text(message));
    JsonArray parts = upstream.last().getJsonArray("messages").getJsonObject(0).getJsonArray("content");
    assertEquals("data:image/png;base64," + PNG, parts.getJsonObject(0).getJsonObject("image_url").getString("url"));
  }

  @Test
  void errors_come_in_anthropics_shape() {
    NotFoundException unknown = assertThrows(NotFoundException.class, () -> client.messages().create(
      MessageCreateParams.builder().model("no-such-model").maxTokens(16).addUserMessage("hi").build()));
    assertEquals("not_found_error", unknown.type().orElseThrow().toString());
    AnthropicClient stranger = sdk("sk-ant-not-a-key");
    try {
      assertThrows(UnauthorizedException.class, () -> stranger.messages().create(MessageCreateParams.builder()
        .model("switchboard-simulator").maxTokens(16).addUserMessage("hi").build()));
    } finally {
      stranger.close();
    }
    BadRequestException serverTool = assertThrows(BadRequestException.class, () -> client.messages().create(
      MessageCreateParams.builder().model("switchboard-simulator").maxTokens(16).addUserMessage("hi")
        .putAdditionalBodyProperty("tools", JsonValue.from(List.of(Map.of("type", "web_search_20250305",
          "name", "web_search")))).build()));
    assertTrue(serverTool.getMessage().contains("web_search_20250305"), serverTool.getMessage());

    var missing = Http.post(node.baseUrl() + "/v1/messages", new JsonObject().put("model", "switchboard-simulator")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))).encode(),
      "x-api-key", TestConfigs.ACME_KEY);
    assertEquals(400, missing.statusCode());
    JsonObject error = new JsonObject(missing.body());
    assertEquals("error", error.getString("type"));
    assertEquals("invalid_request_error", error.getJsonObject("error").getString("type"));
    assertTrue(error.getJsonObject("error").getString("message").startsWith("max_tokens"), missing.body());
    assertTrue(missing.headers().firstValue("request-id").isPresent());
  }

  @Test
  void a_body_too_large_and_a_stream_that_breaks_are_told_in_anthropics_shape() {
    var large = Http.post(node.baseUrl() + "/v1/messages", new JsonObject().put("model", "switchboard-simulator")
      .put("max_tokens", 16).put("messages", new JsonArray().add(new JsonObject().put("role", "user")
        .put("content", "x".repeat(70_000)))).encode(), "x-api-key", TestConfigs.ACME_KEY);
    assertEquals(413, large.statusCode());
    assertEquals("request_too_large", new JsonObject(large.body()).getJsonObject("error").getString("type"));

    String broken = Http.post(node.baseUrl() + "/v1/messages", new JsonObject().put("model", "sim-drop")
      .put("max_tokens", 64).put("stream", true).put("messages", new JsonArray().add(new JsonObject()
        .put("role", "user").put("content", "hi"))).encode(), "x-api-key", TestConfigs.ACME_KEY).body();
    List<String> events = broken.lines().filter(l -> l.startsWith("event: ")).map(l -> l.substring(7)).toList();
    assertEquals("error", events.get(events.size() - 1), broken);
    assertTrue(!events.contains("message_stop"), "never a silent success");
    String last = broken.lines().filter(l -> l.startsWith("data: ")).reduce((a, b) -> b).orElseThrow();
    assertEquals("error", new JsonObject(last.substring(6)).getString("type"));
  }

  @Test
  void a_key_over_its_limit_gets_anthropics_rate_limit_error_with_retry_after() {
    AnthropicClient limited = sdk(LIMITED_KEY);
    try {
      MessageCreateParams params = MessageCreateParams.builder().model("switchboard-simulator").maxTokens(16)
        .addUserMessage("hi").build();
      limited.messages().create(params);
      RateLimitException refused = assertThrows(RateLimitException.class, () -> limited.messages().create(params));
      assertEquals("rate_limit_error", refused.type().orElseThrow().toString());
      assertTrue(refused.headers().values("retry-after").size() == 1, "retry-after, as Anthropic sends it");
    } finally {
      limited.close();
    }
  }
}

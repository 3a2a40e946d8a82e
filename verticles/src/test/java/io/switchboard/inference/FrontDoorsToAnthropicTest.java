package io.switchboard.inference;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.openai.client.OpenAIClient;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import io.switchboard.testing.OpenAiSdk;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The two translated doors in front of a model served by Anthropic's Messages API: an Anthropic SDK client's tool
 * round goes Anthropic → OpenAI → Anthropic and back (text and tool_use blocks in one streamed answer), and a
 * Responses API function-call round continues with {@code previous_response_id} against Anthropic, which refuses
 * any turn that does not hold together.
 */
class FrontDoorsToAnthropicTest {
  private static Vertx vertx;
  private static FakeAnthropic anthropic;
  private static TestNode node;
  private static AnthropicClient claude;
  private static OpenAIClient openai;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    anthropic = FakeAnthropic.start(vertx);
    node = TestNode.start("""
      model_list:
        - model_name: claude
          provider: anthropic
          api_base: %s
          api_key: sk-ant-test-key-000000001
          upstream_model: claude-sonnet-4
      """.formatted(anthropic.baseUrl()));
    claude = AnthropicOkHttpClient.builder().baseUrl(node.baseUrl()).apiKey("unused").maxRetries(0)
      .timeout(Duration.ofSeconds(20)).build();
    openai = OpenAiSdk.client(node.baseUrl() + "/v1", "unused");
  }

  @AfterAll
  static void stop() throws Exception {
    claude.close();
    openai.close();
    node.close();
    anthropic.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private JsonObject lastBody() {
    return anthropic.received.get(anthropic.received.size() - 1).body();
  }

  @Test
  void an_anthropic_client_streams_text_then_a_tool_call_and_answers_it() {
    Tool tool = Tool.builder().name("get_weather").inputSchema(Tool.InputSchema.builder()
      .properties(JsonValue.from(Map.of("city", Map.of("type", "string")))).build()).build();
    MessageCreateParams.Builder params = MessageCreateParams.builder().model("claude").maxTokens(300)
      .system("You are a weather bot.").addTool(tool).addUserMessage("Paris");
    MessageAccumulator accumulator = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> stream = claude.messages().createStreaming(params.build())) {
      stream.stream().forEach(accumulator::accumulate);
    }
    Message first = accumulator.message();
    assertEquals(StopReason.TOOL_USE, first.stopReason().orElseThrow());
    assertEquals(FakeAnthropic.TOOL_INTRO, first.content().get(0).asText().text(), "the text block first");
    ToolUseBlock use = first.content().get(1).asToolUse();
    assertEquals("Paris", use._input().convert(Map.class).get("city"));
    assertEquals(300, lastBody().getInteger("max_tokens"));
    assertEquals("You are a weather bot.", lastBody().getString("system"));

    Message second = claude.messages().create(params.addMessage(first).addUserMessageOfContentBlockParams(List.of(
      ContentBlockParam.ofToolResult(ToolResultBlockParam.builder().toolUseId(use.id()).content("sunny").build())))
      .build());
    assertEquals("The tool said: sunny", second.content().get(0).asText().text());
    JsonArray turns = lastBody().getJsonArray("messages");
    assertEquals(3, turns.size(), turns.encode());
    assertEquals(use.id(), turns.getJsonObject(1).getJsonArray("content").getJsonObject(1).getString("id"),
      "the tool_use id made it through both translations unchanged");
  }

  @Test
  void a_responses_function_call_round_continues_against_anthropic() {
    FunctionTool weather = FunctionTool.builder().name("get_weather").strict(false)
      .parameters(FunctionTool.Parameters.builder().putAdditionalProperty("type", com.openai.core.JsonValue.from("object"))
        .putAdditionalProperty("properties", com.openai.core.JsonValue.from(Map.of("city", Map.of("type", "string"))))
        .build()).build();
    Response first = openai.responses().create(ResponseCreateParams.builder().model("claude").input("Paris")
      .addTool(weather).build());
    ResponseFunctionToolCall call = first.output().stream().filter(ResponseOutputItem::isFunctionCall)
      .map(ResponseOutputItem::asFunctionCall).findFirst().orElseThrow();
    assertEquals("{\"city\":\"Paris\"}", call.arguments());
    Response second = openai.responses().create(ResponseCreateParams.builder().model("claude")
      .previousResponseId(first.id()).addTool(weather)
      .inputOfResponse(List.of(ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
        .callId(call.callId()).output("sunny").build()))).build());
    assertTrue(second.output().get(0).asMessage().content().get(0).asOutputText().text()
      .contains("The tool said: sunny"));
  }
}

package io.switchboard.inference;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
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
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An OpenAI SDK client talks to a model served by Anthropic's Messages API, translated both ways: text, a two-round
 * tool conversation streamed and not, and image parts.
 */
class AnthropicThroughGatewayTest {
  private static Vertx vertx;
  private static FakeAnthropic anthropic;
  private static TestNode node;
  private static OpenAIClient client;

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
    client = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey("unused").maxRetries(0)
      .timeout(Duration.ofSeconds(20)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
    anthropic.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void the_openai_sdk_gets_claudes_answer_whole_and_streamed() {
    ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("claude")
      .addSystemMessage("Be brief.").addUserMessage("Say hello").build();
    ChatCompletion whole = client.chat().completions().create(params);
    assertEquals("Hello, wörld.", whole.choices().get(0).message().content().orElseThrow(), "text blocks joined");
    assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, whole.choices().get(0).finishReason());
    assertEquals("claude-sonnet-4", anthropic.last().body().getString("model"));
    assertEquals("Be brief.", anthropic.last().body().getString("system"));

    StringBuilder streamed = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append)));
    }
    assertEquals(String.join("", FakeAnthropic.DELTAS), streamed.toString());
  }

  private static final String PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";


  private static ChatCompletionCreateParams.Builder weather() {
    return ChatCompletionCreateParams.builder().model("claude").addUserMessage("Oslo").addTool(OpenAiSdk.weatherTool());
  }


  /** Round 1: Claude's tool_use reaches the SDK as a tool call; round 2: the SDK's tool round reaches Claude. */
  private static void toolRounds(boolean stream) {
    ChatCompletion one = stream ? OpenAiSdk.streamed(client, weather().build()) : client.chat().completions().create(weather().build());
    ChatCompletion.Choice choice = one.choices().get(0);
    assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
    ChatCompletionMessage message = choice.message();
    assertEquals(FakeAnthropic.TOOL_INTRO, message.content().orElseThrow());
    ChatCompletionMessageFunctionToolCall call = message.toolCalls().orElseThrow().get(0).asFunction();
    assertEquals("toolu_01A09q90qw90lq917835lq90", call.id());
    assertEquals("get_weather", call.function().name());
    assertEquals(new JsonObject().put("city", "Oslo"), new JsonObject(call.function().arguments()),
      "Claude's input as the arguments' JSON");
    JsonObject tool = anthropic.last().body().getJsonArray("tools").getJsonObject(0);
    assertEquals("get_weather", tool.getString("name"), "the tool went up as Anthropic's");
    assertEquals("object", tool.getJsonObject("input_schema").getString("type"));

    ChatCompletionCreateParams second = weather().addMessage(message)
      .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("Snow, -3 C").build())
      .build();
    ChatCompletion two = stream ? OpenAiSdk.streamed(client, second) : client.chat().completions().create(second);
    assertEquals("The tool said: Snow, -3 C", two.choices().get(0).message().content().orElseThrow());
    assertEquals(ChatCompletion.Choice.FinishReason.STOP, two.choices().get(0).finishReason());
    JsonArray sent = anthropic.last().body().getJsonArray("messages");
    assertEquals(new JsonObject().put("type", "tool_use").put("id", call.id()).put("name", "get_weather")
      .put("input", new JsonObject().put("city", "Oslo")), sent.getJsonObject(1).getJsonArray("content").getJsonObject(1),
      "the SDK's assistant message went up as a tool_use block, after its text");
    assertEquals(new JsonObject().put("role", "user").put("content", new JsonArray().add(new JsonObject()
      .put("type", "tool_result").put("tool_use_id", call.id()).put("content", "Snow, -3 C"))), sent.getJsonObject(2));
  }

  @Test
  void an_agent_calls_a_tool_through_claude_and_answers_from_its_result() {
    toolRounds(false);
  }

  @Test
  void an_agent_calls_a_tool_through_claude_and_answers_from_its_result_streamed() {
    toolRounds(true);
  }

  @Test
  void a_streamed_tool_call_assembled_by_the_sdk_equals_the_whole_one() {
    ChatCompletionCreateParams params = weather().streamOptions(ChatCompletionStreamOptions.builder()
      .includeUsage(true).build()).build();
    ChatCompletion whole = client.chat().completions().create(weather().build());
    ChatCompletion assembled = OpenAiSdk.streamed(client, params);
    ChatCompletionMessage a = whole.choices().get(0).message();
    ChatCompletionMessage b = assembled.choices().get(0).message();
    assertEquals(a.content(), b.content());
    assertEquals(whole.choices().get(0).finishReason(), assembled.choices().get(0).finishReason());
    ChatCompletionMessageFunctionToolCall x = a.toolCalls().orElseThrow().get(0).asFunction();
    ChatCompletionMessageFunctionToolCall y = b.toolCalls().orElseThrow().get(0).asFunction();
    assertEquals(x.id(), y.id());
    assertEquals(x.function().name(), y.function().name());
    assertEquals(new JsonObject(x.function().arguments()), new JsonObject(y.function().arguments()),
      "the same JSON (Anthropic's stream writes it with spaces)");
    assertEquals(whole.usage().orElseThrow().promptTokens(), assembled.usage().orElseThrow().promptTokens());
    assertEquals(whole.usage().orElseThrow().completionTokens(), assembled.usage().orElseThrow().completionTokens());
    assertEquals("claude", assembled.model());

    ChatCompletionCreateParams forced = weather().toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build();
    ChatCompletionMessage onlyTools = client.chat().completions().create(forced).choices().get(0).message();
    ChatCompletionMessage onlyToolsStreamed = OpenAiSdk.streamed(client, forced).choices().get(0).message();
    assertEquals(Optional.empty(), onlyTools.content(), "no text, no content");
    assertEquals(onlyTools.content(), onlyToolsStreamed.content());
    assertEquals(onlyTools.toolCalls().orElseThrow().get(0).asFunction().id(),
      onlyToolsStreamed.toolCalls().orElseThrow().get(0).asFunction().id());
  }

  @Test
  void an_image_part_reaches_claude_as_an_image_block() {
    ChatCompletion completion = client.chat().completions().create(ChatCompletionCreateParams.builder().model("claude")
      .addUserMessageOfArrayOfContentParts(List.of(
        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("What is this?").build()),
        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
          .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url("data:image/png;base64," + PNG)
            .detail(ChatCompletionContentPartImage.ImageUrl.Detail.LOW).build()).build())))
      .build());
    assertEquals("I see an image image/png, " + PNG.length() + " base64 characters.",
      completion.choices().get(0).message().content().orElseThrow());
    assertEquals(new JsonObject().put("type", "image").put("source", new JsonObject().put("type", "base64")
        .put("media_type", "image/png").put("data", PNG)),
      anthropic.last().body().getJsonArray("messages").getJsonObject(0).getJsonArray("content").getJsonObject(1));
  }

  @Test
  void an_image_claude_refuses_is_a_400_in_anthropics_words() {
    BadRequestException e = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
      ChatCompletionCreateParams.builder().model("claude").addUserMessageOfArrayOfContentParts(List.of(
        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
          .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url("data:image/bmp;base64,Qk0eAAAA").build())
          .build()))).build()));
    assertTrue(e.getMessage().contains("image.source.base64.media_type: Input should be 'image/jpeg'"), e.getMessage());
  }
}

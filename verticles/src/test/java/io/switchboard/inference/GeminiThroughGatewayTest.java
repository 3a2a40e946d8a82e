package io.switchboard.inference;

import com.openai.client.OpenAIClient;
import com.openai.errors.BadRequestException;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.core.JsonValue;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.completions.CompletionUsage;
import io.switchboard.testing.OpenAiSdk;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An OpenAI SDK client talks to a model served by Gemini's native API, translated both ways: text, usage, tools
 * (thought signatures included), images, json schemas, safety blocks, and a rate-limited key.
 */
class GeminiThroughGatewayTest {
  private static final String PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
  private static Vertx vertx;
  private static FakeGemini gemini;
  private static TestNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    gemini = FakeGemini.start(vertx);
    List<String> keys = List.copyOf(new java.util.TreeSet<>(FakeGemini.KEYS));
    node = TestNode.start("""
      model_list:
        - model_name: gemini
          provider: gemini
          api_base: %1$s
          api_keys: [%2$s, %3$s]
          upstream_model: gemini-3-pro-preview
        - model_name: gemini-one-bad-key
          provider: gemini
          api_base: %1$s
          api_keys: [AIzaSy-revoked-key-0000000000000000000, %2$s]
          upstream_model: gemini-2.5-flash
      routes:
        - {model_name: gemini, num_retries: 1, retry_base_ms: 5, retry_max_ms: 20}
        - {model_name: gemini-one-bad-key, num_retries: 1, retry_base_ms: 5, retry_max_ms: 20}
      """.formatted(gemini.origin(), keys.get(0), keys.get(1)));
    client = OpenAiSdk.client(node.baseUrl() + "/v1", "unused");
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
    gemini.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static void assertUsage(CompletionUsage usage) {
    assertEquals(12, usage.promptTokens());
    assertEquals(9, usage.completionTokens(), "candidates and thoughts");
    assertEquals(21, usage.totalTokens());
    assertEquals(4, usage.promptTokensDetails().orElseThrow().cachedTokens().orElseThrow());
    assertEquals(3, usage.completionTokensDetails().orElseThrow().reasoningTokens().orElseThrow());
  }

  @Test
  void the_sdk_gets_geminis_answer_whole_and_streamed_with_its_usage() {
    ChatCompletionCreateParams.Builder params = ChatCompletionCreateParams.builder().model("gemini")
      .addSystemMessage("Be brief.").addUserMessage("Say hello").temperature(0.3).maxCompletionTokens(50).stop("END");
    ChatCompletion whole = client.chat().completions().create(params.build());
    assertEquals("Hello from Gemini.", whole.choices().get(0).message().content().orElseThrow());
    assertEquals(ChatCompletion.Choice.FinishReason.STOP, whole.choices().get(0).finishReason());
    assertUsage(whole.usage().orElseThrow());
    FakeProvider.Received call = gemini.last();
    assertEquals("/v1beta/models/gemini-3-pro-preview:generateContent", call.uri());
    assertTrue(FakeGemini.KEYS.contains(call.header("x-goog-api-key")));
    JsonObject body = call.body();
    assertEquals(new JsonObject().put("parts", new JsonArray().add(new JsonObject().put("text", "Be brief."))),
      body.getJsonObject("systemInstruction"));
    assertEquals(new JsonObject().put("temperature", 0.3).put("maxOutputTokens", 50)
      .put("stopSequences", new JsonArray().add("END")), body.getJsonObject("generationConfig"));

    ChatCompletion streamed = OpenAiSdk.streamed(client, params.streamOptions(ChatCompletionStreamOptions.builder()
      .includeUsage(true).build()).build());
    assertEquals("Hello from Gemini.", streamed.choices().get(0).message().content().orElseThrow());
    assertEquals("/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse", gemini.last().uri());
    assertUsage(streamed.usage().orElseThrow());
  }

  private static void toolRounds(boolean stream) {
    ChatCompletionCreateParams.Builder weather = ChatCompletionCreateParams.builder().model("gemini")
      .addUserMessage("Oslo").addTool(OpenAiSdk.weatherTool());
    ChatCompletion one = stream ? OpenAiSdk.streamed(client, weather.build())
      : client.chat().completions().create(weather.build());
    assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, one.choices().get(0).finishReason());
    ChatCompletionMessage message = one.choices().get(0).message();
    ChatCompletionMessageFunctionToolCall call = message.toolCalls().orElseThrow().get(0).asFunction();
    assertEquals("get_weather", call.function().name());
    assertEquals(new JsonObject().put("city", "Oslo"), new JsonObject(call.function().arguments()));
    JsonObject declaration = gemini.last().body().getJsonArray("tools").getJsonObject(0)
      .getJsonArray("functionDeclarations").getJsonObject(0);
    assertEquals("get_weather", declaration.getString("name"));
    assertEquals("object", declaration.getJsonObject("parametersJsonSchema").getString("type"));

    ChatCompletionCreateParams second = weather.addMessage(message)
      .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("Snow, -3 C").build()).build();
    ChatCompletion two = stream ? OpenAiSdk.streamed(client, second) : client.chat().completions().create(second);
    assertEquals("The tool said: Snow, -3 C", two.choices().get(0).message().content().orElseThrow(),
      "gemini-3 took the round: the call went back with its thought signature");
    JsonArray contents = gemini.last().body().getJsonArray("contents");
    assertEquals("model", contents.getJsonObject(1).getString("role"));
    assertEquals(new JsonObject().put("functionCall", new JsonObject().put("name", "get_weather")
        .put("args", new JsonObject().put("city", "Oslo"))).put("thoughtSignature", FakeGemini.SIGNATURE),
      contents.getJsonObject(1).getJsonArray("parts").getJsonObject(0));
    assertEquals(new JsonObject().put("role", "user").put("parts", new JsonArray().add(new JsonObject()
        .put("functionResponse", new JsonObject().put("name", "get_weather")
          .put("response", new JsonObject().put("content", "Snow, -3 C"))))),
      contents.getJsonObject(2));
  }

  @Test
  void an_agent_calls_a_tool_through_gemini_and_answers_from_its_result() {
    toolRounds(false);
  }

  @Test
  void an_agent_calls_a_tool_through_gemini_and_answers_from_its_result_streamed() {
    toolRounds(true);
  }

  private static ChatCompletionCreateParams image(String url) {
    return ChatCompletionCreateParams.builder().model("gemini").addUserMessageOfArrayOfContentParts(List.of(
      ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("What is this?").build()),
      ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
        .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(url).build()).build()))).build();
  }

  @Test
  void an_inline_image_goes_up_as_inline_data_and_a_web_url_is_refused_by_name() {
    ChatCompletion answer = client.chat().completions().create(image("data:image/png;base64," + PNG));
    assertEquals("I see an image image/png, " + PNG.length() + " base64 characters.",
      answer.choices().get(0).message().content().orElseThrow());
    assertEquals(new JsonObject().put("inlineData", new JsonObject().put("mimeType", "image/png").put("data", PNG)),
      gemini.last().body().getJsonArray("contents").getJsonObject(0).getJsonArray("parts").getJsonObject(1));

    int before = gemini.received.size();
    BadRequestException url = assertThrows(BadRequestException.class,
      () -> client.chat().completions().create(image("https://example.com/cat.png")));
    assertEquals("messages[0].content[1].image_url.url", url.param().orElseThrow());
    assertTrue(url.getMessage().contains("does not fetch URLs"), url.getMessage());
    assertEquals(before, gemini.received.size(), "refused before it left the gateway");

    BadRequestException bmp = assertThrows(BadRequestException.class,
      () -> client.chat().completions().create(image("data:image/bmp;base64,Qk0eAAAA")));
    assertTrue(bmp.getMessage().contains("Unsupported MIME type: image/bmp"), "Google's words: " + bmp.getMessage());
  }

  @Test
  void a_json_schema_goes_up_as_geminis_response_schema() {
    client.chat().completions().create(ChatCompletionCreateParams.builder().model("gemini").addUserMessage("Say hello")
      .responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
        .name("greeting").schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
          .putAdditionalProperty("type", JsonValue.from("object"))
          .putAdditionalProperty("properties", JsonValue.from(Map.of("text", Map.of("type", "string")))).build())
        .build()).build()).build());
    JsonObject config = gemini.last().body().getJsonObject("generationConfig");
    assertEquals("application/json", config.getString("responseMimeType"));
    assertEquals("object", config.getJsonObject("responseJsonSchema").getString("type"));
  }

  @Test
  void a_blocked_prompt_is_a_clear_400_and_a_filtered_answer_ends_in_content_filter() {
    ChatCompletionCreateParams blocked = ChatCompletionCreateParams.builder().model("gemini")
      .addUserMessage("Something " + FakeGemini.BLOCKED).build();
    BadRequestException whole = assertThrows(BadRequestException.class, () -> client.chat().completions().create(blocked));
    assertTrue(whole.getMessage().contains("refused the prompt (SAFETY)"), whole.getMessage());
    assertEquals("content_filter", whole.code().orElseThrow());
    BadRequestException streamed = assertThrows(BadRequestException.class, () -> OpenAiSdk.streamed(client, blocked));
    assertTrue(streamed.getMessage().contains("refused the prompt (SAFETY)"), streamed.getMessage());

    ChatCompletionCreateParams filtered = ChatCompletionCreateParams.builder().model("gemini")
      .addUserMessage("Something " + FakeGemini.SAFETY).build();
    for (ChatCompletion answer : List.of(client.chat().completions().create(filtered),
      OpenAiSdk.streamed(client, filtered))) {
      assertEquals(ChatCompletion.Choice.FinishReason.CONTENT_FILTER, answer.choices().get(0).finishReason());
      assertEquals("I can", answer.choices().get(0).message().content().orElseThrow());
    }
  }

  @Test
  void a_rate_limited_key_is_rested_and_the_turn_goes_on_with_the_other_key() {
    int before = gemini.received.size();
    gemini.failNext(429, 1);
    ChatCompletion answer = client.chat().completions().create(ChatCompletionCreateParams.builder().model("gemini")
      .addUserMessage("Say hello").build());
    assertEquals("Hello from Gemini.", answer.choices().get(0).message().content().orElseThrow());
    assertEquals(before + 2, gemini.received.size());
    assertNotEquals(gemini.received.get(before).header("x-goog-api-key"),
      gemini.received.get(before + 1).header("x-goog-api-key"));
  }

  @Test
  void a_key_google_calls_not_valid_leaves_the_pool_and_the_turn_goes_on_with_the_next() {
    ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("gemini-one-bad-key")
      .addUserMessage("Say hello").build();
    int before = gemini.received.size();
    assertEquals("Hello from Gemini.", client.chat().completions().create(params).choices().get(0).message().content()
      .orElseThrow(), "Google's 400 API_KEY_INVALID is a refused key, not the client's mistake");
    assertEquals(before + 2, gemini.received.size());
    assertEquals("Hello from Gemini.", client.chat().completions().create(params).choices().get(0).message().content()
      .orElseThrow());
    assertEquals(before + 3, gemini.received.size(), "the refused key is not tried again");
  }

  @Test
  void a_stream_that_ends_in_an_error_event_is_continued_not_cut_short() {
    int before = gemini.received.size();
    ChatCompletion answer = OpenAiSdk.streamed(client, ChatCompletionCreateParams.builder().model("gemini")
      .addUserMessage("Say hello " + FakeGemini.STREAM_ERROR).build());
    assertEquals("Hello" + "Hello from Gemini.", answer.choices().get(0).message().content().orElseThrow(),
      "one stream: what was sent, then the continuation (the fake answers a continuation afresh)");
    assertEquals(before + 2, gemini.received.size());
    JsonArray contents = gemini.last().body().getJsonArray("contents");
    assertEquals(new JsonObject().put("role", "model").put("parts", new JsonArray().add(new JsonObject()
      .put("text", "Hello"))), contents.getJsonObject(1), "the partial answer went up as the model's turn");
  }
}

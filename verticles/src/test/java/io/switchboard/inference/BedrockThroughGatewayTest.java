package io.switchboard.inference;

import com.openai.client.OpenAIClient;
import com.openai.errors.BadRequestException;
import com.openai.errors.OpenAIServiceException;
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
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An OpenAI SDK client talks to models served by Bedrock's Converse API: every request SigV4-signed (static keys,
 * session credentials, the SDK's default chain) or carrying a Bedrock API key, answers translated both ways from
 * JSON and from event-stream frames, tools, images, usage, AWS's errors and a throttled call retried.
 */
class BedrockThroughGatewayTest {
  private static final String PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
  private static final String CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0";
  private static Vertx vertx;
  private static FakeBedrock bedrock;
  private static TestNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    bedrock = FakeBedrock.start(vertx);
    // the default chain's first link: what the node's JVM is given (env vars and profiles work the same way)
    System.setProperty("aws.accessKeyId", FakeBedrock.ACCESS_KEY);
    System.setProperty("aws.secretAccessKey", FakeBedrock.SECRET_KEY);
    node = TestNode.start("""
      model_list:
        - model_name: claude
          provider: bedrock
          api_base: %1$s
          upstream_model: %2$s
          aws_region: us-east-1
          aws_access_key_id: %3$s
          aws_secret_access_key: %4$s
        - model_name: claude-session
          provider: bedrock
          api_base: %1$s
          upstream_model: us.anthropic.claude-sonnet-4-20250514-v1:0
          aws_region: us-east-1
          aws_access_key_id: %5$s
          aws_secret_access_key: %6$s
          aws_session_token: %7$s
        - model_name: claude-chain
          provider: bedrock
          api_base: %1$s
          upstream_model: %2$s
          aws_region: us-east-1
        - model_name: claude-api-key
          provider: bedrock
          api_base: %1$s
          upstream_model: %2$s
          aws_region: us-east-1
          api_key: %8$s
        - model_name: claude-busy
          provider: bedrock
          api_base: %1$s
          upstream_model: us.anthropic.claude-sonnet-4-20250514-v1:0
          aws_region: us-east-1
          aws_access_key_id: %3$s
          aws_secret_access_key: %4$s
        - model_name: claude-wrong-secret
          provider: bedrock
          api_base: %1$s
          upstream_model: %2$s
          aws_region: us-east-1
          aws_access_key_id: %3$s
          aws_secret_access_key: not-the-secret-0000000000000000000000000
      routes:
        - {model_name: claude, num_retries: 1, retry_base_ms: 5, retry_max_ms: 20}
        - {model_name: claude-wrong-secret, num_retries: 0}
        - {model_name: claude-busy, fallbacks: [claude], num_retries: 0}
      """.formatted(bedrock.origin(), CLAUDE, FakeBedrock.ACCESS_KEY, FakeBedrock.SECRET_KEY,
      FakeBedrock.SESSION_ACCESS_KEY, FakeBedrock.SESSION_SECRET_KEY, FakeBedrock.SESSION_TOKEN, FakeBedrock.API_KEY));
    client = OpenAiSdk.client(node.baseUrl() + "/v1", "unused");
  }

  @AfterAll
  static void stop() throws Exception {
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
    client.close();
    node.close();
    bedrock.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static ChatCompletionCreateParams.Builder hello(String model) {
    return ChatCompletionCreateParams.builder().model(model).addSystemMessage("Be brief.").addUserMessage("Say hello");
  }

  private static void assertUsage(CompletionUsage usage) {
    assertEquals(30, usage.promptTokens(), "input tokens and cache reads");
    assertEquals(11, usage.completionTokens());
    assertEquals(5, usage.promptTokensDetails().orElseThrow().cachedTokens().orElseThrow());
  }

  @Test
  void the_sdk_gets_bedrocks_answer_whole_and_from_the_event_stream() {
    ChatCompletion whole = client.chat().completions().create(hello("claude").maxCompletionTokens(64).temperature(0.5)
      .build());
    assertEquals("Hello from Bedrock.", whole.choices().get(0).message().content().orElseThrow());
    assertEquals(ChatCompletion.Choice.FinishReason.STOP, whole.choices().get(0).finishReason());
    assertUsage(whole.usage().orElseThrow());
    FakeProvider.Received call = bedrock.last();
    assertEquals("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", call.uri(),
      "the model id is one path segment, its ':' encoded (and signed so)");
    assertTrue(call.header("authorization").startsWith("AWS4-HMAC-SHA256 Credential=" + FakeBedrock.ACCESS_KEY + "/"));
    JsonObject body = call.body();
    assertEquals(new JsonArray().add(new JsonObject().put("text", "Be brief.")), body.getJsonArray("system"));
    assertEquals(new JsonObject().put("maxTokens", 64).put("temperature", 0.5), body.getJsonObject("inferenceConfig"));

    ChatCompletion streamed = OpenAiSdk.streamed(client, hello("claude").streamOptions(ChatCompletionStreamOptions
      .builder().includeUsage(true).build()).build());
    assertEquals("Hello from Bedrock.", streamed.choices().get(0).message().content().orElseThrow(),
      "frames split at odd places were put together");
    assertEquals("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", bedrock.last().uri());
    assertUsage(streamed.usage().orElseThrow());
  }

  private static void toolRounds(boolean stream) {
    ChatCompletionCreateParams.Builder weather = ChatCompletionCreateParams.builder().model("claude")
      .addUserMessage("Oslo").addTool(OpenAiSdk.weatherTool());
    ChatCompletion one = stream ? OpenAiSdk.streamed(client, weather.build())
      : client.chat().completions().create(weather.build());
    assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, one.choices().get(0).finishReason());
    ChatCompletionMessage message = one.choices().get(0).message();
    assertEquals(FakeBedrock.TOOL_INTRO, message.content().orElseThrow());
    ChatCompletionMessageFunctionToolCall call = message.toolCalls().orElseThrow().get(0).asFunction();
    assertEquals("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", call.id());
    assertEquals(new JsonObject().put("city", "Oslo"), new JsonObject(call.function().arguments()));
    JsonObject spec = bedrock.last().body().getJsonObject("toolConfig").getJsonArray("tools").getJsonObject(0)
      .getJsonObject("toolSpec");
    assertEquals("get_weather", spec.getString("name"));
    assertEquals("object", spec.getJsonObject("inputSchema").getJsonObject("json").getString("type"));

    ChatCompletionCreateParams second = weather.addMessage(message)
      .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("Snow, -3 C").build()).build();
    ChatCompletion two = stream ? OpenAiSdk.streamed(client, second) : client.chat().completions().create(second);
    assertEquals("The tool said: Snow, -3 C", two.choices().get(0).message().content().orElseThrow());
    JsonArray messages = bedrock.last().body().getJsonArray("messages");
    assertEquals(new JsonObject().put("toolUse", new JsonObject().put("toolUseId", call.id()).put("name", "get_weather")
      .put("input", new JsonObject().put("city", "Oslo"))), messages.getJsonObject(1).getJsonArray("content")
      .getJsonObject(1));
    assertEquals(new JsonObject().put("role", "user").put("content", new JsonArray().add(new JsonObject()
      .put("toolResult", new JsonObject().put("toolUseId", call.id())
        .put("content", new JsonArray().add(new JsonObject().put("text", "Snow, -3 C")))))), messages.getJsonObject(2));
  }

  @Test
  void an_agent_calls_a_tool_through_bedrock_and_answers_from_its_result() {
    toolRounds(false);
  }

  @Test
  void an_agent_calls_a_tool_through_bedrock_and_answers_from_its_result_streamed() {
    toolRounds(true);
  }

  private static ChatCompletionCreateParams image(String url) {
    return ChatCompletionCreateParams.builder().model("claude").addUserMessageOfArrayOfContentParts(List.of(
      ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("What is this?").build()),
      ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
        .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(url).build()).build()))).build();
  }

  @Test
  void an_inline_image_goes_up_as_an_image_block_and_what_bedrock_refuses_is_a_400_in_its_words() {
    ChatCompletion answer = client.chat().completions().create(image("data:image/png;base64," + PNG));
    assertEquals("I see an image png, " + PNG.length() + " base64 characters.",
      answer.choices().get(0).message().content().orElseThrow());

    BadRequestException bmp = assertThrows(BadRequestException.class,
      () -> client.chat().completions().create(image("data:image/bmp;base64,Qk0eAAAA")));
    assertTrue(bmp.getMessage().contains("Member must satisfy enum value set: [gif, jpeg, png, webp]"),
      bmp.getMessage());

    BadRequestException url = assertThrows(BadRequestException.class,
      () -> client.chat().completions().create(image("https://example.com/cat.png")));
    assertEquals("messages[0].content[1].image_url.url", url.param().orElseThrow());
  }

  @Test
  void session_credentials_the_default_chain_and_an_api_key_each_get_in() {
    assertEquals("Hello from Bedrock.", client.chat().completions().create(hello("claude-session").build())
      .choices().get(0).message().content().orElseThrow());
    assertEquals(FakeBedrock.SESSION_TOKEN, bedrock.last().header("x-amz-security-token"));

    for (int i = 0; i < 2; i++) { // the second call signs with the credentials resolved for the first
      assertEquals("Hello from Bedrock.", client.chat().completions().create(hello("claude-chain").build())
        .choices().get(0).message().content().orElseThrow());
      assertTrue(bedrock.last().header("authorization").contains("Credential=" + FakeBedrock.ACCESS_KEY + "/"));
    }

    assertEquals("Hello from Bedrock.", client.chat().completions().create(hello("claude-api-key").build())
      .choices().get(0).message().content().orElseThrow());
    assertEquals("Bearer " + FakeBedrock.API_KEY, bedrock.last().header("authorization"));
    assertNull(bedrock.last().header("x-amz-date"), "an API key call is not signed");
  }

  @Test
  void a_signature_bedrock_cannot_verify_is_a_gateway_error_naming_no_secret() {
    OpenAIServiceException e = assertThrows(OpenAIServiceException.class,
      () -> client.chat().completions().create(hello("claude-wrong-secret").build()));
    assertEquals(502, e.statusCode());
    assertTrue(e.getMessage().contains("rejected the gateway's credentials"), e.getMessage());
    assertFalse(e.getMessage().contains("not-the-secret"), e.getMessage());
  }

  @Test
  void a_failed_call_is_retried_and_a_throttled_one_falls_back() {
    int before = bedrock.received.size();
    bedrock.failNext(503, 1);
    ChatCompletion answer = OpenAiSdk.streamed(client, hello("claude").build());
    assertEquals("Hello from Bedrock.", answer.choices().get(0).message().content().orElseThrow());
    assertEquals(before + 2, bedrock.received.size(), "the ServiceUnavailableException, then the retry");

    bedrock.failNext(429, 1);
    answer = client.chat().completions().create(hello("claude-busy").build());
    assertEquals("Hello from Bedrock.", answer.choices().get(0).message().content().orElseThrow());
    assertTrue(bedrock.last().uri().contains(CLAUDE.replace(":", "%3A")), "the ThrottlingException moved the turn to "
      + "the fallback: " + bedrock.last().uri());
  }

  @Test
  void an_exception_frame_before_any_text_is_retried() {
    int before = bedrock.received.size();
    bedrock.streamExceptionNext = "throttlingException";
    ChatCompletion answer = OpenAiSdk.streamed(client, hello("claude").build());
    assertEquals("Hello from Bedrock.", answer.choices().get(0).message().content().orElseThrow());
    assertEquals(before + 2, bedrock.received.size(), "the stream that failed, then the retry");
  }
}

package io.switchboard;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponseFormatJsonSchema;
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
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import io.switchboard.testing.OpenAiSdk;
import io.switchboard.testing.FakeOpenAi;
import io.switchboard.testing.Http;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An agent built on the official OpenAI Java SDK, through Switchboard, in front of an upstream that answers like
 * OpenAI's API and refuses a malformed tool round the way it does: tool calls both rounds (streamed and not), image
 * parts, logprobs, usage details, refusal, reasoning and structured output all arrive whole, in both directions.
 * Conversation memory (Redis) keeps tool turns and replays them correctly.
 */
class FidelityTest {
  private static final String IMAGE = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
  private static FakeOpenAi upstream;
  private static RedisServer redis;
  private static TestNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    upstream = new FakeOpenAi();
    redis = RedisServer.launchEmbedded();
    node = TestNode.start("""
      server:
        request_timeout_ms: 20000
      auth:
        enabled: true
        keys:
          - key: %s
            tenant: acme
      model_list:
        - model_name: gpt-fake
          provider: openai
          api_base: %s
          api_key: sk-upstream-key-0001
        - model_name: gpt-breaking
          provider: openai
          api_base: %s
        - model_name: backup
          provider: simulator
      routes:
        - {model_name: gpt-breaking, fallbacks: [backup], num_retries: 0}
      session: {store: redis, redis_url: "%s"}
      """.formatted(TestConfigs.ACME_KEY, upstream.baseUrl(), upstream.baseUrl(), redis.url()));
    client = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(TestConfigs.ACME_KEY).maxRetries(0)
      .timeout(Duration.ofSeconds(20)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
    redis.close();
    upstream.close();
  }


  private static ChatCompletionCreateParams.Builder ask(String text) {
    return ChatCompletionCreateParams.builder().model("gpt-fake").addUserMessage(text);
  }


  /** Round 1 gives a tool call; round 2 sends it back with its result and gets the answer: both as the API has them. */
  private static void toolRounds(boolean stream) {
    ChatCompletionCreateParams first = ask("What is the weather in Paris?").addTool(OpenAiSdk.weatherTool()).build();
    ChatCompletion one = stream ? OpenAiSdk.streamed(client, first) : client.chat().completions().create(first);
    ChatCompletion.Choice choice = one.choices().get(0);
    assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
    ChatCompletionMessage message = choice.message();
    ChatCompletionMessageFunctionToolCall call = message.toolCalls().orElseThrow().get(0).asFunction();
    assertEquals("get_weather", call.function().name());
    assertEquals("{\"city\":\"Paris\"}", call.function().arguments());
    JsonArray tools = upstream.last().getJsonArray("tools");
    assertEquals("get_weather", tools.getJsonObject(0).getJsonObject("function").getString("name"), "tools went up");

    ChatCompletionCreateParams second = ask("What is the weather in Paris?").addTool(OpenAiSdk.weatherTool())
      .addMessage(message)
      .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("sunny, 24 C").build())
      .build();
    ChatCompletion two = stream ? OpenAiSdk.streamed(client, second) : client.chat().completions().create(second);
    assertEquals("The tool said: sunny, 24 C.", two.choices().get(0).message().content().orElseThrow());
    JsonArray sent = upstream.last().getJsonArray("messages");
    JsonObject assistant = sent.getJsonObject(1);
    assertEquals(call.id(), assistant.getJsonArray("tool_calls").getJsonObject(0).getString("id"),
      "the assistant's tool call reached the upstream");
    assertEquals("{\"city\":\"Paris\"}", assistant.getJsonArray("tool_calls").getJsonObject(0)
      .getJsonObject("function").getString("arguments"));
    assertEquals(new JsonObject().put("role", "tool").put("tool_call_id", call.id()).put("content", "sunny, 24 C"),
      sent.getJsonObject(2), "the tool result reached the upstream as the client wrote it");
  }

  @Test
  void an_agent_calls_a_tool_and_answers_from_its_result() {
    toolRounds(false);
  }

  @Test
  void an_agent_calls_a_tool_and_answers_from_its_result_streamed() {
    toolRounds(true);
  }

  @Test
  void a_streamed_answer_assembled_by_the_sdk_equals_the_whole_one() {
    ChatCompletionCreateParams params = ask("What is the weather?").addTool(OpenAiSdk.weatherTool()).build();
    ChatCompletion whole = client.chat().completions().create(params);
    ChatCompletion assembled = OpenAiSdk.streamed(client, params);
    assertEquals(whole.choices().get(0).message().toolCalls(), assembled.choices().get(0).message().toolCalls());
    assertEquals(whole.choices().get(0).finishReason(), assembled.choices().get(0).finishReason());
    assertTrue(whole.id().startsWith("chatcmpl-req_"), "the gateway's id, not the upstream's: " + whole.id());
    assertTrue(assembled.id().startsWith("chatcmpl-req_"), assembled.id());
    assertEquals("gpt-fake", whole.model(), "the public model name, not the upstream's");
    assertEquals("gpt-fake", assembled.model());
  }

  @Test
  void a_malformed_tool_round_is_refused_by_the_upstream_as_the_real_api_does() {
    BadRequestException e = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
      ask("hi").addMessage(ChatCompletionToolMessageParam.builder().toolCallId("call_nowhere").content("x").build())
        .build()));
    assertTrue(e.getMessage().contains("must be a response to a preceeding message with 'tool_calls'"), e.getMessage());
  }

  @Test
  void a_tool_message_without_its_call_id_is_a_clear_400_from_the_gateway() {
    HttpResponse400 response = post(new JsonObject().put("model", "gpt-fake").put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", "hi"))
      .add(new JsonObject().put("role", "tool").put("content", "42"))));
    assertEquals(400, response.status());
    assertEquals("messages[1].tool_call_id", response.error().getString("param"));
  }

  @Test
  void an_image_part_reaches_the_upstream_intact() {
    ChatCompletion completion = client.chat().completions().create(ChatCompletionCreateParams.builder().model("gpt-fake")
      .addUserMessageOfArrayOfContentParts(List.of(
        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("What is this?").build()),
        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
          .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(IMAGE)
            .detail(ChatCompletionContentPartImage.ImageUrl.Detail.LOW).build()).build())))
      .build());
    assertTrue(completion.choices().get(0).message().content().orElseThrow().startsWith("I see an image (data)."));
    JsonArray parts = upstream.last().getJsonArray("messages").getJsonObject(0).getJsonArray("content");
    assertEquals(new JsonObject().put("type", "image_url").put("image_url", new JsonObject().put("url", IMAGE)
      .put("detail", "low")), parts.getJsonObject(1));
  }

  @Test
  void logprobs_usage_details_fingerprint_and_tier_reach_the_client() {
    ChatCompletion whole = client.chat().completions().create(ask("Capital?").logprobs(true).topLogprobs(2).build());
    assertTrue(upstream.last().getBoolean("logprobs"));
    assertEquals(2, upstream.last().getInteger("top_logprobs"), "parameters the gateway does not read go up");
    assertEquals(FakeOpenAi.FINGERPRINT, whole.systemFingerprint().orElseThrow());
    assertEquals(ChatCompletion.ServiceTier.DEFAULT, whole.serviceTier().orElseThrow());
    var logprobs = whole.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
    assertEquals("Paris ", logprobs.get(0).token());
    assertEquals(-0.25, logprobs.get(0).logprob());
    var usage = whole.usage().orElseThrow();
    assertEquals(0, usage.completionTokensDetails().orElseThrow().reasoningTokens().orElseThrow());
    assertEquals(0, usage.promptTokensDetails().orElseThrow().cachedTokens().orElseThrow());

    ChatCompletion assembled = OpenAiSdk.streamed(client, ask("Capital?").logprobs(true)
      .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build());
    assertEquals(whole.choices().get(0).message().content(), assembled.choices().get(0).message().content());
    assertEquals(logprobs.size(), assembled.choices().get(0).logprobs().orElseThrow().content().orElseThrow().size(),
      "every streamed token's logprobs");
    assertEquals(usage.completionTokensDetails(), assembled.usage().orElseThrow().completionTokensDetails());
  }

  @Test
  void refusal_and_reasoning_content_arrive_streamed_and_not() {
    ChatCompletion refused = client.chat().completions().create(ask("please refuse").build());
    assertEquals("I can't help with that.", refused.choices().get(0).message().refusal().orElseThrow());
    assertEquals("I can't help with that.", OpenAiSdk.streamed(client, ask("please refuse").build()).choices().get(0).message()
      .refusal().orElseThrow());

    String raw = Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject().put("model", "gpt-fake")
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "think first")))
      .encode(), "authorization", "Bearer " + TestConfigs.ACME_KEY).body();
    assertEquals("The user asks about capitals.", new JsonObject(raw).getJsonArray("choices").getJsonObject(0)
      .getJsonObject("message").getString("reasoning_content"), "a field the SDK does not know still arrives");
    List<String> events = Http.sseData(Http.postLines(node.baseUrl() + "/v1/chat/completions", new JsonObject()
      .put("model", "gpt-fake").put("stream", true)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "think first")))
      .encode(), "authorization", "Bearer " + TestConfigs.ACME_KEY));
    StringBuilder reasoning = new StringBuilder();
    for (String event : events) {
      if (!event.equals("[DONE]")) {
        JsonObject delta = new JsonObject(event).getJsonArray("choices").getJsonObject(0).getJsonObject("delta");
        reasoning.append(delta.getString("reasoning_content", ""));
      }
    }
    assertEquals("The user asks about capitals.", reasoning.toString());
    assertEquals("[DONE]", events.get(events.size() - 1));
    assertFalse(events.stream().anyMatch(e -> e.contains("\"usage\":{")), "no usage chunk unless asked: " + events);
  }

  @Test
  void structured_output_goes_up_and_comes_back() {
    ChatCompletion completion = client.chat().completions().create(ask("Weather as JSON").responseFormat(
      ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder().name("weather")
        .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
          .putAdditionalProperty("type", JsonValue.from("object")).build()).strict(true).build()).build()).build());
    assertEquals("{\"city\":\"Paris\",\"sunny\":true}", completion.choices().get(0).message().content().orElseThrow());
    JsonObject format = upstream.last().getJsonObject("response_format");
    assertEquals("json_schema", format.getString("type"));
    assertEquals("weather", format.getJsonObject("json_schema").getString("name"));
    assertTrue(format.getJsonObject("json_schema").getBoolean("strict"));
  }

  @Test
  void memory_keeps_tool_turns_and_replays_them_on_the_next_turn() {
    String conversation = "tools-" + System.nanoTime();
    String auth = "Bearer " + TestConfigs.ACME_KEY;
    JsonArray tools = new JsonArray().add(new JsonObject().put("type", "function").put("function",
      new JsonObject().put("name", "get_weather").put("parameters", new JsonObject().put("type", "object"))));
    JsonObject round1 = new JsonObject(Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject()
      .put("model", "gpt-fake").put("tools", tools).put("messages", new JsonArray().add(new JsonObject()
        .put("role", "user").put("content", "Weather in Paris?"))).encode(),
      "authorization", auth, "x-conversation-id", conversation).body());
    JsonObject call = round1.getJsonArray("choices").getJsonObject(0).getJsonObject("message")
      .getJsonArray("tool_calls").getJsonObject(0);

    // the client sends only the tool result: the call it answers comes from memory
    var round2 = Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject().put("model", "gpt-fake")
      .put("tools", tools).put("messages", new JsonArray().add(new JsonObject().put("role", "tool")
        .put("tool_call_id", call.getString("id")).put("content", "sunny"))).encode(),
      "authorization", auth, "x-conversation-id", conversation);
    assertEquals(200, round2.statusCode(), round2.body());
    assertEquals("on", round2.headers().firstValue("x-switchboard-memory").orElseThrow());
    JsonArray replayed = upstream.last().getJsonArray("messages");
    assertEquals(3, replayed.size(), replayed.encode());
    assertEquals(call, replayed.getJsonObject(1).getJsonArray("tool_calls").getJsonObject(0),
      "the stored assistant message kept its tool call whole");
    assertNull(replayed.getJsonObject(1).getValue("content"));

    // streamed, with an image part: the next turn replays both
    List<String> events = Http.sseData(Http.postLines(node.baseUrl() + "/v1/chat/completions", new JsonObject()
      .put("model", "gpt-fake").put("stream", true).put("messages", new JsonArray().add(new JsonObject()
        .put("role", "user").put("content", new JsonArray()
          .add(new JsonObject().put("type", "text").put("text", "And this?"))
          .add(new JsonObject().put("type", "image_url").put("image_url", new JsonObject().put("url", IMAGE))))))
      .encode(), "authorization", auth, "x-conversation-id", conversation));
    assertEquals("[DONE]", events.get(events.size() - 1));
    JsonObject stored = new JsonObject(Http.get(node.baseUrl() + "/v1/conversations/" + conversation,
      "authorization", auth).body());
    JsonArray messages = stored.getJsonArray("messages");
    assertEquals(6, messages.size(), messages.encode());
    assertEquals(IMAGE, messages.getJsonObject(4).getJsonArray("content").getJsonObject(1)
      .getJsonObject("image_url").getString("url"));
    assertTrue(messages.getJsonObject(5).getString("content").startsWith("I see an image (data)."),
      "the streamed answer was stored whole: " + messages.getJsonObject(5));
  }

  @Test
  void the_npm_openai_sdk_runs_the_same_agent() throws Exception {
    java.nio.file.Path script = java.nio.file.Path.of("src/test/js/openai-sdk.mjs");
    boolean ready = java.nio.file.Files.isDirectory(java.nio.file.Path.of("src/test/js/node_modules/openai"));
    if (!ready && "true".equals(System.getenv("CI"))) {
      throw new AssertionError("CI must run npm ci in verticles/src/test/js");
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(ready, "the npm SDK is not installed (npm ci in verticles/src/test/js)");
    Process sdk = new ProcessBuilder("node", script.getFileName().toString(), node.baseUrl(), TestConfigs.ACME_KEY)
      .directory(script.getParent().toFile()).redirectErrorStream(true).start();
    assertTrue(sdk.waitFor(90, java.util.concurrent.TimeUnit.SECONDS), "the SDK run ends by itself");
    String output = new String(sdk.getInputStream().readAllBytes());
    assertEquals(0, sdk.exitValue(), output);
    assertTrue(output.contains("PASSED"), output);
  }

  private static List<String> streamEvents(JsonObject body) {
    return Http.sseData(Http.postLines(node.baseUrl() + "/v1/chat/completions", body.put("stream", true).encode(),
      "authorization", "Bearer " + TestConfigs.ACME_KEY));
  }

  @Test
  void a_streamed_answer_names_its_deployment_in_a_header() {
    var response = Http.postLines(node.baseUrl() + "/v1/chat/completions", new JsonObject().put("model", "gpt-fake")
      .put("stream", true).put("messages", new JsonArray().add(new JsonObject().put("role", "user")
        .put("content", "Capital?"))).encode(), "authorization", "Bearer " + TestConfigs.ACME_KEY);
    assertEquals("gpt-fake.0", response.headers().firstValue("x-switchboard-deployment").orElse(null));
    List<String> events = Http.sseData(response);
    assertEquals("[DONE]", events.get(events.size() - 1));
  }

  @Test
  void a_text_stream_that_breaks_is_carried_on_by_the_fallback() {
    List<String> events = streamEvents(new JsonObject().put("model", "gpt-breaking").put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", "Capital? then break"))));
    assertEquals("[DONE]", events.get(events.size() - 1), "one stream, one end: " + events);
    StringBuilder text = new StringBuilder();
    for (String event : events.subList(0, events.size() - 1)) {
      assertFalse(event.contains("\"error\""), event);
      JsonArray choices = new JsonObject(event).getJsonArray("choices");
      if (!choices.isEmpty()) {
        text.append(choices.getJsonObject(0).getJsonObject("delta").getString("content", ""));
      }
    }
    assertTrue(text.toString().startsWith("Paris ") && text.length() > "Paris ".length(),
      "the broken upstream's piece, then the fallback's continuation: " + text);
  }

  @Test
  void a_stream_that_breaks_after_a_tool_call_reached_the_client_ends_with_an_error_not_another_models_guess() {
    List<String> events = streamEvents(new JsonObject().put("model", "gpt-breaking").put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", "Weather? then break")))
      .put("tools", new JsonArray().add(new JsonObject().put("type", "function").put("function",
        new JsonObject().put("name", "get_weather").put("parameters", new JsonObject().put("type", "object"))))));
    assertTrue(events.stream().anyMatch(e -> e.contains("\"tool_calls\"")), "the call's start reached the client");
    String last = events.get(events.size() - 1);
    assertFalse(events.contains("[DONE]"), "never a silent, wrong success: " + events);
    assertEquals("stream_broken", new JsonObject(last).getJsonObject("error").getString("code"), last);
  }

  private record HttpResponse400(int status, JsonObject error) {
  }

  private static HttpResponse400 post(JsonObject body) {
    var response = Http.post(node.baseUrl() + "/v1/chat/completions", body.encode(), "authorization",
      "Bearer " + TestConfigs.ACME_KEY);
    return new HttpResponse400(response.statusCode(), new JsonObject(response.body()).getJsonObject("error"));
  }
}

package io.switchboard.inference;

import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.config.SwitchboardConfig.Breaker;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Anthropic Messages protocol both ways, over real HTTP against a fake Anthropic on loopback. */
class AnthropicUpstreamTest {
  private static final String KEY_ONE = "sk-ant-api03-test-key-one";
  private static final String KEY_TWO = "sk-ant-api03-test-key-two";
  private static Vertx vertx;
  private static FakeAnthropic anthropic;

  private HttpClientAgent client;
  private AnthropicUpstream upstream;
  private Context context;
  private final List<String> deltas = new CopyOnWriteArrayList<>();
  private final List<Chunk> chunks = new CopyOnWriteArrayList<>();

  /** One OpenAI chunk as the upstream handed it on, with its flags. */
  private record Chunk(JsonObject json, int flags) {
    JsonObject delta() {
      JsonArray choices = json.getJsonArray("choices");
      return choices.isEmpty() ? new JsonObject() : choices.getJsonObject(0).getJsonObject("delta");
    }
  }

  @BeforeAll
  static void startFake() throws Exception {
    vertx = Vertx.vertx();
    anthropic = FakeAnthropic.start(vertx);
  }

  @AfterAll
  static void stopFake() throws Exception {
    anthropic.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void newUpstream() {
    anthropic.received.clear();
    upstream = upstream(anthropic.baseUrl());
  }

  @AfterEach
  void closeUpstream() throws Exception {
    upstream.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private AnthropicUpstream upstream(String baseUrl) {
    Deployment deployment = new Deployment("claude-sonnet@anthropic", "claude-sonnet", "anthropic", baseUrl,
      List.of(KEY_ONE, KEY_TWO), "claude-sonnet-4-5", 1, 30_000, 2_000, 10_000, 10_000, 8, 16, null,
      new Breaker(5, 10_000));
    client = vertx.httpClientBuilder().with(new HttpClientOptions().setConnectTimeout(2_000)).build();
    context = vertx.getOrCreateContext();
    return new AnthropicUpstream(deployment, baseUrl, client,
      new UpstreamSlots(vertx, deployment, new io.micrometer.core.instrument.simple.SimpleMeterRegistry()));
  }

  private static ChatRequest request(boolean stream, String options, ChatMessage... messages) {
    return new ChatRequest("req-1", "tenant-a", "claude-sonnet", List.of(messages), stream,
      options == null ? null : new JsonObject(options),
      stream ? "inbox.node-1" : null, 30_000, null, 0);
  }

  private static ChatRequest ask(boolean stream, String prompt) {
    return request(stream, null, new ChatMessage("user", prompt));
  }

  /** Calls the upstream on an event loop, as the inference proxy does. */
  private CompletableFuture<ChatResult> start(ChatRequest request, CancelSignal cancel) {
    CompletableFuture<ChatResult> result = new CompletableFuture<>();
    context.runOnContext(v -> upstream.call(request, (data, text, flags) -> {
      String event = data.toString();
      assertTrue(event.startsWith("data: ") && event.endsWith("\n\n"), "one server-sent event: " + event);
      chunks.add(new Chunk(data.slice(6, data.length() - 2).toJsonObject(), flags));
      if (!text.isEmpty()) {
        deltas.add(text);
      }
    }, cancel).onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
      } else {
        result.completeExceptionally(ar.cause());
      }
    }));
    return result;
  }

  private ChatResult call(ChatRequest request) throws Exception {
    return start(request, new CancelSignal()).get(10, TimeUnit.SECONDS);
  }

  private UpstreamFailure failure(CompletableFuture<ChatResult> call) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(10, TimeUnit.SECONDS));
    UpstreamFailure failure = assertInstanceOf(UpstreamFailure.class, e.getCause());
    String said = failure.error().toJson().encode();
    assertFalse(said.contains("sk-ant"), "never the key: " + said);
    assertFalse(said.contains("127.0.0.1") || said.contains("/v1/messages"), "never the URL: " + said);
    return failure;
  }

  private UpstreamFailure failure(ChatRequest request) {
    return failure(start(request, new CancelSignal()));
  }

  @Test
  void the_request_is_translated_to_the_messages_api() throws Exception {
    String options = new JsonObject().put("max_completion_tokens", 256).put("temperature", 0.2).put("top_p", 0.9)
      .put("stop", new JsonArray().add("END").add("STOP")).put("frequency_penalty", 0.5).put("presence_penalty", 0.1)
      .put("seed", 7).put("logit_bias", new JsonObject().put("50256", -100)).put("n", 1)
      .put("response_format", new JsonObject().put("type", "json_object")).put("user", "user-42").encode();
    call(request(false, options,
      new ChatMessage("system", "Be brief."),
      new ChatMessage("user", "first"),
      new ChatMessage("developer", "Answer in English."),
      new ChatMessage("user", "second"),
      new ChatMessage("assistant", "one"),
      new ChatMessage("assistant", "two"),
      new ChatMessage("user", "third", "alice")));

    FakeAnthropic.Received sent = anthropic.last();
    assertEquals("POST", sent.method());
    assertEquals("/v1/messages", sent.path());
    assertEquals(KEY_ONE, sent.header("x-api-key"));
    assertNull(sent.header("authorization"), "Anthropic takes the key in x-api-key only");
    assertEquals("2023-06-01", sent.header("anthropic-version"));
    assertEquals("application/json", sent.header("content-type"));

    JsonObject body = sent.body();
    assertEquals(Set.of("model", "system", "messages", "max_tokens", "temperature", "top_p", "stop_sequences",
      "metadata"), body.fieldNames(), "OpenAI-only options are dropped: " + body);
    assertEquals("claude-sonnet-4-5", body.getString("model"));
    assertEquals("Be brief.\n\nAnswer in English.", body.getString("system"));
    assertEquals(new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", new JsonArray().add(text("first")).add(text("second"))))
      .add(new JsonObject().put("role", "assistant").put("content", new JsonArray().add(text("one")).add(text("two"))))
      .add(new JsonObject().put("role", "user").put("content", "third")), body.getJsonArray("messages"),
      "consecutive messages of one side share a turn; a lone text is a string");
    assertEquals(256, body.getInteger("max_tokens"));
    assertEquals(0.2, body.getDouble("temperature"));
    assertEquals(0.9, body.getDouble("top_p"));
    assertEquals(new JsonArray().add("END").add("STOP"), body.getJsonArray("stop_sequences"));
    assertEquals("user-42", body.getJsonObject("metadata").getString("user_id"));
  }

  @Test
  void max_tokens_defaults_and_a_single_stop_string_becomes_a_list() throws Exception {
    call(request(true, new JsonObject().put("stop", "\n\nHuman:").put("temperature", 1.7).encode(),
      new ChatMessage("user", "hi")));
    JsonObject body = anthropic.last().body();
    assertEquals(AnthropicUpstream.DEFAULT_MAX_TOKENS, body.getInteger("max_tokens"));
    assertEquals(new JsonArray().add("\n\nHuman:"), body.getJsonArray("stop_sequences"));
    assertEquals(1.0, body.getDouble("temperature"), "OpenAI's 0..2 is clamped to Anthropic's 0..1");
    assertTrue(body.getBoolean("stream"));
    assertFalse(body.containsKey("system"), "no system prompt, no system field");

    call(request(false, new JsonObject().put("max_tokens", 77).put("max_completion_tokens", 99).encode(),
      new ChatMessage("user", "hi")));
    assertEquals(77, anthropic.last().body().getInteger("max_tokens"));
    assertFalse(anthropic.last().body().containsKey("stream"));
  }

  private static JsonObject text(String text) {
    return new JsonObject().put("type", "text").put("text", text);
  }

  private static final JsonObject WEATHER = new JsonObject().put("type", "function").put("function", new JsonObject()
    .put("name", "get_weather").put("description", "Weather in a city").put("parameters", new JsonObject()
      .put("type", "object").put("properties", new JsonObject().put("city", new JsonObject().put("type", "string")))
      .put("required", new JsonArray().add("city"))));
  private static final JsonObject TIME = new JsonObject().put("type", "function").put("function", new JsonObject()
    .put("name", "get_time"));
  /** A 1x1 PNG. */
  private static final String PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

  private static String tools(JsonObject... tools) {
    return new JsonObject().put("tools", new JsonArray(List.of((Object[]) tools))).encode();
  }

  private static JsonObject options(String json) {
    return new JsonObject(json);
  }

  private static ChatMessage assistantCalling(String content, String... idNameArguments) {
    JsonArray calls = new JsonArray();
    for (int i = 0; i < idNameArguments.length; i += 3) {
      calls.add(new JsonObject().put("id", idNameArguments[i]).put("type", "function").put("function",
        new JsonObject().put("name", idNameArguments[i + 1]).put("arguments", idNameArguments[i + 2])));
    }
    JsonObject message = new JsonObject().put("role", "assistant").put("content", content).put("tool_calls", calls);
    return new ChatMessage(message);
  }

  private static ChatMessage toolResult(String id, String content) {
    return new ChatMessage(new JsonObject().put("role", "tool").put("tool_call_id", id).put("content", content));
  }

  private static ChatMessage userParts(JsonObject... parts) {
    return new ChatMessage(new JsonObject().put("role", "user").put("content", new JsonArray(List.of((Object[]) parts))));
  }

  private static JsonObject imagePart(String url) {
    return new JsonObject().put("type", "image_url").put("image_url", new JsonObject().put("url", url)
      .put("detail", "high"));
  }

  @Test
  void function_tools_and_every_tool_choice_are_said_the_anthropic_way() throws Exception {
    call(request(false, tools(WEATHER, TIME), new ChatMessage("user", "Weather in Oslo?")));
    JsonObject body = anthropic.last().body();
    assertEquals(new JsonArray()
      .add(new JsonObject().put("name", "get_weather").put("description", "Weather in a city").put("input_schema",
        WEATHER.getJsonObject("function").getJsonObject("parameters")))
      .add(new JsonObject().put("name", "get_time").put("input_schema", new JsonObject().put("type", "object")
        .put("properties", new JsonObject()))), body.getJsonArray("tools"),
      "name, description, parameters as input_schema (an empty object schema when a function takes none)");
    assertFalse(body.containsKey("tool_choice"), "OpenAI's default is Anthropic's default: auto");

    Map<Object, JsonObject> choices = new LinkedHashMap<>();
    choices.put("auto", new JsonObject().put("type", "auto"));
    choices.put("required", new JsonObject().put("type", "any"));
    choices.put("none", new JsonObject().put("type", "none"));
    choices.put(new JsonObject().put("type", "function").put("function", new JsonObject().put("name", "get_time")),
      new JsonObject().put("type", "tool").put("name", "get_time"));
    for (Map.Entry<Object, JsonObject> choice : choices.entrySet()) {
      ChatResult result = call(request(false, options(tools(WEATHER, TIME)).put("tool_choice", choice.getKey()).encode(),
        new ChatMessage("user", "Weather in Oslo?")));
      assertEquals(choice.getValue(), anthropic.last().body().getJsonObject("tool_choice"), "for " + choice.getKey());
      assertEquals(2, anthropic.last().body().getJsonArray("tools").size(), "none keeps the tools, uncallable");
      assertEquals(!choice.getKey().equals("none"), result.message().containsKey("tool_calls"), "for " + choice.getKey());
    }

    ChatResult one = call(request(false, options(tools(WEATHER, TIME)).put("parallel_tool_calls", false).encode(),
      new ChatMessage("user", "Weather and time? " + FakeAnthropic.TWO_TOOLS)));
    assertEquals(new JsonObject().put("type", "auto").put("disable_parallel_tool_use", true),
      anthropic.last().body().getJsonObject("tool_choice"));
    assertFalse(anthropic.last().body().containsKey("parallel_tool_calls"));
    assertEquals(1, one.message().getJsonArray("tool_calls").size(), "one call at a time");
    ChatResult two = call(request(false, tools(WEATHER, TIME),
      new ChatMessage("user", "Weather and time? " + FakeAnthropic.TWO_TOOLS)));
    assertEquals(2, two.message().getJsonArray("tool_calls").size(), "parallel calls by default, as OpenAI");
  }

  @Test
  void a_tool_call_is_translated_back_to_openai_tool_calls() throws Exception {
    ChatResult result = call(request(false, tools(WEATHER), new ChatMessage("user", "Weather in Oslo?")));
    assertEquals("tool_calls", result.finishReason(), "stop_reason tool_use");
    assertEquals(new JsonObject().put("role", "assistant").put("content", FakeAnthropic.TOOL_INTRO).putNull("refusal")
      .put("tool_calls", new JsonArray().add(new JsonObject().put("id", "toolu_01A09q90qw90lq917835lq90")
        .put("type", "function").put("function", new JsonObject().put("name", "get_weather")
          .put("arguments", "{\"city\":\"Weather in Oslo?\"}")))), result.message());
    JsonObject completion = result.completion().toJsonObject();
    assertEquals("chat.completion", completion.getString("object"));
    assertEquals(result.message(), completion.getJsonArray("choices").getJsonObject(0).getJsonObject("message"));
    assertEquals("tool_calls", completion.getJsonArray("choices").getJsonObject(0).getString("finish_reason"));

    ChatResult forced = call(request(false, options(tools(WEATHER)).put("tool_choice", "required").encode(),
      new ChatMessage("user", "Weather in Oslo?")));
    assertTrue(forced.message().containsKey("content") && forced.message().getValue("content") == null,
      "content is null when the answer only calls tools: " + forced.message());
  }

  @Test
  void a_tool_round_is_tool_use_blocks_then_every_result_in_one_user_turn() throws Exception {
    ChatResult result = call(request(false, tools(WEATHER),
      new ChatMessage("system", "Be brief."),
      new ChatMessage("user", "Weather in Oslo and Paris?"),
      assistantCalling("Checking both.", "call_oslo", "get_weather", "{\"city\":\"Oslo\"}",
        "functions.get_weather:1", "get_weather", "{\"city\": \"Paris\"}"),
      toolResult("call_oslo", "Snow, -3 C"),
      toolResult("functions.get_weather:1", "Rain, 9 C"),
      new ChatMessage("user", "Keep it short.")));
    JsonArray messages = anthropic.last().body().getJsonArray("messages");
    assertEquals(3, messages.size(), "user, assistant, user: " + messages.encodePrettily());
    assertEquals(new JsonObject().put("role", "assistant").put("content", new JsonArray()
      .add(text("Checking both."))
      .add(new JsonObject().put("type", "tool_use").put("id", "call_oslo").put("name", "get_weather")
        .put("input", new JsonObject().put("city", "Oslo")))
      .add(new JsonObject().put("type", "tool_use").put("id", "functions_get_weather_1").put("name", "get_weather")
        .put("input", new JsonObject().put("city", "Paris")))), messages.getJsonObject(1),
      "arguments parsed into input; an id Anthropic's pattern refuses is mapped");
    assertEquals(new JsonObject().put("role", "user").put("content", new JsonArray()
      .add(new JsonObject().put("type", "tool_result").put("tool_use_id", "call_oslo").put("content", "Snow, -3 C"))
      .add(new JsonObject().put("type", "tool_result").put("tool_use_id", "functions_get_weather_1")
        .put("content", "Rain, 9 C"))
      .add(text("Keep it short."))), messages.getJsonObject(2),
      "consecutive tool results in one user turn, right after their tool_use, the user's text after them");
    assertEquals("The tool said: Snow, -3 C; Rain, 9 C", result.content());
    assertEquals("stop", result.finishReason());
  }

  @Test
  void a_conversation_with_earlier_tool_calls_but_no_tools_now_declares_them_uncallable() throws Exception {
    ChatResult result = call(request(false, null,
      new ChatMessage("user", "Weather in Oslo?"),
      assistantCalling(null, "call_1", "get_weather", "{\"city\":\"Oslo\"}"),
      toolResult("call_1", "Snow"),
      new ChatMessage("assistant", "Snow in Oslo."),
      new ChatMessage("user", "Thanks! And a joke?")));
    JsonObject body = anthropic.last().body();
    assertEquals(new JsonArray().add(new JsonObject().put("name", "get_weather")
      .put("input_schema", new JsonObject().put("type", "object"))), body.getJsonArray("tools"));
    assertEquals(new JsonObject().put("type", "none"), body.getJsonObject("tool_choice"));
    assertFalse(result.message().containsKey("tool_calls"), "accepted (Anthropic refuses tool blocks without tools), "
      + "and nothing called");
  }

  @Test
  void images_as_data_urls_and_https_urls_become_image_blocks() throws Exception {
    ChatResult result = call(request(false, null, userParts(new JsonObject().put("type", "text").put("text", "Compare"),
      imagePart("data:image/png;base64," + PNG), imagePart("https://upload.example.org/cat.jpg"))));
    JsonArray content = anthropic.last().body().getJsonArray("messages").getJsonObject(0).getJsonArray("content");
    assertEquals(new JsonArray().add(text("Compare"))
      .add(new JsonObject().put("type", "image").put("source", new JsonObject().put("type", "base64")
        .put("media_type", "image/png").put("data", PNG)))
      .add(new JsonObject().put("type", "image").put("source", new JsonObject().put("type", "url")
        .put("url", "https://upload.example.org/cat.jpg"))), content, "detail has no Anthropic form");
    assertEquals("I see an image image/png, " + PNG.length() + " base64 characters and an image at "
      + "https://upload.example.org/cat.jpg.", result.content());
  }

  @Test
  void an_image_type_anthropic_refuses_is_its_400_in_its_words() {
    UpstreamFailure failure = failure(request(false, null, userParts(imagePart("data:image/bmp;base64,Qk0eAAAA"))));
    assertEquals(400, failure.error().status());
    assertFalse(failure.retryable());
    assertEquals("messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
      + "'image/gif' or 'image/webp'", failure.error().message());
  }

  @Test
  void what_anthropic_cannot_say_is_a_clear_400_naming_the_field_and_nothing_is_sent() {
    Map<ChatRequest, String> untranslatable = new LinkedHashMap<>();
    untranslatable.put(request(false, null, userParts(new JsonObject().put("type", "input_audio")
      .put("input_audio", new JsonObject().put("data", "UklGR").put("format", "wav")))), "messages[0].content[0]");
    untranslatable.put(request(false, null, userParts(new JsonObject().put("type", "file")
      .put("file", new JsonObject().put("file_id", "file-abc")))), "messages[0].content[0].file");
    untranslatable.put(request(false, null, userParts(imagePart("ftp://example.org/cat.png"))),
      "messages[0].content[0].image_url.url");
    untranslatable.put(request(false, null, userParts(imagePart("data:image/svg+xml;utf8,<svg/>"))),
      "messages[0].content[0].image_url.url");
    untranslatable.put(request(false, new JsonObject().put("functions", new JsonArray()).encode(),
      new ChatMessage("user", "hi")), "functions");
    untranslatable.put(request(false, tools(new JsonObject().put("type", "custom").put("custom",
      new JsonObject().put("name", "grammar"))), new ChatMessage("user", "hi")), "tools[0]");
    untranslatable.put(request(false, tools(WEATHER), new ChatMessage("user", "hi"),
      assistantCalling(null, "call_1", "get_weather", "not json"), toolResult("call_1", "x")),
      "messages[1].tool_calls[0].function.arguments");
    for (Map.Entry<ChatRequest, String> refused : untranslatable.entrySet()) {
      UpstreamFailure failure = failure(refused.getKey());
      assertEquals(400, failure.error().status(), failure.error().message());
      assertFalse(failure.retryable());
      assertEquals(refused.getValue(), failure.error().param(), failure.error().message());
    }
    assertEquals(List.of(), anthropic.received, "refused before sending");
  }

  @Test
  void a_greeting_by_the_assistant_first_is_preceded_by_a_user_turn() throws Exception {
    call(request(false, null, new ChatMessage("system", "Be kind."),
      new ChatMessage("assistant", "Hi! How can I help?"), new ChatMessage("user", "hello")));
    JsonArray messages = anthropic.last().body().getJsonArray("messages");
    assertEquals("user", messages.getJsonObject(0).getString("role"), "Anthropic wants the user first");
    assertEquals("Hi! How can I help?", messages.getJsonObject(1).getString("content"));

    call(request(false, null, new ChatMessage("user", "Finish: roses are"), new ChatMessage("assistant", "red ")));
    assertEquals("red", anthropic.last().body().getJsonArray("messages").getJsonObject(1).getString("content"),
      "a prefill must not end in whitespace");
  }

  /** Puts OpenAI chunks back together the way the SDKs do, from their JSON alone. */
  private static JsonObject assemble(List<Chunk> chunks) {
    StringBuilder content = new StringBuilder();
    StringBuilder reasoning = new StringBuilder();
    Map<Integer, JsonObject> calls = new TreeMap<>();
    for (Chunk chunk : chunks) {
      JsonObject delta = chunk.delta();
      content.append(delta.getString("content", ""));
      reasoning.append(delta.getString("reasoning_content", ""));
      for (Object raw : delta.getJsonArray("tool_calls", new JsonArray())) {
        JsonObject fragment = (JsonObject) raw;
        JsonObject call = calls.computeIfAbsent(fragment.getInteger("index"), i -> new JsonObject()
          .put("function", new JsonObject().put("arguments", "")));
        if (fragment.containsKey("id")) {
          call.put("id", fragment.getString("id")).put("type", fragment.getString("type"));
          call.getJsonObject("function").put("name", fragment.getJsonObject("function").getString("name"));
        }
        JsonObject function = call.getJsonObject("function");
        function.put("arguments", function.getString("arguments")
          + fragment.getJsonObject("function").getString("arguments", ""));
      }
    }
    JsonObject message = new JsonObject().put("content", content.toString());
    if (reasoning.length() > 0) {
      message.put("reasoning_content", reasoning.toString());
    }
    if (!calls.isEmpty()) {
      message.put("tool_calls", new JsonArray(new ArrayList<>(calls.values())));
    }
    return message;
  }

  /** Tool calls with their arguments parsed: Anthropic's stream writes the JSON with spaces, its message without. */
  private static JsonArray parsedCalls(JsonObject message) {
    JsonArray calls = new JsonArray();
    for (Object raw : message.getJsonArray("tool_calls", new JsonArray())) {
      JsonObject call = ((JsonObject) raw).copy();
      JsonObject function = call.getJsonObject("function");
      function.put("arguments", new JsonObject(function.getString("arguments")));
      calls.add(call);
    }
    return calls;
  }

  @Test
  void a_streamed_tool_call_assembles_into_the_whole_one() throws Exception {
    String prompt = "Weather and time in Oslo? " + FakeAnthropic.TWO_TOOLS;
    ChatResult whole = call(request(false, tools(WEATHER, TIME), new ChatMessage("user", prompt)));
    ChatResult streamed = call(request(true, tools(WEATHER, TIME), new ChatMessage("user", prompt)));

    JsonObject assembled = assemble(chunks);
    assertEquals(whole.content(), assembled.getString("content"));
    JsonArray calls = parsedCalls(whole.message());
    assertEquals(2, calls.size());
    assertEquals(calls, parsedCalls(assembled), "the chunks carry the same calls, indexes 0 and 1");
    assertEquals(calls, parsedCalls(streamed.message()), "the assembled result for memory, too");
    assertEquals(whole.message().getString("content"), streamed.message().getString("content"));
    assertEquals("tool_calls", streamed.finishReason());
    assertEquals(whole.usage(), streamed.usage());

    List<Chunk> toolChunks = chunks.stream().filter(c -> c.delta().containsKey("tool_calls")).toList();
    assertTrue(toolChunks.size() > 4, "argument fragments arrive as they come: " + toolChunks.size());
    assertTrue(toolChunks.stream().allMatch(c -> c.flags() == StreamChunk.TOOL_CALLS),
      "tool-call chunks are flagged so no other model continues the stream");
    assertEquals(new JsonObject().put("index", 0).put("id", "toolu_01A09q90qw90lq917835lq90").put("type", "function")
        .put("function", new JsonObject().put("name", "get_weather").put("arguments", "")),
      toolChunks.get(0).delta().getJsonArray("tool_calls").getJsonObject(0), "a call opens with index, id and name");
    assertEquals(Set.of("index", "function"), toolChunks.get(1).delta().getJsonArray("tool_calls").getJsonObject(0)
      .fieldNames(), "then only argument fragments");
    assertTrue(chunks.stream().filter(c -> !c.delta().containsKey("tool_calls")).noneMatch(c -> c.flags()
      == StreamChunk.TOOL_CALLS));
    Chunk finish = chunks.get(chunks.size() - 2);
    assertEquals("tool_calls", finish.json().getJsonArray("choices").getJsonObject(0).getString("finish_reason"));
  }

  @Test
  void thinking_is_reasoning_content_whole_and_streamed() throws Exception {
    String options = new JsonObject().put("reasoning_effort", "medium").put("temperature", 0.3).encode();
    ChatResult whole = call(request(false, options, new ChatMessage("user", "Think, then say hello.")));
    JsonObject body = anthropic.last().body();
    assertEquals(new JsonObject().put("type", "enabled").put("budget_tokens", 4096), body.getJsonObject("thinking"));
    assertEquals(AnthropicUpstream.DEFAULT_MAX_TOKENS + 4096, body.getInteger("max_tokens"),
      "thinking on top of the default answer length");
    assertFalse(body.containsKey("temperature"), "Anthropic takes no temperature with thinking");
    assertEquals(FakeAnthropic.THOUGHT, whole.message().getString("reasoning_content"));
    assertEquals("Hello, wörld.", whole.content(), "the thinking is not the content");

    ChatResult streamed = call(request(true, options, new ChatMessage("user", "Think, then say hello.")));
    assertEquals(FakeAnthropic.THOUGHT, streamed.message().getString("reasoning_content"));
    assertEquals(FakeAnthropic.THOUGHT, assemble(chunks).getString("reasoning_content"));
    assertEquals("Hello, wörld.", streamed.content());
    List<Chunk> thinking = chunks.stream().filter(c -> c.delta().containsKey("reasoning_content")).toList();
    assertTrue(thinking.size() > 1 && thinking.stream().allMatch(c -> c.flags() == StreamChunk.OTHER), thinking.toString());
    assertFalse(String.join("", deltas).contains(FakeAnthropic.THOUGHT), "reasoning is not content text");

    call(request(false, new JsonObject().put("reasoning_effort", "high").put("max_tokens", 3000).encode(),
      new ChatMessage("user", "hi")));
    assertEquals(2999, anthropic.last().body().getJsonObject("thinking").getInteger("budget_tokens"),
      "within the client's max_tokens, as OpenAI counts reasoning in it");
    call(request(false, new JsonObject().put("reasoning_effort", "low").put("max_tokens", 800).encode(),
      new ChatMessage("user", "hi")));
    assertFalse(anthropic.last().body().containsKey("thinking"), "too small for Anthropic's 1024 minimum");
    call(request(false, options(tools(WEATHER)).put("reasoning_effort", "low").put("tool_choice", "required").encode(),
      new ChatMessage("user", "hi")));
    assertFalse(anthropic.last().body().containsKey("thinking"), "Anthropic cannot think with a forced tool");
    ChatResult round = call(request(false, options(tools(WEATHER)).put("reasoning_effort", "low").encode(),
      new ChatMessage("user", "Weather?"), assistantCalling(null, "call_1", "get_weather", "{}"),
      toolResult("call_1", "Sun")));
    assertFalse(anthropic.last().body().containsKey("thinking"),
      "not mid tool round: Anthropic wants the signed thinking block back, which OpenAI messages cannot carry");
    assertEquals("The tool said: Sun", round.content());
  }

  @Test
  void cached_prompt_tokens_are_counted_in_and_named_in_the_details() throws Exception {
    String prompt = "Weather? " + FakeAnthropic.CACHED;
    ChatResult whole = call(request(false, tools(WEATHER), new ChatMessage("user", prompt)));
    ChatResult streamed = call(request(true, tools(WEATHER), new ChatMessage("user", prompt)));
    for (ChatResult result : List.of(whole, streamed)) {
      assertEquals(30 + 1800 + 200, result.promptTokens(), "input, cache reads and cache writes are all prompt");
      assertEquals(15, result.completionTokens());
      assertEquals(2045, result.totalTokens());
      assertEquals(1800, result.usage().getJsonObject("prompt_tokens_details").getInteger("cached_tokens"));
    }
    JsonObject usageChunk = chunks.get(chunks.size() - 1).json();
    assertEquals(List.of(), usageChunk.getJsonArray("choices").getList());
    assertEquals(streamed.usage(), usageChunk.getJsonObject("usage"));
  }

  @Test
  void the_fake_refuses_what_anthropic_refuses() {
    JsonObject base = new JsonObject().put("model", "claude-sonnet-4-5").put("max_tokens", 100);
    JsonObject tool = new JsonObject().put("name", "get_weather").put("input_schema", new JsonObject().put("type", "object"));
    JsonObject use = new JsonObject().put("type", "tool_use").put("id", "toolu_1").put("name", "get_weather")
      .put("input", new JsonObject());
    JsonObject result = new JsonObject().put("type", "tool_result").put("tool_use_id", "toolu_1").put("content", "x");
    Map<JsonObject, String> refused = new LinkedHashMap<>();
    refused.put(base.copy().put("messages", new JsonArray().add(turn("user", "a")).add(turn("user", "b"))),
      "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"user\" roles in a row");
    refused.put(base.copy().put("messages", new JsonArray().add(turn("assistant", "a")).add(turn("user", "b"))),
      "messages: first message must use the \"user\" role");
    refused.put(base.copy().put("tools", new JsonArray().add(tool)).put("messages", new JsonArray().add(turn("user", "a"))
      .add(turn("assistant", new JsonArray().add(use))).add(turn("user", new JsonArray().add(result.copy()
        .put("tool_use_id", "toolu_2"))))),
      "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_2. Each `tool_result` "
        + "block must have a corresponding `tool_use` block in the previous message.");
    refused.put(base.copy().put("tools", new JsonArray().add(tool)).put("messages", new JsonArray().add(turn("user", "a"))
      .add(turn("assistant", new JsonArray().add(use))).add(turn("user", "b"))),
      "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. Each `tool_use` "
        + "block must have a corresponding `tool_result` block in the next message.");
    refused.put(base.copy().put("messages", new JsonArray().add(turn("user", new JsonArray().add(new JsonObject()
      .put("type", "image").put("source", new JsonObject().put("type", "base64").put("media_type", "image/tiff")
        .put("data", "AAAA")))))),
      "messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' "
        + "or 'image/webp'");
    refused.put(base.copy().put("messages", new JsonArray().add(turn("user", "a")).add(turn("assistant",
      new JsonArray().add(use))).add(turn("user", new JsonArray().add(result)))),
      "Requests which include `tool_use` or `tool_result` blocks must define tools.");
    refused.put(base.copy().put("parallel_tool_calls", false).put("messages", new JsonArray().add(turn("user", "a"))),
      "parallel_tool_calls: Extra inputs are not permitted");
    for (Map.Entry<JsonObject, String> request : refused.entrySet()) {
      HttpResponse<String> response = post(request.getKey());
      assertEquals(400, response.statusCode(), response.body());
      assertEquals(new JsonObject().put("type", "error").put("error", new JsonObject()
        .put("type", "invalid_request_error").put("message", request.getValue())).put("request_id", "req_011CTest"),
        new JsonObject(response.body()));
    }
    assertEquals(200, post(base.copy().put("tools", new JsonArray().add(tool)).put("messages", new JsonArray()
      .add(turn("user", "a")).add(turn("assistant", new JsonArray().add(use)))
      .add(turn("user", new JsonArray().add(result))))).statusCode(), "a proper round is answered");
  }

  private static JsonObject turn(String role, Object content) {
    return new JsonObject().put("role", role).put("content", content);
  }

  private static HttpResponse<String> post(JsonObject body) {
    try {
      return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build().send(HttpRequest.newBuilder(URI.create(anthropic.baseUrl() + "/messages"))
        .timeout(Duration.ofSeconds(10)).header("content-type", "application/json").header("x-api-key", KEY_ONE)
        .header("anthropic-version", "2023-06-01").POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(),
        HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void keys_are_used_in_turn() throws Exception {
    for (int i = 0; i < 4; i++) {
      call(ask(false, "hi"));
    }
    assertEquals(List.of(KEY_ONE, KEY_TWO, KEY_ONE, KEY_TWO),
      anthropic.received.stream().map(r -> r.header("x-api-key")).toList());
  }

  @Test
  void a_message_is_translated_back() throws Exception {
    ChatResult result = call(ask(false, "hi"));
    assertEquals("req-1", result.requestId());
    assertEquals("Hello, wörld.", result.content(), "text blocks joined");
    assertFalse(result.message().containsKey("tool_calls"));
    assertFalse(result.message().containsKey("reasoning_content"), "no thinking asked, none given");
    assertEquals("length", result.finishReason(), "max_tokens is OpenAI's length");
    assertEquals(21, result.promptTokens());
    assertEquals(9, result.completionTokens());
    assertEquals(0, result.chunks());
    assertEquals("claude-sonnet@anthropic", result.deployment());
    assertEquals(List.of(), deltas);
  }

  @Test
  void a_stream_is_relayed_delta_by_delta() throws Exception {
    ChatResult result = call(ask(true, "hi"));
    assertEquals(FakeAnthropic.DELTAS, deltas, "every text delta, in order, pings and block events skipped");
    assertEquals("text/event-stream", anthropic.last().header("accept"));
    assertEquals(String.join("", FakeAnthropic.DELTAS), result.content(), "the message assembled from the deltas");
    assertEquals(FakeAnthropic.DELTAS.size() + 3, result.chunks(), "a role chunk, the deltas, the finish and usage");
    assertEquals("stop", result.finishReason(), "end_turn is OpenAI's stop");
    assertEquals(25, result.promptTokens(), "from message_start");
    assertEquals(12, result.completionTokens(), "from message_delta");
    assertEquals("claude-sonnet@anthropic", result.deployment());
  }

  @Test
  void stop_reasons_map_to_openai_finish_reasons() {
    assertEquals("stop", AnthropicShapes.finishReason("end_turn"));
    assertEquals("stop", AnthropicShapes.finishReason("stop_sequence"));
    assertEquals("length", AnthropicShapes.finishReason("max_tokens"));
    assertEquals("tool_calls", AnthropicShapes.finishReason("tool_use"));
    assertEquals("content_filter", AnthropicShapes.finishReason("refusal"));
    assertEquals("stop", AnthropicShapes.finishReason(null));
  }

  @Test
  void finish_reasons_map_back_to_the_stop_reasons_they_came_from() {
    for (String stopReason : new String[] {"end_turn", "max_tokens", "tool_use", "refusal"}) {
      assertEquals(stopReason, AnthropicShapes.stopReason(AnthropicShapes.finishReason(stopReason)));
    }
  }

  @Test
  void a_rate_limited_key_rests_for_its_retry_after() throws Exception {
    UpstreamFailure failure = failure(ask(false, FakeAnthropic.RATE_LIMITED));
    assertEquals(502, failure.error().status(), "key two can go at once: the deployment itself need not rest");
    assertTrue(failure.retryable());
    assertEquals(0, failure.retryAfterMillis());
    call(ask(false, "hi"));
    call(ask(false, "hi"));
    assertEquals(List.of(KEY_ONE, KEY_TWO, KEY_TWO),
      anthropic.received.stream().map(r -> r.header("x-api-key")).toList(), "key one rests");
  }

  @Test
  void a_refused_key_is_taken_out_of_rotation() throws Exception {
    UpstreamFailure failure = failure(ask(false, FakeAnthropic.BAD_KEY));
    assertEquals(502, failure.error().status());
    assertTrue(failure.retryable(), "another deployment's keys may work");
    call(ask(false, "hi"));
    call(ask(true, "hi"));
    call(ask(false, "hi"));
    assertEquals(List.of(KEY_ONE, KEY_TWO, KEY_TWO, KEY_TWO),
      anthropic.received.stream().map(r -> r.header("x-api-key")).toList());

    failure(ask(false, FakeAnthropic.BAD_KEY));
    int sent = anthropic.received.size();
    UpstreamFailure noKeys = failure(ask(false, "hi"));
    assertTrue(noKeys.error().message().contains("Every API key"), noKeys.error().message());
    assertEquals(sent, anthropic.received.size(), "no request goes out without a usable key");
  }

  @Test
  void overloaded_529_is_a_retryable_upstream_failure() {
    UpstreamFailure failure = failure(ask(true, FakeAnthropic.OVERLOADED));
    assertEquals(502, failure.error().status());
    assertTrue(failure.retryable());
    assertEquals(List.of(), deltas);
  }

  @Test
  void a_refused_request_is_a_400_with_anthropics_reason() {
    UpstreamFailure failure = failure(ask(false, FakeAnthropic.INVALID));
    assertEquals(400, failure.error().status());
    assertFalse(failure.retryable());
    assertEquals("max_tokens: 999999 > 64000, which is the maximum", failure.error().message());
  }

  @Test
  void an_error_event_mid_stream_fails_retryably_after_the_deltas_before_it() {
    UpstreamFailure failure = failure(ask(true, FakeAnthropic.ERROR_EVENT));
    assertEquals(502, failure.error().status());
    assertTrue(failure.retryable(), "overloaded_error is transient");
    assertTrue(failure.error().message().contains("overloaded_error"), failure.error().message());
    assertEquals(FakeAnthropic.DELTAS.subList(0, 2), deltas);
  }

  @Test
  void a_stream_that_ends_without_message_stop_fails() {
    UpstreamFailure failure = failure(ask(true, FakeAnthropic.TRUNCATE));
    assertEquals(502, failure.error().status());
    assertTrue(failure.retryable());
    assertEquals(FakeAnthropic.DELTAS, deltas);
  }

  @Test
  void a_connection_dropped_mid_stream_fails() {
    UpstreamFailure failure = failure(ask(true, FakeAnthropic.DROP));
    assertEquals(502, failure.error().status());
    assertTrue(failure.retryable());
    assertEquals(FakeAnthropic.DELTAS.subList(0, 2), deltas);
  }

  @Test
  void an_unreachable_provider_is_a_retryable_failure() throws Exception {
    upstream.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    int closedPort;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    upstream = upstream("http://127.0.0.1:" + closedPort + "/v1");
    UpstreamFailure failure = failure(ask(false, "hi"));
    assertEquals(502, failure.error().status());
    assertTrue(failure.retryable());
    assertEquals("The model could not be reached.", failure.error().message());
  }

  @Test
  void cancelling_resets_the_upstream_request() throws Exception {
    anthropic.hungConnectionClosed = new CompletableFuture<>();
    CancelSignal cancel = new CancelSignal();
    CompletableFuture<ChatResult> call = start(ask(true, FakeAnthropic.HANG), cancel);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (deltas.size() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(5); // the test thread, not an event loop
    }
    assertEquals(FakeAnthropic.DELTAS.subList(0, 2), deltas);
    assertFalse(call.isDone(), "the stream is still open");

    context.runOnContext(v -> cancel.cancel("client went away"));
    anthropic.hungConnectionClosed.get(10, TimeUnit.SECONDS);
    UpstreamFailure failure = failure(call);
    assertTrue(failure.retryable());
  }
}

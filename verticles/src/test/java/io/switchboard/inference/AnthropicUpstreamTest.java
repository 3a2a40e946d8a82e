package io.switchboard.inference;

import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
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

import java.util.List;
import java.util.Set;
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
    return new AnthropicUpstream(deployment, baseUrl, client);
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
      .add(new JsonObject().put("role", "user").put("content", "first\n\nsecond"))
      .add(new JsonObject().put("role", "assistant").put("content", "one\n\ntwo"))
      .add(new JsonObject().put("role", "user").put("content", "third")), body.getJsonArray("messages"));
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
    assertEquals("Hello, wörld.", result.content(), "text blocks joined, other blocks left out");
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
    assertEquals("stop", AnthropicUpstream.finishReason("end_turn"));
    assertEquals("stop", AnthropicUpstream.finishReason("stop_sequence"));
    assertEquals("length", AnthropicUpstream.finishReason("max_tokens"));
    assertEquals("tool_calls", AnthropicUpstream.finishReason("tool_use"));
    assertEquals("content_filter", AnthropicUpstream.finishReason("refusal"));
    assertEquals("stop", AnthropicUpstream.finishReason(null));
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

package io.switchboard;

import com.openai.client.OpenAIClient;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import io.switchboard.testing.FakeOpenAi;
import io.switchboard.testing.Http;
import io.switchboard.testing.OpenAiSdk;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The response cache on one node with a real Redis behind it, in front of a fake OpenAI that counts its calls: a
 * question asked again is answered from the cache (whole or streamed, whichever way it is asked, matching the
 * original as the OpenAI SDK reads it), identical questions at once reach the model once, and what must not be
 * served from the cache is not.
 */
class ResponseCacheTest {
  private static final String CHAT = "/v1/chat/completions";
  private static final String ADMIN = "admin-token-0123456789";
  private static FakeOpenAi upstream;
  private static RedisServer redis;
  private static TestNode node;
  private static OpenAIClient client;

  static String config(String upstreamUrl, String redisUrl) {
    return """
      server:
        request_timeout_ms: 20000
      management: {admin_token: %s}
      auth:
        enabled: true
        keys:
          - {key: %s, tenant: acme}
          - {key: %s, tenant: globex}
      model_list:
        - {model_name: gpt-cached, provider: openai, api_base: "%s", api_key: sk-upstream-key-0001}
        - {model_name: gpt-tools, provider: openai, api_base: "%s", api_key: sk-upstream-key-0001}
        - {model_name: gpt-short, provider: openai, api_base: "%s", api_key: sk-upstream-key-0001}
        - {model_name: gpt-plain, provider: openai, api_base: "%s", api_key: sk-upstream-key-0001}
      routes:
        - {model_name: gpt-cached, num_retries: 0, cache: {ttl_seconds: 600}}
        - {model_name: gpt-tools, cache: {ttl_seconds: 600, tool_calls: true}}
        - {model_name: gpt-short, cache: {ttl_seconds: 1}}
      cache: {store: redis, redis_url: "%s"}
      """.formatted(ADMIN, TestConfigs.ACME_KEY, TestConfigs.GLOBEX_KEY, upstreamUrl, upstreamUrl, upstreamUrl,
      upstreamUrl, redisUrl);
  }

  @BeforeAll
  static void start() throws Exception {
    upstream = new FakeOpenAi();
    redis = RedisServer.launchEmbedded();
    node = TestNode.start(config(upstream.baseUrl(), redis.url()));
    client = OpenAiSdk.client(node.baseUrl() + "/v1", TestConfigs.ACME_KEY);
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
    redis.close();
    upstream.close();
  }

  static String body(String model, String text, boolean stream) {
    return new JsonObject().put("model", model).put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  static HttpResponse<String> ask(String key, String body, String... headers) {
    String[] all = new String[headers.length + 2];
    all[0] = "authorization";
    all[1] = "Bearer " + key;
    System.arraycopy(headers, 0, all, 2, headers.length);
    return Http.post(node.baseUrl() + CHAT, body, all);
  }

  private static String cache(HttpResponse<?> response) {
    return response.headers().firstValue("x-switchboard-cache").orElse("(none)");
  }


  @Test
  void a_question_asked_again_is_answered_from_the_cache_byte_for_byte_but_its_id() {
    String body = body("gpt-cached", "capital of France, asked twice", false);
    HttpResponse<String> first = ask(TestConfigs.ACME_KEY, body);
    HttpResponse<String> second = ask(TestConfigs.ACME_KEY, body);
    assertEquals(200, first.statusCode(), first.body());
    assertEquals(200, second.statusCode(), second.body());
    assertEquals("miss", cache(first));
    assertEquals("hit", cache(second));
    assertEquals(1, upstream.calls("capital of France, asked twice"));
    String firstId = "chatcmpl-" + first.headers().firstValue("x-request-id").orElseThrow();
    String secondId = "chatcmpl-" + second.headers().firstValue("x-request-id").orElseThrow();
    assertEquals(firstId, new JsonObject(first.body()).getString("id"));
    assertEquals(secondId, new JsonObject(second.body()).getString("id"), "a hit names its own request");
    assertEquals(first.body().replace(firstId, secondId), second.body(), "byte for byte but the id");
    assertEquals(first.headers().firstValue("x-switchboard-deployment"),
      second.headers().firstValue("x-switchboard-deployment"));

    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    assertTrue(metrics.contains("switchboard_cache_lookups_total{layer=\"local\",result=\"hit\"}"), metrics);
    assertTrue(metrics.contains("switchboard_cache_bytes_total{direction=\"served\"}"), metrics);
  }

  @Test
  void streamed_and_whole_hits_read_like_the_original_answer_through_the_openai_sdk() {
    // stored whole, served streamed; stored streamed, served whole
    for (boolean storedStreamed : List.of(false, true)) {
      ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("gpt-cached")
        .addUserMessage("think: which city is the capital? stored streamed " + storedStreamed)
        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
      ChatCompletion original = storedStreamed ? OpenAiSdk.streamed(client, params)
        : client.chat().completions().create(params.toBuilder().streamOptions(java.util.Optional.empty()).build());
      ChatCompletion whole = client.chat().completions().create(params.toBuilder()
        .streamOptions(java.util.Optional.empty()).build());
      ChatCompletion streamed = OpenAiSdk.streamed(client, params);
      assertEquals(1, upstream.calls("stored streamed " + storedStreamed));
      for (ChatCompletion hit : List.of(whole, streamed)) {
        ChatCompletion.Choice expected = original.choices().get(0);
        ChatCompletion.Choice got = hit.choices().get(0);
        assertEquals(expected.message().content(), got.message().content());
        assertEquals(expected.finishReason(), got.finishReason());
        // the SDK's accumulator keeps only the last piece of a field it does not know (reasoning_content): a replayed
        // stream reads as its original did, a whole answer has the whole reasoning
        Object reasoning = hit == streamed && storedStreamed
          ? expected.message()._additionalProperties().get("reasoning_content").toString()
          : "The user asks about capitals.";
        assertEquals(reasoning, got.message()._additionalProperties().get("reasoning_content").toString(),
          "reasoning survives the cache");
        assertEquals(original.usage().orElseThrow().totalTokens(), hit.usage().orElseThrow().totalTokens());
        assertEquals(original.model(), hit.model());
        assertNotEquals(original.id(), hit.id());
      }
    }
  }

  @Test
  void a_streamed_hit_is_a_stream_in_the_usual_shape_with_usage_only_when_asked() {
    String text = "streamed hit shape";
    assertEquals(200, ask(TestConfigs.ACME_KEY, body("gpt-cached", text, false)).statusCode());
    for (boolean usage : List.of(false, true)) {
      JsonObject request = new JsonObject(body("gpt-cached", text, true));
      if (usage) {
        request.put("stream_options", new JsonObject().put("include_usage", true));
      }
      HttpResponse<Stream<String>> response = Http.postLines(node.baseUrl() + CHAT, request.encode(),
        "authorization", "Bearer " + TestConfigs.ACME_KEY);
      assertEquals("hit", cache(response));
      assertTrue(response.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
      List<String> events = Http.sseData(response);
      assertEquals("[DONE]", events.get(events.size() - 1));
      StringBuilder content = new StringBuilder();
      boolean sawUsage = false;
      for (String event : events.subList(0, events.size() - 1)) {
        JsonObject chunk = new JsonObject(event);
        assertEquals("chat.completion.chunk", chunk.getString("object"));
        if (chunk.getJsonArray("choices").isEmpty()) {
          sawUsage = chunk.getJsonObject("usage") != null;
        } else if (chunk.getJsonArray("choices").getJsonObject(0).getJsonObject("delta").getValue("content")
          instanceof String piece) {
          content.append(piece);
        }
      }
      assertEquals(usage, sawUsage, "the usage chunk only when asked");
      assertEquals("Paris is the capital of France.", content.toString());
    }
    assertEquals(1, upstream.calls(text));
  }

  @Test
  void cache_control_no_cache_asks_again_and_no_store_keeps_nothing() {
    String text = "no-cache and no-store";
    String body = body("gpt-cached", text, false);
    assertEquals("miss", cache(ask(TestConfigs.ACME_KEY, body)));
    HttpResponse<String> fresh = ask(TestConfigs.ACME_KEY, body, "cache-control", "no-cache");
    assertEquals(200, fresh.statusCode());
    assertEquals("bypass", cache(fresh));
    assertEquals(2, upstream.calls(text), "no-cache: the model is asked");
    String asked = "no-cache first, then plain";
    String refreshed = body("gpt-cached", asked, false);
    assertEquals("bypass", cache(ask(TestConfigs.ACME_KEY, refreshed, "cache-control", "no-cache")));
    assertEquals("hit", cache(ask(TestConfigs.ACME_KEY, refreshed)), "no-cache stored the fresh answer");
    assertEquals(1, upstream.calls(asked));

    String other = "only no-store";
    String unstored = body("gpt-cached", other, false);
    assertEquals("bypass", cache(ask(TestConfigs.ACME_KEY, unstored, "cache-control", "no-store")));
    assertEquals("miss", cache(ask(TestConfigs.ACME_KEY, unstored)), "no-store stored nothing");
    assertEquals(2, upstream.calls(other));

    HttpResponse<String> plain = ask(TestConfigs.ACME_KEY, body("gpt-plain", text, false));
    assertEquals("bypass", cache(plain), "a route without cache");
  }

  @Test
  void an_entry_expires_with_its_route_s_ttl() throws Exception {
    String text = "short-lived answer";
    String body = body("gpt-short", text, false);
    assertEquals("miss", cache(ask(TestConfigs.ACME_KEY, body)));
    assertEquals("hit", cache(ask(TestConfigs.ACME_KEY, body)));
    Thread.sleep(1_200);
    assertEquals("miss", cache(ask(TestConfigs.ACME_KEY, body)), "the TTL (1 s) is over");
    assertEquals(2, upstream.calls(text));
  }

  @Test
  void tenant_b_is_never_served_tenant_a_s_answer() {
    String text = "a question two tenants ask";
    String body = body("gpt-cached", text, false);
    assertEquals("miss", cache(ask(TestConfigs.ACME_KEY, body)));
    assertEquals("hit", cache(ask(TestConfigs.ACME_KEY, body)));
    HttpResponse<String> globex = ask(TestConfigs.GLOBEX_KEY, body);
    assertEquals(200, globex.statusCode());
    assertEquals("miss", cache(globex));
    assertEquals(2, upstream.calls(text), "globex's question went to the model");
    assertEquals("hit", cache(ask(TestConfigs.GLOBEX_KEY, body)));
    // streamed, too
    HttpResponse<Stream<String>> stream = Http.postLines(node.baseUrl() + CHAT, body("gpt-cached", text + "!", true),
      "authorization", "Bearer " + TestConfigs.ACME_KEY);
    Http.sseData(stream);
    HttpResponse<Stream<String>> other = Http.postLines(node.baseUrl() + CHAT, body("gpt-cached", text + "!", true),
      "authorization", "Bearer " + TestConfigs.GLOBEX_KEY);
    assertEquals("miss", cache(other));
    Http.sseData(other);
    assertEquals(2, upstream.calls(text + "!"));
  }

  @Test
  void identical_questions_at_once_reach_the_model_once_and_when_it_fails_a_waiter_asks_again() throws Exception {
    String text = "ten at once, the first fails";
    upstream.delayMillis = 300;
    upstream.failNext.set(1);
    ExecutorService pool = Executors.newFixedThreadPool(10);
    try {
      List<Future<HttpResponse<String>>> sent = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        boolean stream = i % 2 == 1;
        sent.add(pool.submit(() -> {
          if (!stream) {
            return ask(TestConfigs.ACME_KEY, body("gpt-cached", text, false));
          }
          return Http.post(node.baseUrl() + CHAT, body("gpt-cached", text, true), "authorization",
            "Bearer " + TestConfigs.ACME_KEY);
        }));
        Thread.sleep(5);
      }
      int ok = 0;
      int failed = 0;
      for (Future<HttpResponse<String>> response : sent) {
        HttpResponse<String> answer = response.get(30, TimeUnit.SECONDS);
        if (answer.statusCode() == 200 && !answer.body().contains("\"error\"")) {
          ok++;
          assertTrue(answer.body().contains("France."), answer.body());
        } else {
          failed++;
        }
      }
      assertEquals(1, failed, "only the turn whose call failed fails");
      assertEquals(9, ok);
      assertEquals(2, upstream.calls(text), "the failed call, and one waiter's: the rest got its answer");
    } finally {
      upstream.delayMillis = 0;
      upstream.failNext.set(0);
      pool.shutdownNow();
    }
  }

  @Test
  void tool_call_answers_are_stored_only_when_the_route_says_so() {
    JsonObject request = new JsonObject(body("gpt-cached", "weather in Paris, with tools", false))
      .put("tools", new JsonArray().add(new JsonObject().put("type", "function").put("function",
        new JsonObject().put("name", "get_weather").put("parameters", new JsonObject().put("type", "object")))));
    assertEquals("miss", cache(ask(TestConfigs.ACME_KEY, request.encode())));
    assertEquals("miss", cache(ask(TestConfigs.ACME_KEY, request.encode())), "gpt-cached keeps no tool calls");
    assertEquals(2, upstream.calls("weather in Paris, with tools"));

    request.put("model", "gpt-tools");
    assertEquals("miss", cache(ask(TestConfigs.ACME_KEY, request.encode())));
    HttpResponse<String> hit = ask(TestConfigs.ACME_KEY, request.encode());
    assertEquals("hit", cache(hit));
    assertEquals("tool_calls", new JsonObject(hit.body()).getJsonArray("choices").getJsonObject(0)
      .getString("finish_reason"));
    // and replayed as a stream: the tool call arrives whole
    JsonObject streamed = request.copy().put("stream", true);
    List<String> events = Http.sseData(Http.postLines(node.baseUrl() + CHAT, streamed.encode(), "authorization",
      "Bearer " + TestConfigs.ACME_KEY));
    JsonObject call = new JsonObject(events.get(0)).getJsonArray("choices").getJsonObject(0).getJsonObject("delta")
      .getJsonArray("tool_calls").getJsonObject(0);
    assertEquals(0, call.getInteger("index"));
    assertEquals("{\"city\":\"Paris\"}", call.getJsonObject("function").getString("arguments"));
    assertEquals(3, upstream.calls("weather in Paris, with tools"));
  }

  @Test
  void the_admin_api_flushes_a_tenant_s_or_a_model_s_entries() {
    String text = "flush me";
    String cached = body("gpt-cached", text, false);
    String tools = body("gpt-tools", text, false);
    ask(TestConfigs.ACME_KEY, cached);
    ask(TestConfigs.GLOBEX_KEY, cached);
    ask(TestConfigs.ACME_KEY, tools);
    assertEquals("hit", cache(ask(TestConfigs.GLOBEX_KEY, cached)));

    HttpResponse<String> refused = Http.delete(node.managementUrl() + "/admin/cache?tenant=globex");
    assertEquals(401, refused.statusCode());
    HttpResponse<String> flushed = Http.delete(node.managementUrl() + "/admin/cache?tenant=globex",
      "authorization", "Bearer " + ADMIN);
    assertEquals(200, flushed.statusCode(), flushed.body());
    assertTrue(new JsonObject(flushed.body()).getLong("shared_entries_removed") >= 1, flushed.body());
    assertEquals("miss", cache(ask(TestConfigs.GLOBEX_KEY, cached)), "globex's entries went");
    assertEquals("hit", cache(ask(TestConfigs.ACME_KEY, cached)), "acme's stayed");

    assertEquals(200, Http.delete(node.managementUrl() + "/admin/cache?model=gpt-tools",
      "authorization", "Bearer " + ADMIN).statusCode());
    assertEquals("miss", cache(ask(TestConfigs.ACME_KEY, tools)), "gpt-tools' entries went");
    assertEquals("hit", cache(ask(TestConfigs.ACME_KEY, cached)), "gpt-cached's stayed");
  }

  @Test
  void with_redis_down_the_local_layer_keeps_answering() throws Exception {
    RedisServer gone = RedisServer.launchEmbedded();
    gone.stop();
    try (TestNode alone = TestNode.start(config(upstream.baseUrl(), gone.url()))) {
      String text = "redis is down";
      String body = body("gpt-cached", text, false);
      for (String expected : List.of("miss", "hit", "hit")) {
        long started = System.nanoTime();
        HttpResponse<String> response = Http.post(alone.baseUrl() + CHAT, body, "authorization",
          "Bearer " + TestConfigs.ACME_KEY);
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(expected, cache(response));
        assertTrue(System.nanoTime() - started < 2_000_000_000L, "no Redis timeout in the way");
      }
      assertEquals(1, upstream.calls(text));
    } finally {
      gone.close();
    }
  }
}

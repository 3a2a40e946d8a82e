package io.switchboard;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.moderations.ModerationCreateParams;
import com.openai.models.moderations.ModerationCreateResponse;
import io.switchboard.testing.ChatSocket;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guardrails on a real node: word lists and PII on what goes in and what comes out, streamed over real SSE from an
 * upstream that splits its answer where the test says, moderation through the gateway's own /v1/moderations, and
 * the decisions in /metrics.
 */
class GuardrailsTest {
  private static final String ACME = "Bearer " + TestConfigs.ACME_KEY;
  private static final String GLOBEX = "Bearer " + TestConfigs.GLOBEX_KEY;
  private static ScriptedOpenAi upstream;
  private static TestNode node;
  private static Vertx vertx;
  private static WebSocketClient sockets;

  @BeforeAll
  static void start() throws Exception {
    upstream = new ScriptedOpenAi();
    Path words = Files.createTempFile("words", ".txt");
    Files.writeString(words, "# the operator's list\nforbidden\n敏感词\n", StandardCharsets.UTF_8);
    node = TestNode.start("""
      server: {request_timeout_ms: 20000}
      auth:
        enabled: true
        keys:
          - {key: %s, tenant: acme}
          - {key: %s, tenant: globex}
      tenants:
        - {name: acme, guardrails: [pii-in]}
      guardrails:
        - {name: cn-words, type: words, words_file: '%s', on: [input, output], action: block}
        - {name: pii-in, type: pii, detectors: [cn_mobile, email], on: [input], action: redact}
        - {name: pii-out, type: pii, detectors: [cn_mobile], on: [output], action: redact}
        - {name: mod, type: moderation, model: sim-moderation, on: [input], action: block, timeout_ms: 5000}
        - {name: mod-out, type: moderation, model: sim-moderation, on: [output], action: block, timeout_ms: 5000}
        - {name: op-mod, type: moderation, url: '%s/guard', on: [input], action: block, timeout_ms: 5000}
        - {name: op-slow-allow, type: moderation, url: '%s/slow', action: block, timeout_ms: 200, on_error: allow}
        - {name: op-slow-block, type: moderation, url: '%s/slow', action: block, timeout_ms: 200, on_error: block}
      model_list:
        - {model_name: scripted, provider: openai, api_base: '%s', api_key: sk-test-0001}
        - {model_name: scripted-mod, provider: openai, api_base: '%s', api_key: sk-test-0001}
        - {model_name: scripted-mod-out, provider: openai, api_base: '%s', api_key: sk-test-0001}
        - {model_name: scripted-op, provider: openai, api_base: '%s', api_key: sk-test-0001}
        - {model_name: scripted-slow-allow, provider: openai, api_base: '%s', api_key: sk-test-0001}
        - {model_name: scripted-slow-block, provider: openai, api_base: '%s', api_key: sk-test-0001}
        - {model_name: sim-moderation, provider: simulator, model_info: {mode: moderation}}
      routes:
        - {model_name: scripted, guardrails: [cn-words, pii-out]}
        - {model_name: scripted-mod, guardrails: [mod]}
        - {model_name: scripted-mod-out, guardrails: [mod-out]}
        - {model_name: scripted-op, guardrails: [op-mod]}
        - {model_name: scripted-slow-allow, guardrails: [op-slow-allow]}
        - {model_name: scripted-slow-block, guardrails: [op-slow-block]}
      """.formatted(TestConfigs.ACME_KEY, TestConfigs.GLOBEX_KEY, words, upstream.root(), upstream.root(),
        upstream.root(), upstream.baseUrl(), upstream.baseUrl(), upstream.baseUrl(), upstream.baseUrl(),
        upstream.baseUrl(), upstream.baseUrl()));
    vertx = Vertx.vertx();
    sockets = vertx.createWebSocketClient();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    node.close();
    upstream.close();
  }

  private static String chat(String model, String text, boolean stream) {
    return new JsonObject().put("model", model).put("stream", stream).put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  private static HttpResponse<String> post(String body, String key) {
    return Http.post(node.baseUrl() + "/v1/chat/completions", body, "authorization", key);
  }

  private static JsonObject error(HttpResponse<String> response) {
    return new JsonObject(response.body()).getJsonObject("error");
  }

  /** The deltas' text of a streamed answer, and its data lines. */
  private static List<String> stream(String body) {
    return Http.sseData(Http.postLines(node.baseUrl() + "/v1/chat/completions", body, "authorization", ACME));
  }

  private static String deltas(List<String> data) {
    StringBuilder text = new StringBuilder();
    for (String line : data) {
      JsonArray choices = line.startsWith("{") ? new JsonObject(line).getJsonArray("choices") : null;
      if (choices != null && !choices.isEmpty()) {
        String content = choices.getJsonObject(0).getJsonObject("delta").getString("content");
        text.append(content == null ? "" : content);
      }
    }
    return text.toString();
  }

  @Test
  void a_forbidden_word_in_the_question_is_refused_in_openais_shape_and_never_reaches_the_model() {
    int before = upstream.requests.size();
    HttpResponse<String> refused = post(chat("scripted", "tell me about ＦＯＲＢＩＤＤＥＮ things", false), GLOBEX);
    assertEquals(400, refused.statusCode(), refused.body());
    assertEquals("content_policy_violation", error(refused).getString("code"));
    assertTrue(error(refused).getString("message").contains("cn-words"), refused.body());
    assertFalse(refused.body().toLowerCase().contains("forbidden"), "the matched text is not echoed");
    assertEquals(400, post(chat("scripted", "这是敏感词", false), GLOBEX).statusCode());
    assertEquals(before, upstream.requests.size());
    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    assertTrue(metric(metrics,
      "switchboard_guardrails_decisions_total{action=\"block\",policy=\"cn-words\",stage=\"input\"}") >= 2, metrics
      .lines().filter(l -> l.contains("guardrails")).toList().toString());
  }

  private static double metric(String metrics, String prefix) {
    return metrics.lines().filter(l -> l.startsWith(prefix))
      .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  @Test
  void personal_data_reaches_the_model_redacted_for_a_tenant_with_the_pii_policy() {
    upstream.answer = List.of("Noted.");
    HttpResponse<String> answered = post(chat("scripted", "call me at 13800138000 or mail zhang@example.com", false),
      ACME);
    assertEquals(200, answered.statusCode(), answered.body());
    assertEquals("call me at [PHONE] or mail [EMAIL]", upstream.lastUserText());
    assertEquals(200, post(chat("scripted", "call me at 13800138000", false), GLOBEX).statusCode());
    assertEquals("call me at 13800138000", upstream.lastUserText(), "globex has no input PII policy");
  }

  @Test
  void a_word_split_across_streamed_chunks_ends_the_stream_with_an_error_event_and_none_of_it_is_delivered() {
    // longer than the look-behind window (pii-out's 64 characters), so the stream has started when the word comes
    upstream.answer = List.of("Sure. ", "Here is an opening sentence long enough to go out before the rest, ",
      "and a second one to be sure of it, ", "then forb", "idd", "en stuff.");
    List<String> data = stream(chat("scripted", "go on", true));
    String last = data.get(data.size() - 1);
    assertTrue(last.contains("content_policy_violation") && last.contains("cn-words"), data.toString());
    assertFalse(data.contains("[DONE]"));
    String delivered = deltas(data);
    assertFalse(delivered.contains("forb"), delivered);
    assertTrue(delivered.startsWith("Sure. "), delivered);
  }

  @Test
  void a_phone_number_streamed_in_pieces_reaches_the_client_redacted() {
    upstream.answer = List.of("Call 138", "0013", "8000", " today, any time after nine in the morning.");
    List<String> data = stream(chat("scripted", "who do I call", true));
    assertEquals("[DONE]", data.get(data.size() - 1), data.toString());
    assertEquals("Call [PHONE] today, any time after nine in the morning.", deltas(data));
  }

  @Test
  void a_whole_answer_is_checked_whole() {
    upstream.answer = List.of("Call ", "13800138000", ".");
    HttpResponse<String> answered = post(chat("scripted", "number?", false), GLOBEX);
    assertEquals(200, answered.statusCode(), answered.body());
    assertEquals("Call [PHONE].", new JsonObject(answered.body()).getJsonArray("choices").getJsonObject(0)
      .getJsonObject("message").getString("content"));
    upstream.answer = List.of("That is ", "forbidden", ".");
    HttpResponse<String> refused = post(chat("scripted", "say it", false), GLOBEX);
    assertEquals("content_policy_violation", error(refused).getString("code"), refused.body());
  }

  @Test
  void moderations_are_routed_to_a_moderation_model_and_a_moderation_policy_uses_them() {
    HttpResponse<String> flagged = Http.post(node.baseUrl() + "/v1/moderations", new JsonObject()
      .put("model", "sim-moderation").put("input", "this is a simulated-violation").encode(), "authorization", ACME);
    assertEquals(200, flagged.statusCode(), flagged.body());
    JsonObject result = new JsonObject(flagged.body()).getJsonArray("results").getJsonObject(0);
    assertTrue(result.getBoolean("flagged"));
    assertEquals("sim-moderation", new JsonObject(flagged.body()).getString("model"));
    HttpResponse<String> clean = Http.post(node.baseUrl() + "/v1/moderations", new JsonObject()
      .put("model", "sim-moderation").put("input", new JsonArray().add("hello")).encode(), "authorization", ACME);
    assertFalse(new JsonObject(clean.body()).getJsonArray("results").getJsonObject(0).getBoolean("flagged"));
    HttpResponse<String> wrong = Http.post(node.baseUrl() + "/v1/moderations", new JsonObject()
      .put("model", "scripted").put("input", "hello").encode(), "authorization", ACME);
    assertEquals(400, wrong.statusCode(), wrong.body());

    HttpResponse<String> refused = post(chat("scripted-mod", "a simulated-violation question", false), GLOBEX);
    assertEquals(400, refused.statusCode(), refused.body());
    assertTrue(error(refused).getString("message").contains("'mod'"), refused.body());
    upstream.answer = List.of("Fine.");
    assertEquals(200, post(chat("scripted-mod", "a plain question", false), GLOBEX).statusCode());
  }

  @Test
  void an_operators_moderation_endpoint_is_asked_and_its_failures_go_by_on_error() {
    HttpResponse<String> refused = post(chat("scripted-op", "something nasty", false), GLOBEX);
    assertEquals("content_policy_violation", error(refused).getString("code"), refused.body());
    assertEquals("something nasty", upstream.moderated.get(upstream.moderated.size() - 1).getString("input")
      .strip());
    upstream.answer = List.of("Fine.");
    assertEquals(200, post(chat("scripted-op", "something nice", false), GLOBEX).statusCode());

    assertEquals(200, post(chat("scripted-slow-allow", "anything", false), GLOBEX).statusCode(),
      "a moderation endpoint that times out lets the turn through with on_error: allow");
    HttpResponse<String> closed = post(chat("scripted-slow-block", "anything", false), GLOBEX);
    assertEquals(400, closed.statusCode(), closed.body());
    assertTrue(error(closed).getString("message").contains("op-slow-block"), closed.body());
    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    assertTrue(metric(metrics, "switchboard_guardrails_decisions_total{action=\"error_allowed\",policy=\"op-slow-allow\"")
      >= 1, metrics.lines().filter(l -> l.contains("guardrails")).toList().toString());
    assertTrue(metric(metrics, "switchboard_guardrails_decisions_total{action=\"error_blocked\",policy=\"op-slow-block\"")
      >= 1);
  }

  @Test
  void a_streamed_answer_the_moderation_model_flags_ends_with_the_error_event_instead_of_done() {
    upstream.answer = List.of("This answer ", "holds a simulated-violation", " somewhere.");
    List<String> flagged = stream(chat("scripted-mod-out", "go", true));
    assertTrue(flagged.get(flagged.size() - 1).contains("content_policy_violation"), flagged.toString());
    assertFalse(flagged.contains("[DONE]"));
    upstream.answer = List.of("A clean ", "answer.");
    List<String> clean = stream(chat("scripted-mod-out", "go", true));
    assertEquals("[DONE]", clean.get(clean.size() - 1), clean.toString());
    assertEquals("A clean answer.", deltas(clean));
  }

  @Test
  void memory_keeps_the_redacted_question_not_the_personal_data() {
    upstream.answer = List.of("Noted.");
    String conversation = "guard-conv-" + System.nanoTime();
    HttpResponse<String> answered = Http.post(node.baseUrl() + "/v1/chat/completions",
      chat("scripted", "my id is 11010519491231002X, mail me at li@example.com", false), "authorization", ACME,
      "x-conversation-id", conversation);
    assertEquals(200, answered.statusCode(), answered.body());
    String stored = Http.get(node.baseUrl() + "/v1/conversations/" + conversation, "authorization", ACME).body();
    assertTrue(stored.contains("[EMAIL]"), stored);
    assertFalse(stored.contains("li@example.com"), stored);
  }

  @Test
  void the_official_sdk_sees_moderations_and_refusals_as_openai_sends_them() {
    OpenAIClient sdk = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(TestConfigs.GLOBEX_KEY)
      .maxRetries(0).build();
    try {
      ModerationCreateResponse moderation = sdk.moderations().create(ModerationCreateParams.builder()
        .model("sim-moderation").input("one simulated-violation").build());
      assertTrue(moderation.results().get(0).flagged());
      assertTrue(moderation.results().get(0).categories().harassment());
      BadRequestException refused = org.junit.jupiter.api.Assertions.assertThrows(BadRequestException.class,
        () -> sdk.chat().completions().create(ChatCompletionCreateParams.builder().model(ChatModel.of("scripted"))
          .addUserMessage("forbidden").build()));
      assertEquals("content_policy_violation", refused.code().orElseThrow());
    } finally {
      sdk.close();
    }
  }

  @Test
  void a_websocket_chat_gets_the_refusal_as_an_error_message() throws Exception {
    try (ChatSocket socket = ChatSocket.connect(sockets, node.apiPort)) {
      socket.send(new JsonObject().put("type", "auth").put("api_key", TestConfigs.GLOBEX_KEY));
      assertEquals("ready", socket.next().getString("type"));
      socket.send(new JsonObject().put("type", "chat").put("id", "w1").put("model", "scripted")
        .put("message", "Forbidden words here"));
      JsonObject message = socket.next(m -> !m.getString("type").equals("started"));
      assertEquals("error", message.getString("type"), message.encode());
      assertEquals("content_policy_violation", message.getJsonObject("error").getString("code"));
    }
  }

  /**
   * OpenAI's chat completions API answering with a scripted text, streamed one event per piece (so the test says
   * where chunks split), recording every request body.
   */
  static final class ScriptedOpenAi implements AutoCloseable {
    private final Vertx vertx = Vertx.vertx();
    private final HttpServer server;
    final List<JsonObject> requests = new CopyOnWriteArrayList<>();
    /** What the operator's moderation endpoint ({@code /guard}) was asked. */
    final List<JsonObject> moderated = new CopyOnWriteArrayList<>();
    volatile List<String> answer = List.of("Hello.");

    ScriptedOpenAi() throws Exception {
      server = vertx.createHttpServer().requestHandler(this::handle).listen(0, "127.0.0.1")
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    String root() {
      return "http://127.0.0.1:" + server.actualPort();
    }

    String baseUrl() {
      return root() + "/v1";
    }

    String lastUserText() {
      JsonArray messages = requests.get(requests.size() - 1).getJsonArray("messages");
      return messages.getJsonObject(messages.size() - 1).getString("content");
    }

    private void handle(HttpServerRequest request) {
      if (request.path().equals("/slow")) {
        return; // an operator's endpoint that never answers
      }
      request.body().onSuccess(buffer -> {
        JsonObject body = buffer.toJsonObject();
        if (request.path().equals("/guard")) {
          moderated.add(body);
          boolean flagged = body.getString("input").contains("nasty");
          request.response().putHeader("content-type", "application/json").end(new JsonObject()
            .put("id", "modr-op").put("model", "operator-guard").put("results", new JsonArray()
              .add(new JsonObject().put("flagged", flagged))).encode());
          return;
        }
        requests.add(body);
        List<String> pieces = answer;
        JsonObject usage = new JsonObject().put("prompt_tokens", 5).put("completion_tokens", pieces.size())
          .put("total_tokens", 5 + pieces.size());
        if (!body.getBoolean("stream", false)) {
          JsonObject message = new JsonObject().put("role", "assistant").put("content", String.join("", pieces))
            .put("refusal", null);
          request.response().putHeader("content-type", "application/json").end(new JsonObject()
            .put("id", "chatcmpl-scripted").put("object", "chat.completion").put("created", 1_700_000_000)
            .put("model", body.getString("model")).put("choices", new JsonArray().add(new JsonObject()
              .put("index", 0).put("message", message).put("logprobs", null).put("finish_reason", "stop")))
            .put("usage", usage).encode());
          return;
        }
        StringBuilder out = new StringBuilder();
        out.append(event(body, new JsonObject().put("role", "assistant").put("content", ""), null, null));
        for (String piece : pieces) {
          out.append(event(body, new JsonObject().put("content", piece), null, null));
        }
        out.append(event(body, new JsonObject(), "stop", null));
        JsonObject options = body.getJsonObject("stream_options");
        if (options != null && options.getBoolean("include_usage", false)) {
          out.append(event(body, null, null, usage));
        }
        out.append("data: [DONE]\n\n");
        request.response().setChunked(true).putHeader("content-type", "text/event-stream").end(out.toString());
      });
    }

    private static String event(JsonObject body, JsonObject delta, String finish, JsonObject usage) {
      JsonArray choices = delta == null ? new JsonArray() : new JsonArray().add(new JsonObject().put("index", 0)
        .put("delta", delta).put("logprobs", null).put("finish_reason", finish));
      return "data: " + new JsonObject().put("id", "chatcmpl-scripted").put("object", "chat.completion.chunk")
        .put("created", 1_700_000_000).put("model", body.getString("model")).put("choices", choices)
        .put("usage", usage).encode() + "\n\n";
    }

    @Override
    public void close() throws Exception {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}

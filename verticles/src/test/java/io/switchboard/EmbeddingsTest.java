package io.switchboard;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.embeddings.EmbeddingCreateParams.EncodingFormat;
import com.openai.models.models.Model;
import io.switchboard.testing.FreePorts;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code POST /v1/embeddings} through the gateway: the official OpenAI SDK gets the vectors the upstream computed
 * (float and base64, text and token input), routed like chat (fallback from a failing deployment, a key pool that
 * drops a refused key and rests a rate-limited one, timeouts), and bad requests are refused naming their field.
 */
class EmbeddingsTest {
  private static final String REFUSED_KEY = "sk-refused-key-0000000000000001";
  private static final String LIMITED_KEY = "sk-limited-key-0000000000000002";
  private static final String GOOD_KEY = "sk-good-key-00000000000000000003";
  private static final String AUTH = "Bearer " + TestConfigs.ACME_KEY;
  private static Vertx vertx;
  private static HttpServer provider;
  /** What the fake provider received: the body, with the key it was sent with under "_key". */
  private static final List<JsonObject> seen = new CopyOnWriteArrayList<>();
  private static int simulatorPort;
  private static TestNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    provider = vertx.createHttpServer().requestHandler(EmbeddingsTest::openAiEmbeddings)
      .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    simulatorPort = FreePorts.next();
    String providerBase = "http://127.0.0.1:" + provider.actualPort() + "/v1";
    node = TestNode.start("""
      server:
        request_timeout_ms: 10000
      auth:
        enabled: true
        keys:
          - key: %s
            tenant: acme
      simulator:
        port: %d
        ttft_ms: 2
      model_list:
        - model_name: embed
          provider: simulator
          model_info: {mode: embedding}
        - model_name: embed-broken
          provider: simulator
          model_info: {mode: embedding}
          simulator: {error_rate: 1}
          circuit_breaker: {max_failures: 1000}
        - model_name: embed-hang
          provider: simulator
          model_info: {mode: embedding}
          timeout_ms: 300
          simulator: {hang: true}
        - model_name: embed-pool
          provider: openai
          api_base: %s
          api_keys: [%s, %s]
          upstream_model: text-embedding-3-small
          model_info: {mode: embedding}
        - model_name: embed-limited
          provider: openai
          api_base: %s
          api_keys: [%s, %s]
          model_info: {mode: embedding}
        - model_name: chat
          provider: simulator
      routes:
        - {model_name: embed-broken, fallbacks: [embed], num_retries: 1, retry_base_ms: 5}
        - {model_name: embed-hang, num_retries: 0}
      """.formatted(TestConfigs.ACME_KEY, simulatorPort, providerBase, REFUSED_KEY, GOOD_KEY, providerBase,
      LIMITED_KEY, GOOD_KEY));
    client = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(TestConfigs.ACME_KEY).maxRetries(0)
      .timeout(Duration.ofSeconds(20)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * OpenAI's embeddings endpoint as far as these tests need it, with its real errors: a refused key gets 401
   * invalid_api_key, a rate-limited one 429 with Retry-After, a body without input or model 400.
   */
  private static void openAiEmbeddings(HttpServerRequest request) {
    request.body().onSuccess(buffer -> {
      String authorization = request.getHeader("authorization");
      String key = authorization == null ? null : authorization.substring("Bearer ".length());
      JsonObject body = buffer.toJsonObject();
      seen.add(body.copy().put("_key", key));
      if (!request.path().equals("/v1/embeddings")) {
        error(request, 404, "Invalid URL (POST " + request.path() + ")", null, null);
      } else if (REFUSED_KEY.equals(key)) {
        error(request, 401, "Incorrect API key provided: sk-refu*****0001. You can find your API key at "
          + "https://platform.openai.com/account/api-keys.", null, "invalid_api_key");
      } else if (LIMITED_KEY.equals(key)) {
        request.response().putHeader("retry-after", "60");
        error(request, 429, "Rate limit reached for text-embedding-3-small on requests per min (RPM): Limit 3000.",
          null, "rate_limit_exceeded");
      } else if (!GOOD_KEY.equals(key)) {
        error(request, 401, "You didn't provide an API key.", null, null);
      } else if (!body.containsKey("input")) {
        error(request, 400, "'input' is a required property", null, null);
      } else if (!body.containsKey("model")) {
        error(request, 400, "you must provide a model parameter", null, null);
      } else {
        JsonArray data = new JsonArray().add(new JsonObject().put("object", "embedding").put("index", 0)
          .put("embedding", new JsonArray().add(0.6).add(-0.8)));
        request.response().putHeader("content-type", "application/json").end(new JsonObject()
          .put("object", "list").put("data", data).put("model", body.getString("model") + "-0613")
          .put("usage", new JsonObject().put("prompt_tokens", 5).put("total_tokens", 5)).encode());
      }
    });
  }

  private static void error(HttpServerRequest request, int status, String message, String param, String code) {
    request.response().setStatusCode(status).putHeader("content-type", "application/json")
      .end(new JsonObject().put("error", new JsonObject().put("message", message).put("type",
        status == 429 ? "requests" : "invalid_request_error").put("param", param).put("code", code)).encode());
  }

  private static String simulatorEmbeddings() {
    return "http://127.0.0.1:" + simulatorPort + "/v1/embeddings";
  }

  private static HttpResponse<String> embed(JsonObject body) {
    return Http.post(node.baseUrl() + "/v1/embeddings", body.encode(), "authorization", AUTH);
  }

  private static JsonObject direct(JsonObject body) {
    HttpResponse<String> response = Http.post(simulatorEmbeddings(), body.copy()
      .put("model", "switchboard-simulator-embedding").encode());
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  private static List<Float> floats(JsonArray values) {
    List<Float> out = new ArrayList<>();
    values.forEach(v -> out.add(((Number) v).floatValue()));
    return out;
  }

  private static List<Float> decode(String base64) {
    ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
    List<Float> out = new ArrayList<>();
    while (bytes.remaining() >= 4) {
      out.add(bytes.getFloat());
    }
    return out;
  }

  @Test
  void the_sdk_gets_the_simulators_float_vectors_under_the_public_model_name() {
    CreateEmbeddingResponse answer = client.embeddings().create(EmbeddingCreateParams.builder().model("embed")
      .inputOfArrayOfStrings(List.of("the cat sat", "on the mat")).encodingFormat(EncodingFormat.FLOAT)
      .dimensions(16).user("ada").build());
    JsonObject expected = direct(new JsonObject().put("input", new JsonArray().add("the cat sat").add("on the mat"))
      .put("encoding_format", "float").put("dimensions", 16).put("user", "ada"));
    assertEquals("embed", answer.model());
    assertEquals(2, answer.data().size());
    for (int i = 0; i < 2; i++) {
      List<Float> vector = answer.data().get(i).embedding();
      assertEquals(16, vector.size(), "dimensions reached the upstream");
      assertEquals(floats(expected.getJsonArray("data").getJsonObject(i).getJsonArray("embedding")), vector);
      assertEquals(i, answer.data().get(i).index());
    }
    assertEquals(expected.getJsonObject("usage").getLong("prompt_tokens"), answer.usage().promptTokens());
  }

  @Test
  void base64_vectors_arrive_as_the_upstream_encoded_them() {
    CreateEmbeddingResponse answer = client.embeddings().create(EmbeddingCreateParams.builder().model("embed")
      .input("hello vectors").encodingFormat(EncodingFormat.BASE64).build());
    JsonObject expected = direct(new JsonObject().put("input", "hello vectors").put("encoding_format", "base64"));
    String base64 = answer.data().get(0).embeddingValue().asBase64();
    assertEquals(expected.getJsonArray("data").getJsonObject(0).getString("embedding"), base64);
    JsonObject asFloats = direct(new JsonObject().put("input", "hello vectors").put("encoding_format", "float"));
    assertEquals(floats(asFloats.getJsonArray("data").getJsonObject(0).getJsonArray("embedding")), decode(base64));
  }

  @Test
  void token_arrays_are_embedded_like_the_simulator_embeds_them() {
    CreateEmbeddingResponse answer = client.embeddings().create(EmbeddingCreateParams.builder().model("embed")
      .inputOfArrayOfTokenArrays(List.of(List.of(1L, 2L, 3L), List.of(40L, 50L))).encodingFormat(EncodingFormat.FLOAT)
      .build());
    JsonObject expected = direct(new JsonObject().put("encoding_format", "float").put("input", new JsonArray()
      .add(new JsonArray().add(1).add(2).add(3)).add(new JsonArray().add(40).add(50))));
    assertEquals(2, answer.data().size());
    for (int i = 0; i < 2; i++) {
      assertEquals(floats(expected.getJsonArray("data").getJsonObject(i).getJsonArray("embedding")),
        answer.data().get(i).embedding());
    }
    assertEquals(5, answer.usage().promptTokens(), "one token per id");
    CreateEmbeddingResponse one = client.embeddings().create(EmbeddingCreateParams.builder().model("embed")
      .inputOfArrayOfTokens(List.of(1L, 2L, 3L)).encodingFormat(EncodingFormat.FLOAT).build());
    assertEquals(answer.data().get(0).embedding(), one.data().get(0).embedding(), "[1,2,3] alone is the same input");
  }

  @Test
  void the_answer_is_relayed_byte_for_byte_but_for_the_model() {
    JsonObject body = new JsonObject().put("input", "relay me").put("dimensions", 5);
    HttpResponse<String> through = embed(body.copy().put("model", "embed"));
    assertEquals(200, through.statusCode(), through.body());
    String directly = Http.post(simulatorEmbeddings(), body.copy().put("model", "switchboard-simulator-embedding")
      .encode()).body();
    assertEquals(directly.replace("\"model\":\"switchboard-simulator-embedding\"", "\"model\":\"embed\""),
      through.body());
    assertEquals("embed.0", through.headers().firstValue("x-switchboard-deployment").orElseThrow());
  }

  @Test
  void a_failing_deployment_falls_back_to_a_healthy_one() {
    HttpResponse<String> response = embed(new JsonObject().put("model", "embed-broken").put("input", "fall back"));
    assertEquals(200, response.statusCode(), response.body());
    assertEquals("embed.0", response.headers().firstValue("x-switchboard-deployment").orElseThrow());
    JsonObject answer = new JsonObject(response.body());
    assertEquals("embed", answer.getString("model"), "the public name of the model that answered, as for chat");
    assertEquals(direct(new JsonObject().put("input", "fall back")).getJsonArray("data"), answer.getJsonArray("data"));
  }

  @Test
  void an_upstream_that_never_answers_is_a_504() {
    HttpResponse<String> response = embed(new JsonObject().put("model", "embed-hang").put("input", "anyone?"));
    assertEquals(504, response.statusCode(), response.body());
    assertEquals("upstream_timeout", new JsonObject(response.body()).getJsonObject("error").getString("code"));
  }

  @Test
  void a_refused_key_leaves_the_pool_and_the_call_is_retried_with_the_next() {
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> response = embed(new JsonObject().put("model", "embed-pool").put("input", "key " + i)
        .put("encoding_format", "float").put("dimensions", 2).put("user", "ada").put("x_extra", new JsonObject()
          .put("kept", true)));
      assertEquals(200, response.statusCode(), response.body());
      JsonObject answer = new JsonObject(response.body());
      assertEquals("embed-pool", answer.getString("model"));
      assertEquals(new JsonArray().add(0.6).add(-0.8), answer.getJsonArray("data").getJsonObject(0)
        .getJsonArray("embedding"));
      assertFalse(response.body().contains("sk-"), response.body());
    }
    List<JsonObject> pool = seen.stream().filter(s -> s.getString("input").startsWith("key ")).toList();
    assertEquals(1, pool.stream().filter(s -> REFUSED_KEY.equals(s.getString("_key"))).count(),
      "the refused key was tried once, then taken out: " + pool);
    assertEquals(4, pool.stream().filter(s -> GOOD_KEY.equals(s.getString("_key"))).count());
    JsonObject sent = pool.get(pool.size() - 1);
    assertEquals("text-embedding-3-small", sent.getString("model"), "the deployment's upstream model");
    assertEquals("float", sent.getString("encoding_format"));
    assertEquals(2, sent.getInteger("dimensions"));
    assertEquals("ada", sent.getString("user"));
    assertEquals(new JsonObject().put("kept", true), sent.getJsonObject("x_extra"), "unknown fields pass through");
  }

  @Test
  void a_rate_limited_key_rests_while_the_other_serves() {
    JsonObject body = new JsonObject().put("model", "embed-limited").put("input", "limited");
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> response = embed(body);
      assertEquals(200, response.statusCode(), "only the key is limited, not the deployment: " + response.body());
    }
    List<JsonObject> limited = seen.stream().filter(s -> "limited".equals(s.getString("input"))).toList();
    assertEquals(1, limited.stream().filter(s -> LIMITED_KEY.equals(s.getString("_key"))).count(),
      "the rate-limited key rests for its Retry-After: " + limited);
  }

  @Test
  void malformed_requests_are_refused_naming_the_field() {
    record Case(JsonObject body, String param) {
    }
    List<Case> cases = List.of(
      new Case(new JsonObject().put("input", "x"), "model"),
      new Case(new JsonObject().put("model", 7).put("input", "x"), "model"),
      new Case(new JsonObject().put("model", "embed"), "input"),
      new Case(new JsonObject().put("model", "embed").put("input", ""), "input"),
      new Case(new JsonObject().put("model", "embed").put("input", new JsonArray()), "input"),
      new Case(new JsonObject().put("model", "embed").put("input", new JsonArray().add("a").add(1)), "input"),
      new Case(new JsonObject().put("model", "embed").put("input", new JsonArray().add("a").add("")), "input"),
      new Case(new JsonObject().put("model", "embed").put("input", new JsonArray().add(new JsonArray())), "input"),
      new Case(new JsonObject().put("model", "embed").put("input", new JsonArray().add(-1)), "input"),
      new Case(new JsonObject().put("model", "embed").put("input", new JsonArray().add(1.5)), "input"),
      new Case(new JsonObject().put("model", "embed").put("input", 42), "input"),
      new Case(new JsonObject().put("model", "embed").put("input", "x").put("encoding_format", "hex"),
        "encoding_format"),
      new Case(new JsonObject().put("model", "embed").put("input", "x").put("dimensions", 0), "dimensions"),
      new Case(new JsonObject().put("model", "embed").put("input", "x").put("dimensions", "8"), "dimensions"),
      new Case(new JsonObject().put("model", "embed").put("input", "x").put("dimensions", 2.5), "dimensions"),
      new Case(new JsonObject().put("model", "embed").put("input", "x").put("user", 1), "user"));
    for (Case c : cases) {
      HttpResponse<String> response = embed(c.body());
      assertEquals(400, response.statusCode(), c.body() + " → " + response.body());
      JsonObject error = new JsonObject(response.body()).getJsonObject("error");
      assertEquals(c.param(), error.getString("param"), c.body().encode());
      assertEquals("invalid_request_error", error.getString("type"));
    }
    HttpResponse<String> notJson = Http.post(node.baseUrl() + "/v1/embeddings", "{input", "authorization", AUTH);
    assertEquals(400, notJson.statusCode());
    BadRequestException sdk = assertThrows(BadRequestException.class, () -> client.embeddings().create(
      EmbeddingCreateParams.builder().model("embed").input("x").dimensions(0).build()));
    assertEquals("dimensions", sdk.param().orElseThrow());
  }

  @Test
  void models_that_do_not_embed_are_refused_and_embedding_models_do_not_chat() {
    NotFoundException unknown = assertThrows(NotFoundException.class, () -> client.embeddings().create(
      EmbeddingCreateParams.builder().model("nope").input("x").build()));
    assertEquals("model_not_found", unknown.code().orElseThrow());
    BadRequestException chatModel = assertThrows(BadRequestException.class, () -> client.embeddings().create(
      EmbeddingCreateParams.builder().model("chat").input("x").build()));
    assertEquals("model", chatModel.param().orElseThrow());
    assertTrue(chatModel.getMessage().contains("does not serve embeddings"), chatModel.getMessage());
    HttpResponse<String> chatToEmbedding = Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject()
      .put("model", "embed").put("messages", new JsonArray().add(new JsonObject().put("role", "user")
        .put("content", "hi"))).encode(), "authorization", AUTH);
    assertEquals(400, chatToEmbedding.statusCode(), chatToEmbedding.body());
    assertEquals("model", new JsonObject(chatToEmbedding.body()).getJsonObject("error").getString("param"));
    HttpResponse<String> anonymous = Http.post(node.baseUrl() + "/v1/embeddings", new JsonObject()
      .put("model", "embed").put("input", "x").encode());
    assertEquals(401, anonymous.statusCode());
  }

  @Test
  void embedding_models_are_listed() {
    List<String> ids = client.models().list().data().stream().map(Model::id).toList();
    assertTrue(ids.containsAll(List.of("embed", "embed-pool", "chat")), ids.toString());
  }
}

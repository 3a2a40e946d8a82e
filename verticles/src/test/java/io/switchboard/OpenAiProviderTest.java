package io.switchboard;

import io.switchboard.testing.FreePorts;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The embedded default configuration with OPENAI_API_KEY set serves the OpenAI models through the
 * OpenAI-compatible provider. The provider's cloud cannot run here, so a small server on loopback
 * speaks its wire protocol and records what the gateway sent.
 */
class OpenAiProviderTest {
  private static final String KEY = "sk-provider-key-for-tests-0001";
  private static Vertx vertx;
  private static HttpServer provider;
  private static final List<JsonObject> seen = new CopyOnWriteArrayList<>();
  private static final List<String> authorizations = new CopyOnWriteArrayList<>();
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    provider = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      JsonObject json = body.toJsonObject();
      seen.add(json);
      authorizations.add(request.getHeader("authorization"));
      String prompt = json.getJsonArray("messages").getJsonObject(0).getString("content");
      if (prompt.equals("reject me")) {
        request.response().setStatusCode(400).putHeader("content-type", "application/json").end(new JsonObject()
          .put("error", new JsonObject().put("message", "temperature too high").put("type", "invalid_request_error"))
          .encode());
      } else if (prompt.equals("bad key")) {
        request.response().setStatusCode(401).end("{\"error\":{\"message\":\"Incorrect API key provided: "
          + KEY + "\"}}");
      } else {
        request.response().putHeader("content-type", "application/json").end(new JsonObject()
          .put("id", "chatcmpl-x").put("object", "chat.completion").put("created", 1).put("model", json.getString("model"))
          .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("finish_reason", "stop")
            .put("message", new JsonObject().put("role", "assistant").put("content", "from the provider"))))
          .put("usage", new JsonObject().put("prompt_tokens", 3).put("completion_tokens", 3)).encode());
      }
    })).listen(FreePorts.next(), "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    String defaults = Files.readString(Path.of("../conf/switchboard.yaml"));
    node = TestNode.start(defaults, Map.of("OPENAI_API_KEY", KEY,
      "OPENAI_BASE_URL", "http://127.0.0.1:" + provider.actualPort() + "/v1"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static String body(String model, String text) {
    return new JsonObject().put("model", model).put("temperature", 0.3)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  @Test
  void the_default_config_serves_openai_models_when_a_key_is_set() {
    List<String> models = new JsonObject(Http.get(node.baseUrl() + "/v1/models").body()).getJsonArray("data")
      .stream().map(m -> ((JsonObject) m).getString("id")).toList();
    assertEquals(List.of("switchboard-simulator", "switchboard-embedding", "gpt-4o-mini", "gpt-4o",
      "text-embedding-3-small", "switchboard-whisper"), models);

    HttpResponse<String> response = Http.post(node.baseUrl() + "/v1/chat/completions", body("gpt-4o-mini", "hi"));
    assertEquals(200, response.statusCode(), response.body());
    assertEquals("from the provider", new JsonObject(response.body()).getJsonArray("choices").getJsonObject(0)
      .getJsonObject("message").getString("content"));
    JsonObject sent = seen.get(seen.size() - 1);
    assertEquals("gpt-4o-mini", sent.getString("model"));
    assertEquals(0.3, sent.getDouble("temperature"), "client parameters pass through");
    assertEquals("Bearer " + KEY, authorizations.get(authorizations.size() - 1));
  }

  @Test
  void the_providers_own_refusal_reaches_the_client_as_a_400() {
    HttpResponse<String> response = Http.post(node.baseUrl() + "/v1/chat/completions", body("gpt-4o", "reject me"));
    assertEquals(400, response.statusCode());
    assertEquals("temperature too high",
      new JsonObject(response.body()).getJsonObject("error").getString("message"));
  }

  @Test
  void a_rejected_provider_key_is_a_502_that_never_shows_the_key() {
    HttpResponse<String> response = Http.post(node.baseUrl() + "/v1/chat/completions", body("gpt-4o", "bad key"));
    assertEquals(502, response.statusCode());
    assertFalse(response.body().contains(KEY), response.body());
    assertFalse(response.body().contains("sk-"), response.body());
  }

  @Test
  void clients_that_ask_for_h2c_upgrade_are_still_served() throws Exception {
    HttpClient http2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    HttpResponse<String> response = http2.send(HttpRequest.newBuilder(URI.create(node.baseUrl()
        + "/v1/chat/completions")).header("content-type", "application/json")
      .POST(HttpRequest.BodyPublishers.ofString(body("switchboard-simulator", "upgrade me"))).build(),
      HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    assertTrue(new JsonObject(response.body()).containsKey("choices"));
    assertEquals(HttpClient.Version.HTTP_2, response.version(), "the upgrade to HTTP/2 was accepted");
  }
}

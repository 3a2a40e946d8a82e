package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.RawHttp;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every error either port gives is OpenAI-shaped JSON with the right status, whoever produced it. */
class JsonErrorsTest {
  private static final String[] AUTH = {"authorization", "Bearer " + TestConfigs.ACME_KEY};
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = TestNode.start(TestConfigs.GATEWAY);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static JsonObject error(HttpResponse<String> response, int status) {
    assertEquals(status, response.statusCode(), response.body());
    assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("application/json"),
      response.headers().toString());
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertNotNull(error, response.body());
    assertNotNull(error.getString("message"), response.body());
    assertNotNull(error.getString("type"), response.body());
    assertTrue(error.containsKey("param") && error.containsKey("code"), response.body());
    return error;
  }

  @Test
  void a_wrong_method_is_405_with_allow() {
    HttpResponse<String> response = Http.get(node.baseUrl() + "/v1/chat/completions", AUTH);
    assertEquals("method_not_allowed", error(response, 405).getString("code"));
    assertTrue(response.headers().firstValue("allow").orElse("").contains("POST"), response.headers().toString());
    HttpResponse<String> models = Http.delete(node.baseUrl() + "/v1/models", AUTH);
    error(models, 405);
    assertTrue(models.headers().firstValue("allow").orElse("").contains("GET"), models.headers().toString());
  }

  @Test
  void an_unknown_path_is_404_json() {
    assertEquals("not_found", error(Http.get(node.baseUrl() + "/v2/nothing-here", AUTH), 404).getString("code"));
  }

  @Test
  void the_websocket_path_without_an_upgrade_is_426_json() {
    HttpResponse<String> plain = Http.get(node.baseUrl() + "/v1/ws", AUTH);
    error(plain, 426);
    assertEquals("websocket", plain.headers().firstValue("upgrade").orElse("").toLowerCase());
    RawHttp.Exchange badVersion = RawHttp.exchange(node.apiPort, "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
      + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
      + "Authorization: Bearer " + TestConfigs.ACME_KEY + "\r\nConnection: close\r\n\r\n", 5_000);
    assertEquals(426, badVersion.status(), badVersion.text());
    badVersion.error();
    RawHttp.Exchange noKey = RawHttp.exchange(node.apiPort, "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
      + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      + "Authorization: Bearer " + TestConfigs.ACME_KEY + "\r\n\r\n", 3_000);
    assertEquals(400, noKey.status(), noKey.text());
    noKey.error();
  }

  @Test
  void the_management_port_answers_json_errors() {
    error(Http.get(node.managementUrl() + "/nothing-here"), 404);
    HttpResponse<String> wrongMethod = Http.delete(node.managementUrl() + "/metrics");
    error(wrongMethod, 405);
    assertTrue(wrongMethod.headers().firstValue("allow").orElse("").contains("GET"), wrongMethod.headers().toString());
    RawHttp.Exchange longUri = RawHttp.exchange(node.managementPort, "GET /metrics?" + "a".repeat(10_000)
      + " HTTP/1.1\r\nHost: x\r\n\r\n", 5_000);
    assertEquals(414, longUri.status(), longUri.text());
    longUri.error();
    RawHttp.Exchange bigHeader = RawHttp.exchange(node.managementPort, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: "
      + "b".repeat(20_000) + "\r\n\r\n", 5_000);
    assertEquals(431, bigHeader.status(), bigHeader.text());
    bigHeader.error();
  }
}

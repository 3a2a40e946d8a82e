package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.RawHttp;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SockJS bridge for browsers without WebSocket: the official client, limited to one fallback transport, chats
 * over xhr_streaming and over xhr_polling (both send with xhr_send); bad jsonp / htmlfile callbacks are 400, not 500.
 */
class SockJsFallbackTest {
  private static final String KEY = "sockjs-key-acme-00000001";
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = TestNode.start("""
      auth:
        enabled: true
        keys: [{key: sockjs-key-acme-00000001, tenant: acme}]
      simulator: {ttft_ms: 5, tokens_per_second: 0, reply_tokens: 10}
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
      """);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"xhr-streaming", "xhr-polling"})
  void a_client_without_websocket_chats_over_a_fallback_transport(String transport) throws Exception {
    Path script = Path.of("src/test/js/sockjs-fallback.cjs");
    boolean ready = Files.isDirectory(Path.of("src/test/js/node_modules/@vertx/eventbus-bridge-client.js"));
    if (!ready && "true".equals(System.getenv("CI"))) {
      throw new AssertionError("CI must run npm ci in verticles/src/test/js");
    }
    Assumptions.assumeTrue(ready, "the npm client is not installed (npm ci in verticles/src/test/js)");
    String expected = new JsonObject(Http.post(node.baseUrl() + "/v1/chat/completions",
        new JsonObject().put("model", "switchboard-simulator").put("messages", new JsonArray()
          .add(new JsonObject().put("role", "user").put("content", "hello bridge"))).encode(),
        "authorization", "Bearer " + KEY).body())
      .getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content");
    Process client = new ProcessBuilder("node", script.getFileName().toString(), node.baseUrl(), KEY, transport, expected)
      .directory(script.getParent().toFile()).redirectErrorStream(true).start();
    boolean finished = client.waitFor(60, TimeUnit.SECONDS);
    if (!finished) {
      client.destroyForcibly();
    }
    String output = new String(client.getInputStream().readAllBytes());
    System.out.println(output);
    assertTrue(finished, output);
    assertEquals(0, client.exitValue(), output);
    assertTrue(output.contains("PASSED"), output);
  }

  @Test
  void xhr_send_to_a_session_is_not_a_500() {
    RawHttp.Exchange open = RawHttp.exchange(node.apiPort, "POST /eventbus/000/abcdefgh/xhr HTTP/1.1\r\nHost: x\r\n"
      + "Content-Length: 0\r\nConnection: close\r\n\r\n", 5_000);
    assertEquals(200, open.status(), open.text());
    String frame = "[\"{\\\"type\\\":\\\"ping\\\"}\"]";
    RawHttp.Exchange sent = RawHttp.exchange(node.apiPort, "POST /eventbus/000/abcdefgh/xhr_send HTTP/1.1\r\nHost: x\r\n"
      + "Content-Type: text/plain\r\nContent-Length: " + frame.length() + "\r\nConnection: close\r\n\r\n" + frame, 5_000);
    assertEquals(204, sent.status(), sent.text());
  }

  @Test
  void bad_jsonp_and_htmlfile_callbacks_are_400_json() {
    for (String path : new String[] {"/eventbus/000/abcdefgi/jsonp?c=alert(1)", "/eventbus/000/abcdefgj/jsonp",
      "/eventbus/000/abcdefgk/htmlfile?c=%3Cscript%3E"}) {
      HttpResponse<String> response = Http.get(node.baseUrl() + path);
      assertEquals(400, response.statusCode(), path + ": " + response.body());
      assertEquals("invalid_request_error", new JsonObject(response.body()).getJsonObject("error").getString("type"));
    }
  }
}

package io.switchboard;

import io.switchboard.testing.ChatSocket;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * permessage-deflate, offered by a client as browsers do: refused by default (each socket that takes it keeps a zlib
 * pair open for its life), taken with {@code server.websocket_compression: true}; the chat works either way.
 */
class WebSocketCompressionTest {
  private static final String MODELS = """
    simulator: {ttft_ms: 5, tokens_per_second: 0, reply_tokens: 40}
    model_list:
      - {model_name: switchboard-simulator, provider: simulator}
    """;
  private static TestNode plain;
  private static TestNode compressing;
  private static Vertx vertx;
  private static WebSocketClient offering;
  /** Offers the older per-frame deflate (x-webkit-deflate-frame / deflate-frame) */
  private static WebSocketClient offeringPerFrame;

  @BeforeAll
  static void start() {
    plain = TestNode.start(MODELS);
    compressing = TestNode.start("server: {websocket_compression: true}\n" + MODELS);
    vertx = Vertx.vertx();
    offering = vertx.createWebSocketClient(new WebSocketClientOptions().setTryUsePerMessageCompression(true));
    offeringPerFrame = vertx.createWebSocketClient(new WebSocketClientOptions().setTryUsePerFrameCompression(true));
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    plain.close();
    compressing.close();
  }

  @Test
  void by_default_the_offer_is_declined_and_the_answer_comes_in_plain_frames() throws Exception {
    try (ChatSocket socket = ChatSocket.connect(offering, plain.apiPort)) {
      assertNull(socket.raw().headers().get("sec-websocket-extensions"));
      assertEquals(answerOverHttp(plain, "plain frames, please"), answer(socket, "plain frames, please"));
    }
  }

  @Test
  void by_default_per_frame_deflate_is_declined_too() throws Exception {
    try (ChatSocket socket = ChatSocket.connect(offeringPerFrame, plain.apiPort)) {
      assertNull(socket.raw().headers().get("sec-websocket-extensions"));
      assertEquals(answerOverHttp(plain, "no frames squeezed"), answer(socket, "no frames squeezed"));
    }
  }

  @Test
  void when_configured_the_socket_negotiates_deflate_and_the_answer_arrives_whole() throws Exception {
    try (ChatSocket socket = ChatSocket.connect(offering, compressing.apiPort)) {
      String extensions = socket.raw().headers().get("sec-websocket-extensions");
      assertTrue(extensions != null && extensions.contains("permessage-deflate"), String.valueOf(extensions));
      assertEquals(answerOverHttp(compressing, "squeeze it"), answer(socket, "squeeze it"));
    }
  }

  /** The deltas of one turn, joined, once its "done" came. */
  private static String answer(ChatSocket socket, String text) throws Exception {
    assertEquals("ready", socket.next().getString("type"));
    socket.send(new JsonObject().put("type", "chat").put("id", "t1").put("model", "switchboard-simulator")
      .put("message", text));
    StringBuilder deltas = new StringBuilder();
    JsonObject message;
    while (!(message = socket.next()).getString("type").equals("done")) {
      assertTrue(message.getString("type").equals("started") || message.getString("type").equals("delta"),
        message.encode());
      deltas.append(message.getString("text", ""));
    }
    assertEquals(40, message.getJsonObject("usage").getInteger("completion_tokens"));
    return deltas.toString();
  }

  private static String answerOverHttp(TestNode node, String text) {
    String body = new JsonObject().put("model", "switchboard-simulator").put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", text))).encode();
    return new JsonObject(Http.post(node.baseUrl() + "/v1/chat/completions", body).body())
      .getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content");
  }
}

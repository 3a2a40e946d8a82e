package io.switchboard;

import io.switchboard.testing.ChatSocket;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** WebSocket chat over a real socket: authenticate, stream, several conversations, cancel, slow readers. */
class WebSocketChatTest {
  private static final String KEY = "ws-test-key-000000000001";
  private static final String CONFIG = """
    server:
      slow_client_timeout_ms: 800
    auth:
      enabled: true
      keys:
        - {key: ws-test-key-000000000001, tenant: acme}
    simulator:
      ttft_ms: 5
      tokens_per_second: 0
      reply_tokens: 12
    model_list:
      - model_name: switchboard-simulator
        provider: simulator
      - model_name: slow-talker
        provider: simulator
        simulator: {tokens_per_second: 20, reply_tokens: 200}
      - model_name: firehose
        provider: simulator
        simulator: {tokens_per_second: 0, reply_tokens: 300000}
    """;
  private static TestNode node;
  private static Vertx vertx;
  private static WebSocketClient client;

  @BeforeAll
  static void start() {
    node = TestNode.start(CONFIG);
    vertx = Vertx.vertx();
    client = vertx.createWebSocketClient();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    node.close();
  }

  private static ChatSocket signedIn() throws Exception {
    ChatSocket socket = ChatSocket.connect(client, node.apiPort);
    socket.send(new JsonObject().put("type", "auth").put("api_key", KEY));
    assertEquals("ready", socket.next().getString("type"));
    return socket;
  }

  private static JsonObject chat(String id, String model, String text, String conversation) {
    return new JsonObject().put("type", "chat").put("id", id).put("model", model).put("message", text)
      .put("conversation_id", conversation);
  }

  private static String expected(String text) {
    String body = new JsonObject().put("model", "switchboard-simulator").put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", text))).encode();
    return new JsonObject(Http.post(node.baseUrl() + "/v1/chat/completions", body, "authorization", "Bearer " + KEY)
      .body()).getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content");
  }

  @Test
  void an_answer_streams_as_deltas_and_ends_with_usage() throws Exception {
    try (ChatSocket socket = signedIn()) {
      socket.send(chat("t1", "switchboard-simulator", "hello socket", null));
      JsonObject started = socket.next();
      assertEquals("started", started.getString("type"));
      String conversation = started.getString("conversation_id");
      StringBuilder text = new StringBuilder();
      JsonObject message;
      while ((message = socket.next()).getString("type").equals("delta")) {
        assertEquals("t1", message.getString("id"));
        text.append(message.getString("text"));
      }
      assertEquals("done", message.getString("type"), message.encode());
      assertEquals(conversation, message.getString("conversation_id"));
      assertEquals(12, message.getJsonObject("usage").getInteger("completion_tokens"));
      assertEquals(expected("hello socket"), text.toString());
    }
  }

  @Test
  void several_conversations_stream_at_once_on_one_socket() throws Exception {
    try (ChatSocket socket = signedIn()) {
      for (int i = 0; i < 4; i++) {
        socket.send(chat("c" + i, "switchboard-simulator", "question " + i, "conv-multi-" + i));
      }
      Map<String, StringBuilder> texts = new HashMap<>();
      int done = 0;
      while (done < 4) {
        JsonObject message = socket.next();
        switch (message.getString("type")) {
          case "delta" -> texts.computeIfAbsent(message.getString("id"), k -> new StringBuilder())
            .append(message.getString("text"));
          case "done" -> done++;
          case "started" -> { }
          default -> throw new AssertionError(message.encode());
        }
      }
      for (int i = 0; i < 4; i++) {
        assertEquals(expected("question " + i), texts.get("c" + i).toString());
      }
    }
  }

  @Test
  void memory_follows_the_conversation_not_the_socket() throws Exception {
    String conversation = "conv-ws-" + System.nanoTime();
    int first;
    try (ChatSocket socket = signedIn()) {
      socket.send(chat("a", "switchboard-simulator", "remember the word teapot", conversation));
      first = socket.next(m -> m.getString("type").equals("done")).getJsonObject("usage").getInteger("prompt_tokens");
    }
    try (ChatSocket socket = signedIn()) {
      socket.send(chat("b", "switchboard-simulator", "remember the word teapot", conversation));
      JsonObject started = socket.next();
      assertEquals("on", started.getString("memory"));
      int second = socket.next(m -> m.getString("type").equals("done")).getJsonObject("usage")
        .getInteger("prompt_tokens");
      assertTrue(second > first + 10, "the new socket's turn carried the earlier one: " + second + " vs " + first);
    }
  }

  @Test
  void cancel_stops_the_answer_and_the_upstream_call() throws Exception {
    try (ChatSocket socket = signedIn()) {
      socket.send(chat("long", "slow-talker", "a long story", null));
      socket.next(m -> m.getString("type").equals("delta"));
      socket.send(new JsonObject().put("type", "cancel").put("id", "long"));
      socket.next(m -> m.getString("type").equals("cancelled"));
      long deadline = System.currentTimeMillis() + 3000;
      while (inflight() > 0 && System.currentTimeMillis() < deadline) {
        Thread.sleep(50);
      }
      assertEquals(0.0, inflight(), "the upstream call stopped");
      socket.send(new JsonObject().put("type", "ping"));
      assertEquals("pong", socket.next(m -> !m.getString("type").equals("delta")).getString("type"),
        "the socket is still usable");
    }
  }

  private static double inflight() {
    return Http.get(node.managementUrl() + "/metrics").body().lines()
      .filter(l -> l.startsWith("switchboard_inference_inflight "))
      .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1))).findFirst().orElse(-1);
  }

  @Test
  void a_tool_round_over_the_socket_streams_tool_call_deltas_and_takes_the_tool_result() throws Exception {
    JsonArray tools = new JsonArray().add(new JsonObject().put("type", "function").put("function", new JsonObject()
      .put("name", "lookup").put("parameters", new JsonObject().put("type", "object").put("properties",
        new JsonObject().put("query", new JsonObject().put("type", "string"))).put("required", new JsonArray().add("query")))));
    try (ChatSocket socket = signedIn()) {
      socket.send(chat("tools", "switchboard-simulator", "find the capital", null)
        .put("options", new JsonObject().put("tools", tools)));
      assertEquals("started", socket.next().getString("type"));
      StringBuilder arguments = new StringBuilder();
      JsonObject message;
      while (true) {
        message = socket.next();
        if (!message.getString("type").equals("delta")) {
          break;
        }
        JsonObject chunk = message.getJsonObject("chunk");
        assertEquals("chat.completion.chunk", chunk.getString("object"), "the whole OpenAI chunk comes along");
        JsonObject delta = chunk.getJsonArray("choices").getJsonObject(0).getJsonObject("delta");
        arguments.append(delta.getJsonArray("tool_calls").getJsonObject(0).getJsonObject("function")
          .getString("arguments", ""));
      }
      assertEquals("done", message.getString("type"), message.encode());
      assertEquals("tool_calls", message.getString("finish_reason"));
      JsonObject call = message.getJsonObject("message").getJsonArray("tool_calls").getJsonObject(0);
      assertEquals("lookup", call.getJsonObject("function").getString("name"));
      assertEquals(call.getJsonObject("function").getString("arguments"), arguments.toString(),
        "the deltas add up to the call in done");
      assertEquals("find the capital", new JsonObject(arguments.toString()).getString("query"));

      socket.send(new JsonObject().put("type", "chat").put("id", "result").put("model", "switchboard-simulator")
        .put("options", new JsonObject().put("tools", tools))
        .put("messages", new JsonArray()
          .add(new JsonObject().put("role", "user").put("content", "find the capital"))
          .add(message.getJsonObject("message"))
          .add(new JsonObject().put("role", "tool").put("tool_call_id", call.getString("id")).put("content", "Paris"))));
      StringBuilder text = new StringBuilder();
      JsonObject next;
      while (!(next = socket.next(m -> !m.getString("type").equals("started"))).getString("type").equals("done")) {
        assertEquals("delta", next.getString("type"), next.encode());
        text.append(next.getString("text"));
      }
      assertTrue(text.toString().startsWith("The tool said: Paris"), text.toString());
    }
  }

  @Test
  void bad_keys_bad_messages_and_unknown_types_get_clear_answers() throws Exception {
    try (ChatSocket stranger = ChatSocket.connect(client, node.apiPort)) {
      stranger.send(new JsonObject().put("type", "auth").put("api_key", "wrong-key-0000000000000"));
      assertEquals(4401, stranger.closeCode(5000));
    }
    try (ChatSocket early = ChatSocket.connect(client, node.apiPort)) {
      early.send(chat("x", "switchboard-simulator", "hi", null));
      assertEquals(4401, early.closeCode(5000), "nothing before auth");
    }
    try (ChatSocket socket = signedIn()) {
      socket.raw().writeTextMessage("{not json");
      assertEquals("error", socket.next().getString("type"));
      socket.send(new JsonObject().put("type", "dance"));
      assertEquals("invalid_request_error", socket.next().getJsonObject("error").getString("type"));
      socket.send(chat("m", "no-such-model", "hi", null));
      JsonObject error = socket.next(m -> m.getString("type").equals("error"));
      assertEquals("model_not_found", error.getJsonObject("error").getString("code"));
      assertEquals("m", error.getString("id"));
    }
    try (ChatSocket byHeader = ChatSocket.connect(client, node.apiPort, "authorization", "Bearer " + KEY)) {
      assertEquals("ready", byHeader.next().getString("type"), "a non-browser client may use the header");
    }
  }

  @Test
  void a_reader_that_stays_behind_is_disconnected_with_a_reason() throws Exception {
    // a raw socket that upgrades, asks for a flood, and then does not read: real TCP backpressure
    try (Socket raw = new Socket()) {
      // a small receive window, so what the kernel holds for us does not hide the gateway's own queue
      raw.setReceiveBufferSize(8 * 1024);
      raw.connect(new java.net.InetSocketAddress("127.0.0.1", node.apiPort), 5_000);
      OutputStream out = raw.getOutputStream();
      out.write(("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        + "Authorization: Bearer " + KEY + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      writeMaskedText(out, chat("flood", "firehose", "everything at once", null).encode());
      long start = System.currentTimeMillis();
      double paused = 0;
      while (paused == 0 && System.currentTimeMillis() - start < 10_000) {
        Thread.sleep(100);
        paused = metric("switchboard_stream_paused_total");
      }
      assertTrue(paused >= 1, "the full write queue paused the upstream read");
      Thread.sleep(2_000); // longer than the 800 ms slow-client timeout
      // now read everything: the gateway must have given up on us with 4409 after the slow-client timeout
      InputStream in = raw.getInputStream();
      raw.setSoTimeout(15_000);
      byte[] all = in.readAllBytes();
      String tail = new String(all, Math.max(0, all.length - 200), Math.min(200, all.length), StandardCharsets.UTF_8);
      assertTrue(tail.contains("client too slow"), "closed with a reason: ..." + tail);
      assertTrue(all.length < 300_000 * 40, "the gateway stopped the answer instead of sending it all: " + all.length);
    }
  }

  private static double metric(String name) {
    return Http.get(node.managementUrl() + "/metrics").body().lines().filter(l -> l.startsWith(name + " "))
      .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1))).findFirst().orElse(0);
  }

  /** One client-to-server text frame (clients must mask). */
  private static void writeMaskedText(OutputStream out, String text) throws Exception {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    out.write(0x81);
    if (payload.length < 126) {
      out.write(0x80 | payload.length);
    } else {
      out.write(0x80 | 126);
      out.write(payload.length >> 8);
      out.write(payload.length & 0xFF);
    }
    byte[] mask = {1, 2, 3, 4};
    out.write(mask);
    for (int i = 0; i < payload.length; i++) {
      out.write(payload[i] ^ mask[i % 4]);
    }
    out.flush();
  }
}

package io.switchboard;

import io.switchboard.testing.ChatSocket;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The chat WebSocket against RFC 6455 and its own protocol, frame by frame on a raw socket: frames it cannot accept
 * close it with the code the RFC names; one ready per socket; a refused turn never starts.
 */
class WebSocketProtocolTest {
  private static final int TEXT = 0x1;
  private static final int CONTINUATION = 0x0;
  private static final int BINARY = 0x2;
  private static final int CLOSE = 0x8;
  private static TestNode node;
  /** The same with permessage-deflate on offer: the codec then lets RSV bits through, and the gateway's guard judges */
  private static TestNode compressing;
  private static Vertx vertx;
  private static WebSocketClient client;

  @BeforeAll
  static void start() {
    node = TestNode.start("""
      auth: {enabled: false}
      simulator: {ttft_ms: 5, tokens_per_second: 0, reply_tokens: 5}
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
      """);
    compressing = TestNode.start("""
      auth: {enabled: false}
      server: {websocket_compression: true}
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
      """);
    vertx = Vertx.vertx();
    client = vertx.createWebSocketClient();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    node.close();
    compressing.close();
  }

  /** A WebSocket opened by hand; with auth off the first frame the server sends is ready. */
  private static final class RawSocket implements AutoCloseable {
    final Socket socket;
    final OutputStream out;
    final DataInputStream in;

    RawSocket() throws IOException {
      this(node.apiPort);
    }

    RawSocket(int port) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(10_000);
      out = socket.getOutputStream();
      in = new DataInputStream(socket.getInputStream());
      out.write(("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
      String head = readHead(in);
      if (!head.startsWith("HTTP/1.1 101")) {
        throw new AssertionError("no upgrade: " + head);
      }
      assertEquals("ready", new JsonObject(new String(readFrame()[1], StandardCharsets.UTF_8)).getString("type"));
    }

    /** A masked client frame. */
    void send(boolean fin, int rsv, int opcode, byte[] payload) throws IOException {
      ByteArrayOutputStream frame = new ByteArrayOutputStream();
      frame.write((fin ? 0x80 : 0) | (rsv << 4) | opcode);
      if (payload.length < 126) {
        frame.write(0x80 | payload.length);
      } else {
        frame.write(0x80 | 126);
        frame.write(payload.length >> 8);
        frame.write(payload.length & 0xff);
      }
      byte[] mask = new byte[4];
      ThreadLocalRandom.current().nextBytes(mask);
      frame.write(mask);
      for (int i = 0; i < payload.length; i++) {
        frame.write(payload[i] ^ mask[i % 4]);
      }
      out.write(frame.toByteArray());
      out.flush();
    }

    /** {opcode}, payload of the next server frame (servers do not mask). */
    byte[][] readFrame() throws IOException {
      int first = in.readUnsignedByte();
      int length = in.readUnsignedByte() & 0x7f;
      if (length == 126) {
        length = in.readUnsignedShort();
      } else if (length == 127) {
        length = (int) in.readLong();
      }
      byte[] payload = new byte[length];
      in.readFully(payload);
      return new byte[][] {{(byte) (first & 0x0f)}, payload};
    }

    /** The code of the close frame the server sends next (text frames before it are skipped). */
    int closeCode() throws IOException {
      while (true) {
        byte[][] frame = readFrame();
        if (frame[0][0] == CLOSE) {
          return frame[1].length >= 2 ? ((frame[1][0] & 0xff) << 8) | (frame[1][1] & 0xff) : 1005;
        }
      }
    }

    String nextText() throws IOException {
      byte[][] frame = readFrame();
      assertEquals(TEXT, frame[0][0], "expected a text frame");
      return new String(frame[1], StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.append((char) b);
    }
    return head.toString();
  }

  @Test
  void a_binary_frame_closes_with_1003() throws IOException {
    try (RawSocket ws = new RawSocket()) {
      ws.send(true, 0, BINARY, new byte[] {1, 2, 3});
      assertEquals(1003, ws.closeCode());
    }
  }

  @Test
  void text_that_is_not_utf8_closes_with_1007() throws IOException {
    try (RawSocket ws = new RawSocket()) {
      ws.send(true, 0, TEXT, new byte[] {'{', '"', (byte) 0xC3, 0x28, '"', '}'});
      assertEquals(1007, ws.closeCode());
    }
  }

  @Test
  void a_frame_with_rsv_bits_and_no_extension_closes_with_1002() throws IOException {
    try (RawSocket ws = new RawSocket()) {
      ws.send(true, 0b100, TEXT, "{\"type\":\"ping\"}".getBytes(StandardCharsets.UTF_8));
      assertEquals(1002, ws.closeCode());
    }
  }

  @Test
  void where_deflate_could_be_negotiated_but_was_not_rsv_bits_still_close_with_1002() throws IOException {
    try (RawSocket ws = new RawSocket(compressing.apiPort)) {
      ws.send(true, 0b100, TEXT, "{\"type\":\"ping\"}".getBytes(StandardCharsets.UTF_8));
      assertEquals(1002, ws.closeCode());
    }
  }

  @Test
  void a_character_split_across_fragments_is_valid_utf8() throws IOException {
    try (RawSocket ws = new RawSocket()) {
      byte[] message = "{\"type\":\"ping\",\"note\":\"é\"}".getBytes(StandardCharsets.UTF_8);
      int split = message.length - 3; // inside the two bytes of é
      ws.send(false, 0, TEXT, java.util.Arrays.copyOfRange(message, 0, split));
      ws.send(true, 0, CONTINUATION, java.util.Arrays.copyOfRange(message, split, message.length));
      assertEquals("pong", new JsonObject(ws.nextText()).getString("type"));
    }
  }

  @Test
  void with_auth_off_ready_comes_once_and_the_readme_auth_message_gets_no_second_ready() throws Exception {
    try (ChatSocket socket = ChatSocket.connect(client, node.apiPort)) {
      assertEquals("ready", socket.next().getString("type"));
      socket.send(new JsonObject().put("type", "auth").put("api_key", "anything-at-all-000000"));
      socket.send(new JsonObject().put("type", "ping"));
      assertEquals("pong", socket.next().getString("type"), "nothing (no second ready) answers the auth");
    }
  }

  @Test
  void a_turn_for_an_unknown_model_is_refused_without_started() throws Exception {
    try (ChatSocket socket = ChatSocket.connect(client, node.apiPort)) {
      assertEquals("ready", socket.next().getString("type"));
      socket.send(new JsonObject().put("type", "chat").put("id", "t1").put("model", "no-such-model-" + "x".repeat(200))
        .put("message", "hi"));
      JsonObject first = socket.next();
      assertEquals("error", first.getString("type"), first.encode());
      assertEquals("t1", first.getString("id"));
      JsonObject error = first.getJsonObject("error");
      assertEquals("model_not_found", error.getString("code"));
      assertNotEquals(true, error.getString("message").contains("x".repeat(100)), "the model name is cut");
      socket.send(new JsonObject().put("type", "ping"));
      assertEquals("pong", socket.next().getString("type"), "no started came after the error either");
    }
  }
}

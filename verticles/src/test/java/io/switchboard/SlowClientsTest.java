package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.RawHttp;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Slowloris and idle keep-alive connections: half-sent requests are answered 408 and closed once the header-read
 * timeout passes, idle connections are closed after the idle timeout, and meanwhile real chats go on being answered.
 */
class SlowClientsTest {
  private static final long HEADER_TIMEOUT_MS = 1_000;
  private static final long IDLE_TIMEOUT_MS = 1_500;
  /** Time for a loaded 2-core machine to get round to closing hundreds of sockets. */
  private static final long SLACK_MS = 3_000;
  private static final String AUTH = "Bearer " + TestConfigs.ACME_KEY;
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = TestNode.start("""
      server: {header_read_timeout_ms: %d, idle_timeout_ms: %d}
      management: {header_read_timeout_ms: %d, idle_timeout_ms: %d}
      auth:
        enabled: true
        keys: [{key: %s, tenant: acme}]
      simulator: {ttft_ms: 5, tokens_per_second: 0, reply_tokens: 12}
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
        - model_name: sim-slow
          provider: simulator
          simulator: {tokens_per_second: 4, reply_tokens: 10}
      """.formatted(HEADER_TIMEOUT_MS, IDLE_TIMEOUT_MS, HEADER_TIMEOUT_MS, IDLE_TIMEOUT_MS, TestConfigs.ACME_KEY));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static String chat(String model, boolean stream) {
    return new JsonObject().put("model", model).put("stream", stream).put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", "still there?"))).encode();
  }

  @Test
  void five_hundred_half_sent_requests_are_closed_within_the_timeout_while_chats_go_on() throws Exception {
    List<Socket> sockets = new ArrayList<>();
    List<Long> sentAt = new ArrayList<>();
    ExecutorService chats = Executors.newFixedThreadPool(4);
    try {
      for (int i = 0; i < 500; i++) {
        Socket socket = new Socket("127.0.0.1", node.apiPort);
        OutputStream out = socket.getOutputStream();
        // a request head that never ends
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + AUTH
          + "\r\nContent-Type: appl").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        sockets.add(socket);
        sentAt.add(System.currentTimeMillis());
      }
      // real clients, while the 500 are held
      List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        answers.add(CompletableFuture.supplyAsync(() -> Http.post(node.baseUrl() + "/v1/chat/completions",
          chat("switchboard-simulator", false), "authorization", AUTH), chats));
      }
      long worst = 0;
      int answered408 = 0;
      for (int i = 0; i < sockets.size(); i++) {
        long deadline = sentAt.get(i) + HEADER_TIMEOUT_MS + SLACK_MS;
        RawHttp.Exchange exchange = RawHttp.readUntilClosed(sockets.get(i),
          Math.max(1, deadline - System.currentTimeMillis()));
        assertTrue(exchange.closed(), "half-sent request " + i + " still open "
          + (System.currentTimeMillis() - sentAt.get(i)) + " ms after it was sent");
        worst = Math.max(worst, System.currentTimeMillis() - sentAt.get(i));
        if (exchange.text().startsWith("HTTP/1.1 408")) {
          answered408++;
          exchange.error();
        }
      }
      for (CompletableFuture<HttpResponse<String>> answer : answers) {
        HttpResponse<String> response = answer.get(30, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode(), response.body());
      }
      assertEquals(500, answered408, "each half-sent request is told why (408) before the close");
      System.out.println("500 half-sent requests closed, the last " + worst + " ms after it was sent (timeout "
        + HEADER_TIMEOUT_MS + " ms); 40 chats answered 200 meanwhile");
    } finally {
      chats.shutdownNow();
      for (Socket socket : sockets) {
        socket.close();
      }
    }
  }

  @Test
  void an_idle_keep_alive_connection_is_closed_but_a_long_stream_is_not() throws IOException {
    try (Socket socket = new Socket("127.0.0.1", node.apiPort)) {
      socket.getOutputStream().write(("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH + "\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
      long answered = System.currentTimeMillis();
      RawHttp.Exchange exchange = RawHttp.readUntilClosed(socket, IDLE_TIMEOUT_MS + SLACK_MS);
      long idle = System.currentTimeMillis() - answered;
      assertTrue(exchange.text().startsWith("HTTP/1.1 200"), exchange.text());
      assertTrue(exchange.closed(), "the idle connection stayed open");
      assertTrue(idle >= IDLE_TIMEOUT_MS - 100, "closed after only " + idle + " ms");
    }
    // about 2.5 s of streaming, longer than both timeouts: a response in flight is never cut
    HttpResponse<java.util.stream.Stream<String>> stream = Http.postLines(node.baseUrl() + "/v1/chat/completions",
      chat("sim-slow", true),
      "authorization", AUTH);
    List<String> events = Http.sseData(stream);
    assertEquals("[DONE]", events.get(events.size() - 1));
  }

  @Test
  void a_kept_alive_connection_gets_the_whole_header_timeout_for_its_next_request_and_no_more() throws IOException {
    try (Socket socket = new Socket("127.0.0.1", node.apiPort)) {
      socket.getOutputStream().write(("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH + "\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
      // idle for most of the header timeout the connection was opened with, then a head that never ends
      RawHttp.Exchange first = RawHttp.readUntilClosed(socket, HEADER_TIMEOUT_MS * 7 / 10);
      assertTrue(first.text().startsWith("HTTP/1.1 200") && !first.closed(), first.text());
      socket.getOutputStream().write("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthor".getBytes(StandardCharsets.ISO_8859_1));
      long sent = System.currentTimeMillis();
      RawHttp.Exchange second = RawHttp.readUntilClosed(socket, HEADER_TIMEOUT_MS + SLACK_MS);
      long waited = System.currentTimeMillis() - sent;
      assertTrue(second.closed(), "still open: " + second.text());
      assertEquals(408, second.status(), second.text());
      assertTrue(waited >= HEADER_TIMEOUT_MS - 100, "refused " + waited + " ms after the head began");
    }
  }

  @Test
  void the_management_port_closes_half_sent_requests_too() throws IOException {
    try (Socket socket = new Socket("127.0.0.1", node.managementPort)) {
      socket.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.ISO_8859_1));
      RawHttp.Exchange exchange = RawHttp.readUntilClosed(socket, HEADER_TIMEOUT_MS + SLACK_MS);
      assertTrue(exchange.closed(), "still open: " + exchange.text());
      assertEquals(408, exchange.status());
    }
  }
}

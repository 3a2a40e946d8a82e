package io.switchboard;

import io.switchboard.testing.RawHttp;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Requests framed the way request smugglers and broken clients frame them, as raw bytes on a real socket: each gets
 * one OpenAI-shaped JSON error with the right status, then the connection is closed, and nothing sent behind the
 * bad request is ever executed.
 */
class HttpFramingTest {
  private static final String AUTH = "Authorization: Bearer " + TestConfigs.ACME_KEY + "\r\n";
  private static final String CHAT = "{\"model\":\"switchboard-simulator\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  /** Pipelined behind a bad request: if it is ever answered, the bad request's framing was believed. */
  private static final String SMUGGLED = "GET /v1/models HTTP/1.1\r\nHost: x\r\n" + AUTH + "\r\n";
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = TestNode.start(TestConfigs.GATEWAY);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static RawHttp.Exchange send(String request) {
    return RawHttp.exchange(node.apiPort, request, 5_000);
  }

  private static void refusedAndClosed(RawHttp.Exchange exchange, int status, String what) {
    assertEquals(status, exchange.status(), what + ": " + exchange.text());
    exchange.error();
    assertEquals("application/json", exchange.header("content-type"), what);
    assertEquals(1, exchange.statusLines().size(), what + ": the request behind it was executed: " + exchange.text());
    assertTrue(exchange.closed(), what + ": the connection stayed open");
  }

  @Test
  void content_length_with_transfer_encoding_is_400_and_the_connection_is_closed() {
    String body = "0\r\n\r\n";
    RawHttp.Exchange exchange = send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH
      + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\nTransfer-Encoding: chunked\r\n\r\n"
      + body + SMUGGLED);
    refusedAndClosed(exchange, 400, "CL+TE");
  }

  @Test
  void an_unknown_transfer_coding_is_501() {
    RawHttp.Exchange exchange = send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH
      + "Content-Type: application/json\r\nTransfer-Encoding: gzip\r\nContent-Length: " + CHAT.length() + "\r\n\r\n"
      + CHAT + SMUGGLED);
    refusedAndClosed(exchange, 501, "TE: gzip");
    refusedAndClosed(send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH
      + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + SMUGGLED), 501, "TE: gzip, chunked");
  }

  @Test
  void every_malformed_framing_gets_a_400_before_the_close() {
    Map<String, String> malformed = Map.of(
      "non-numeric Content-Length", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH
        + "Content-Length: abc\r\n\r\n" + SMUGGLED,
      "two different Content-Lengths", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH
        + "Content-Length: 4\r\nContent-Length: 40\r\n\r\n" + CHAT + SMUGGLED,
      "a chunk size that is not hex", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH
        + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + CHAT + "\r\n0\r\n\r\n" + SMUGGLED,
      "whitespace before the colon", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH
        + "Content-Length : 4\r\n\r\nabcd" + SMUGGLED,
      "a header line without a colon", "GET /v1/models HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n" + SMUGGLED,
      "a request line that is not HTTP", "HELLO THERE\r\n\r\n" + SMUGGLED);
    malformed.forEach((what, request) -> refusedAndClosed(send(request), 400, what));
  }

  @Test
  void lines_and_headers_too_long_get_414_and_431_in_json() {
    refusedAndClosed(send("GET /v1/models?" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"), 414, "long URI");
    refusedAndClosed(send("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(20_000) + "\r\n\r\n"), 431,
      "big header");
  }

  @Test
  void connect_is_answered_in_json_with_405() {
    RawHttp.Exchange exchange = send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    refusedAndClosed(exchange, 405, "CONNECT");
    assertTrue(exchange.header("allow") != null, exchange.text());
  }

  @Test
  void well_framed_pipelined_requests_are_all_answered_on_one_connection() {
    String chunked = Integer.toHexString(CHAT.length()) + "\r\n" + CHAT + "\r\n0\r\n\r\n";
    RawHttp.Exchange exchange = RawHttp.exchange(node.apiPort, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH
      + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + SMUGGLED
      + "GET /v1/models HTTP/1.1\r\nHost: x\r\n" + AUTH + "Connection: close\r\n\r\n", 10_000);
    assertEquals(3, exchange.statusLines().size(), exchange.text());
    assertTrue(exchange.statusLines().stream().allMatch(l -> l.startsWith("HTTP/1.1 200")), exchange.text());
  }
}

package io.switchboard.im;

import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static io.switchboard.im.PlatformCallbacks.nowSeconds;
import static io.switchboard.im.PlatformCallbacks.wecomText;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Unauthenticated WeCom callbacks with hostile XML: refused with a 400 at once, before any tree is built. */
class WeComHostileXmlTest {
  private static Vertx vertx;
  private static FakePlatforms fake;
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    fake = FakePlatforms.start(vertx);
    node = TestNode.start(ImBotsTest.config(fake.url(), "session: {store: memory}"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    if (fake != null) {
      fake.close();
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  private static HttpResponse<String> post(String body) {
    // a well-formed query string: only the body is hostile
    return wecomText(ImBotsTest.WECOM, "mallory", "1", "hi", nowSeconds()).withBody(body).send(node.baseUrl());
  }

  @Test
  void xml_nested_fifty_thousand_deep_gets_a_400_in_milliseconds() {
    String deep = "<a>".repeat(50_000) + "x" + "</a>".repeat(50_000); // about 350 KB, under the body limit
    post("<xml/>"); // warm the path up, so the figure below is the parse, not the first request
    long started = System.nanoTime();
    HttpResponse<String> response = post(deep);
    long millis = (System.nanoTime() - started) / 1_000_000;
    assertEquals(400, response.statusCode(), response.body());
    // generous for a loaded 2-core machine: the point is no parse at all (before: StackOverflowError, 500)
    assertTrue(millis < 2_000, "took " + millis + " ms");
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertEquals("invalid_request_error", error.getString("type"), response.body());
    System.out.println("50,000-deep XML answered " + response.statusCode() + " in " + millis + " ms");
  }

  @Test
  void xml_small_enough_but_nested_too_deep_gets_a_400() {
    String deep = "<xml>" + "<a>".repeat(9_000) + "</a>".repeat(9_000) + "</xml>"; // under the size bound
    HttpResponse<String> response = post(deep);
    assertEquals(400, response.statusCode(), response.body());
  }

  @Test
  void a_large_flat_body_and_a_dtd_are_refused_with_400() {
    String big = "<xml><Encrypt>" + "A".repeat(200_000) + "</Encrypt></xml>";
    assertEquals(400, post(big).statusCode());
    String bomb = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>"
      + "<xml><Encrypt>&b;</Encrypt></xml>";
    assertEquals(400, post(bomb).statusCode());
  }

  @Test
  void a_genuine_callback_still_reads_after_the_hostile_ones() {
    HttpResponse<String> ok = wecomText(ImBotsTest.WECOM, "alice-" + System.nanoTime(), String.valueOf(System.nanoTime()),
      "hello", nowSeconds()).send(node.baseUrl());
    assertEquals(200, ok.statusCode(), ok.body());
  }
}

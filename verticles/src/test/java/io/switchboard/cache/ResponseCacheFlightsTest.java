package io.switchboard.cache;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The local layer and single-flight on one node, without HTTP: who waits, who asks, what is kept. */
class ResponseCacheFlightsTest {
  private static final SwitchboardConfig.RouteCache ROUTE = new SwitchboardConfig.RouteCache(60, false);
  private Vertx vertx;
  private ResponseCache cache;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    cache = new ResponseCache(vertx, new SwitchboardConfig.Cache("local", null, 1 << 20, 2_048, 5_000),
      new SimpleMeterRegistry());
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static CacheKey key(String text) {
    return CacheKey.of("acme", "m", List.of(new ChatMessage("user", text)), null);
  }

  private ResponseCache.Lookup await(Future<ResponseCache.Lookup> lookup) throws Exception {
    return lookup.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private Future<ResponseCache.Lookup> lookup(CacheKey key) {
    return cache.lookup(key, ROUTE, System.currentTimeMillis() + 5_000);
  }

  private static CachedAnswer answer(String content, boolean toolCall, long expiresAt) {
    JsonObject message = new JsonObject().put("role", "assistant").put("content", content);
    if (toolCall) {
      message.put("tool_calls", new JsonArray().add(new JsonObject().put("id", "call_1")));
    }
    JsonObject completion = new JsonObject().put("id", "chatcmpl-req_first").put("object", "chat.completion")
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("message", message)
        .put("finish_reason", "stop")));
    return CachedAnswer.whole(new ChatResult("req_first", Buffer.buffer(completion.encode()), message, "stop", null, 0,
      "d.0", 0), expiresAt);
  }

  @Test
  void an_answer_is_kept_until_its_ttl_and_only_when_it_fits() throws Exception {
    ResponseCache.Lookup first = await(lookup(key("small")));
    assertNull(first.hit());
    first.flight().offer(answer("Paris.", false, System.currentTimeMillis() + 60_000));
    ResponseCache.Lookup second = await(lookup(key("small")));
    assertEquals("local", second.layer());
    assertEquals("chatcmpl-req_second", new JsonObject(second.hit().result("req_second").completion())
      .getString("id"));

    ResponseCache.Lookup big = await(lookup(key("big")));
    big.flight().offer(answer("x".repeat(3_000), false, System.currentTimeMillis() + 60_000));
    assertNull(await(lookup(key("big"))).hit(), "over max_entry_bytes: not kept");

    ResponseCache.Lookup brief = await(lookup(key("brief")));
    brief.flight().offer(answer("Paris.", false, System.currentTimeMillis() + 150));
    assertNotNull(await(lookup(key("brief"))).hit());
    Thread.sleep(200);
    assertNull(await(lookup(key("brief"))).hit(), "expired");
  }

  @Test
  void waiters_get_the_first_answer_and_a_failed_first_lets_one_of_them_ask_again() throws Exception {
    ResponseCache.Lookup leader = await(lookup(key("q")));
    List<Future<ResponseCache.Lookup>> waiters = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      waiters.add(lookup(key("q")));
    }
    Thread.sleep(50);
    assertTrue(waiters.stream().noneMatch(Future::isComplete), "they wait for the first");
    leader.flight().failed();
    Thread.sleep(100);
    List<Future<ResponseCache.Lookup>> asking = waiters.stream().filter(Future::isComplete).toList();
    assertEquals(1, asking.size(), "one waiter asks again, the others wait for it");
    assertNull(asking.get(0).result().hit());
    asking.get(0).result().flight().offer(answer("Paris.", false, System.currentTimeMillis() + 60_000));
    for (Future<ResponseCache.Lookup> waiter : waiters) {
      if (waiter != asking.get(0)) {
        assertEquals("flight", await(waiter).layer());
        assertEquals("Paris.", await(waiter).hit().message().getString("content"));
      }
    }
  }

  @Test
  void an_answer_that_cannot_be_kept_lets_every_waiter_ask_on_its_own() throws Exception {
    ResponseCache.Lookup leader = await(lookup(key("tools")));
    List<Future<ResponseCache.Lookup>> waiters = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      waiters.add(lookup(key("tools")));
    }
    Thread.sleep(50);
    leader.flight().offer(answer("", true, System.currentTimeMillis() + 60_000)); // tool calls: the route keeps none
    for (Future<ResponseCache.Lookup> waiter : waiters) {
      ResponseCache.Lookup lookup = await(waiter);
      assertNull(lookup.hit());
      assertNotNull(lookup.flight());
    }
  }
}

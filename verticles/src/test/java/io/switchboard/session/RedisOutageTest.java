package io.switchboard.session;

import io.switchboard.bus.ChatMessage;
import io.switchboard.testing.FreePorts;
import io.switchboard.testing.RedisServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The store when Redis goes away: it fails fast, and the same instance works again once Redis is back. */
@ExtendWith(VertxExtension.class)
class RedisOutageTest {
  private static final Duration FAIL_FAST = Duration.ofSeconds(3);
  private static final String TENANT = "acme";

  private RedisServer redisServer;
  private EventLoop loop;
  private final List<ConversationStore> stores = new ArrayList<>();

  @BeforeEach
  void start(Vertx vertx) {
    loop = new EventLoop(vertx);
  }

  @AfterEach
  void stop() {
    stores.forEach(store -> EventLoop.await(loop.submit(store::close)));
    if (redisServer != null) {
      redisServer.close();
    }
  }

  @Test
  void failsFastWhileRedisIsDownAndRecoversWhenItIsBack(Vertx vertx) {
    // this test stops and starts its own server, so never the one at REDIS_URL
    redisServer = RedisServer.launchEmbedded();
    ConversationStore store = open(vertx, redisServer.url());
    loop.call(() -> store.append(TENANT, "c-1", List.of(user("before the outage"))));

    redisServer.stop();

    failsWithin(FAIL_FAST, () -> store.load(TENANT, "c-1"));
    failsWithin(FAIL_FAST, () -> store.append(TENANT, "c-1", List.of(user("during the outage"))));
    failsWithin(FAIL_FAST, () -> store.list(TENANT));
    failsWithin(FAIL_FAST, () -> store.delete(TENANT, "c-1"));
    manyFailWithin(FAIL_FAST, 300, () -> store.load(TENANT, "c-1"));

    redisServer.start();

    loop.call(() -> store.append(TENANT, "c-1", List.of(user("after the outage"))));
    // the append-only file kept what was written before the stop
    assertEquals(List.of(user("before the outage"), user("after the outage")),
      loop.call(() -> store.load(TENANT, "c-1")));
    assertEquals(List.of("c-1"), loop.call(() -> store.list(TENANT)));
  }

  @Test
  void failsFastWhenRedisAcceptsButNeverAnswers(Vertx vertx) {
    int port = FreePorts.next();
    NetServer blackHole = loop.call(() -> vertx.createNetServer().connectHandler(socket -> {
    }).listen(port, "127.0.0.1"));
    ConversationStore store = open(vertx, "redis://127.0.0.1:" + blackHole.actualPort());

    failsWithin(FAIL_FAST, () -> store.load(TENANT, "c-1"));
    failsWithin(FAIL_FAST, () -> store.append(TENANT, "c-1", List.of(user("into the void"))));
  }

  private ConversationStore open(Vertx vertx, String url) {
    ConversationStore store = loop.create(() -> new RedisConversationStore(vertx, url, Duration.ofMinutes(5), 100));
    stores.add(store);
    return store;
  }

  private <T> void failsWithin(Duration limit, Supplier<Future<T>> operation) {
    manyFailWithin(limit, 1, operation);
  }

  private <T> void manyFailWithin(Duration limit, int count, Supplier<Future<T>> operation) {
    long started = System.nanoTime();
    List<CompletableFuture<T>> outcomes = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      outcomes.add(loop.submit(operation));
    }
    outcomes.forEach(EventLoop::failureOf);
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertTrue(took.compareTo(limit) < 0, count + " operation(s) took " + took + " to fail");
  }

  private static ChatMessage user(String text) {
    return new ChatMessage("user", text);
  }
}

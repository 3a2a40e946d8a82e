package io.switchboard.session;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The guard's breaker fails the calls waiting on a silent Redis each on its caller's own event loop. */
class RedisGuardTest {
  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static Thread threadOf(Context context) throws Exception {
    CompletableFuture<Thread> thread = new CompletableFuture<>();
    context.runOnContext(v -> thread.complete(Thread.currentThread()));
    return thread.get(10, TimeUnit.SECONDS);
  }

  /** Where a call made on {@code context} that Redis never answers ends, and with what. */
  private static CompletableFuture<Object[]> silentCall(RedisGuard guard, Context context) {
    CompletableFuture<Object[]> ended = new CompletableFuture<>();
    context.runOnContext(v -> guard.call(() -> Promise.<String>promise().future())
      .onComplete((result, failure) -> ended.complete(new Object[] {Thread.currentThread(), failure})));
    return ended;
  }

  @Test
  void a_trip_fails_each_waiting_call_on_its_own_callers_event_loop() throws Exception {
    RedisGuard guard = new RedisGuard(vertx, "test", 100, 5_000, () -> Promise.promise().future());
    Context first = ((VertxInternal) vertx).createEventLoopContext(); // each on the next event loop
    Context second = ((VertxInternal) vertx).createEventLoopContext();
    Thread firstThread = threadOf(first);
    Thread secondThread = threadOf(second);
    assertNotSame(firstThread, secondThread, "two event loops");
    // it trips on silence only once Redis has answered something
    CompletableFuture<String> pong = new CompletableFuture<>();
    first.runOnContext(v -> guard.call(() -> Future.succeededFuture("pong")).onSuccess(pong::complete));
    pong.get(10, TimeUnit.SECONDS);

    CompletableFuture<Object[]> onFirst = silentCall(guard, first); // its timer goes first: it trips, on first's loop
    Thread.sleep(20);
    CompletableFuture<Object[]> onSecond = silentCall(guard, second);
    Object[] firstEnd = onFirst.get(10, TimeUnit.SECONDS);
    Object[] secondEnd = onSecond.get(10, TimeUnit.SECONDS);
    assertInstanceOf(RedisGuard.RedisUnavailable.class, firstEnd[1]);
    assertInstanceOf(RedisGuard.RedisUnavailable.class, secondEnd[1]);
    assertSame(firstThread, firstEnd[0]);
    assertSame(secondThread, secondEnd[0], "failed by the other loop's trip, but carried on on its own");
  }
}

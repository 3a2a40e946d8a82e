package io.switchboard.session;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A deadline on every Redis call, and a breaker for a Redis that has gone silent. A Redis that is down refuses
 * connections and calls fail at once by themselves; one that is paused, hung or behind a partition accepts them and
 * says nothing, so every call would wait its whole deadline. When a call has had no answer for
 * {@code silenceMillis} and Redis has answered nothing at all meanwhile (or, before its first answer ever, for
 * {@code deadlineMillis}: a new client takes a while to connect), the breaker opens: the calls waiting fail at
 * once, and so does every new call (callers go on without memory), while the guard itself pings Redis every
 * {@code silenceMillis}; the first answer closes the breaker. A Redis that is only slow (it answers other calls) does
 * not open it: such a call fails at its {@code deadlineMillis}. Used by every Redis client of the gateway
 * (conversations, identities, the response cache).
 */
public final class RedisGuard {
  private static final Logger LOG = LoggerFactory.getLogger(RedisGuard.class);

  /** What a call fails with when Redis did not answer in time, or the breaker kept it from being made. */
  public static final class RedisUnavailable extends RuntimeException {
    RedisUnavailable(String message) {
      super(message, null, false, false);
    }
  }

  private final Vertx vertx;
  private final String name;
  private final long silenceMillis;
  private final long deadlineMillis;
  private final Supplier<Future<?>> ping;
  private final Set<Promise<?>> pending = Collections.newSetFromMap(new IdentityHashMap<>());
  private long lastAnswerNanos = System.nanoTime();
  private boolean everAnswered;
  private boolean open;

  RedisGuard(Vertx vertx, String name, long silenceMillis, long deadlineMillis, Supplier<Future<?>> ping) {
    this.vertx = vertx;
    this.name = name;
    this.silenceMillis = silenceMillis;
    this.deadlineMillis = deadlineMillis;
    this.ping = ping;
  }

  /** True while Redis is treated as unreachable. */
  public synchronized boolean isOpen() {
    return open;
  }

  public <T> Future<T> call(Supplier<Future<T>> operation) {
    // the caller's: a trip fails every waiting call from the thread whose timer saw the silence, and each caller
    // must go on on its own event loop (its response is written there), not on that one
    Promise<T> outcome = ((ContextInternal) vertx.getOrCreateContext()).promise();
    long sent = System.nanoTime();
    synchronized (this) {
      if (open) {
        return Future.failedFuture(new RedisUnavailable(name + ": Redis is not answering; not asked"));
      }
      pending.add(outcome);
    }
    long timer = vertx.setTimer(silenceMillis, t -> {
      if (silentSince(sent) && answeredOnce()) {
        trip();
        return;
      }
      // a new client may take this long to connect; a slow Redis answers other calls meanwhile
      vertx.setTimer(deadlineMillis - silenceMillis, t2 -> {
        if (silentSince(sent)) {
          trip();
        }
        settle(outcome, null, new RedisUnavailable(name + ": Redis did not answer within " + deadlineMillis + " ms"));
      });
    });
    operation.get().onComplete(result -> {
      vertx.cancelTimer(timer);
      answered();
      settle(outcome, result.result(), result.cause());
    });
    return outcome.future();
  }

  private <T> void settle(Promise<T> outcome, T result, Throwable failure) {
    synchronized (this) {
      pending.remove(outcome);
    }
    if (failure == null) {
      outcome.tryComplete(result);
    } else {
      outcome.tryFail(failure);
    }
  }

  private synchronized boolean answeredOnce() {
    return everAnswered;
  }

  private synchronized boolean silentSince(long sentNanos) {
    return lastAnswerNanos - sentNanos < 0;
  }

  /** Any answer, an error reply or a refused connection included, shows Redis is not hanging. */
  private void answered() {
    boolean closed;
    synchronized (this) {
      lastAnswerNanos = System.nanoTime();
      everAnswered = true;
      closed = open;
      open = false;
    }
    if (closed) {
      LOG.info("{}: Redis answers again; it is used again", name);
    }
  }

  private void trip() {
    List<Promise<?>> waiting;
    synchronized (this) {
      if (open) {
        return;
      }
      open = true;
      waiting = new ArrayList<>(pending);
      pending.clear();
    }
    LOG.warn("{}: Redis answered nothing for {} ms; calls fail at once (and are skipped) until it answers a ping",
      name, silenceMillis);
    RedisUnavailable silent = new RedisUnavailable(name + ": Redis answered nothing for " + silenceMillis + " ms");
    waiting.forEach(promise -> promise.tryFail(silent));
    probe();
  }

  /** While open: a ping every silence period, until one is answered. */
  private void probe() {
    vertx.setTimer(silenceMillis, t -> {
      if (!isOpen()) {
        return;
      }
      long started = System.nanoTime();
      ping.get().onComplete(answer -> answered());
      vertx.setTimer(silenceMillis, t2 -> {
        if (silentSince(started)) {
          probe();
        }
      });
    });
  }
}

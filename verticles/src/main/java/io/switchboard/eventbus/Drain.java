package io.switchboard.eventbus;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.function.BooleanSupplier;

/**
 * How a verticle that stopped taking work waits for the work it has to finish before it is undeployed (undeploying
 * cancels its timers and consumers, reply handlers included, so a turn still running would never answer).
 */
public final class Drain {
  private static final long POLL_MILLIS = 50;

  private Drain() {
  }

  /** Completes once {@code idle} holds, or after {@code maxMillis} whatever is left. Polled on the caller's context. */
  public static Future<Void> until(Vertx vertx, BooleanSupplier idle, long maxMillis) {
    Promise<Void> drained = Promise.promise();
    long deadline = System.currentTimeMillis() + maxMillis;
    poll(vertx, idle, deadline, drained);
    return drained.future();
  }

  private static void poll(Vertx vertx, BooleanSupplier idle, long deadline, Promise<Void> drained) {
    if (idle.getAsBoolean() || System.currentTimeMillis() >= deadline) {
      drained.complete();
      return;
    }
    vertx.setTimer(POLL_MILLIS, t -> poll(vertx, idle, deadline, drained));
  }
}

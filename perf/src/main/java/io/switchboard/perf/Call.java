package io.switchboard.perf;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.concurrent.TimeUnit;

/**
 * One request's outcome, decided once: ok, an error of some kind, or "timeout" at its deadline (the intended
 * start plus the timeout), whichever comes first. Later outcomes are ignored.
 */
final class Call {
  private final Vertx vertx;
  private final Stats stats;
  private final long intendedNanos;
  private final long deadlineTimer;
  private final Promise<Void> ended = Promise.promise();
  private Runnable onTimeout = () -> { };

  Call(Vertx vertx, Stats stats, long intendedNanos, long timeoutMillis) {
    this.vertx = vertx;
    this.stats = stats;
    this.intendedNanos = intendedNanos;
    stats.fired(intendedNanos);
    long left = timeoutMillis - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - intendedNanos);
    deadlineTimer = vertx.setTimer(Math.max(1, left), id -> {
      if (fail("timeout")) {
        onTimeout.run();
      }
    });
  }

  long intendedNanos() {
    return intendedNanos;
  }

  boolean isOver() {
    return ended.future().isComplete();
  }

  /** What to undo when the deadline passes first (e.g. reset the HTTP request). */
  void onTimeout(Runnable action) {
    onTimeout = action;
  }

  boolean ok() {
    if (!ended.tryComplete()) {
      return false;
    }
    vertx.cancelTimer(deadlineTimer);
    stats.ok(intendedNanos);
    return true;
  }

  boolean fail(String kind) {
    if (!ended.tryComplete()) {
      return false;
    }
    vertx.cancelTimer(deadlineTimer);
    stats.error(kind);
    return true;
  }

  Future<Void> future() {
    return ended.future();
  }

  /** An error kind for a failed connection or exchange: "connect failed", "connection closed", ... */
  static String kindOf(Throwable failure) {
    String name = failure.getClass().getSimpleName();
    if (failure instanceof java.net.ConnectException || name.contains("ConnectException")) {
      return "connect failed";
    }
    if (name.equals("HttpClosedException") || name.equals("ClosedChannelException")) {
      return "connection closed";
    }
    if (failure instanceof io.vertx.core.http.UpgradeRejectedException rejected) {
      return "upgrade rejected (" + rejected.getStatus() + ")";
    }
    if (failure instanceof java.util.concurrent.TimeoutException || name.contains("Timeout")) {
      return "timeout";
    }
    return "connection error (" + name + ")";
  }
}

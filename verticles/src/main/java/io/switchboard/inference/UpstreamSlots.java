package io.switchboard.inference;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Tags;
import io.switchboard.monitoring.Gauges;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.switchboard.bus.ApiError;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.config.SwitchboardConfig.Pool;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.concurrent.TimeUnit;

/**
 * The calls a deployment's HTTP client may have in flight at once (its pool's slots: connections over HTTP/1.1,
 * streams over HTTP/2) and the queue of calls waiting for one. Waiting is an admission decision, never a silent
 * stall: a full queue refuses at once (429), a wait past {@link Pool#maxWaitMillis()} gives up (503), both with
 * Retry-After and retryable elsewhere, and every wait is counted and timed. Used on the proxy's event loop only.
 */
final class UpstreamSlots {
  /** What a refused call suggests to the client as Retry-After when the queue is full. */
  static final long QUEUE_FULL_RETRY_AFTER_MILLIS = 1_000;

  private final Vertx vertx;
  private final String model;
  private final int slots;
  private final int maxWaiting;
  private final long maxWaitMillis;
  private final LinkedHashSet<Waiter> waiting = new LinkedHashSet<>();
  private final Timer waits;
  private final Counter queueFull;
  private final Counter waitTimeout;
  private int inUse;

  UpstreamSlots(Vertx vertx, Deployment deployment, MeterRegistry registry) {
    this.vertx = vertx;
    this.model = deployment.modelName();
    Pool pool = deployment.pool();
    this.slots = pool.slots();
    this.maxWaiting = pool.maxWaiting();
    this.maxWaitMillis = pool.maxWaitMillis();
    String id = deployment.id();
    this.waits = Timer.builder("switchboard.upstream.pool.wait")
      .description("From a call asking for an upstream connection (or HTTP/2 stream) to having one, connect included")
      .tag("deployment", id).publishPercentiles(0.5, 0.99).register(registry);
    this.queueFull = refusals(registry, id, "queue_full");
    this.waitTimeout = refusals(registry, id, "wait_timeout");
    Tags tags = Tags.of("deployment", id);
    Gauges.replace(registry, "switchboard.upstream.pool.in_use", tags,
      "Upstream calls holding a pool slot (a connection, or an HTTP/2 stream)", this, s -> s.inUse);
    Gauges.replace(registry, "switchboard.upstream.pool.waiting", tags, "Upstream calls waiting for a pool slot", this,
      s -> s.waiting.size());
    Gauges.replace(registry, "switchboard.upstream.pool.slots", tags, "Upstream calls the pool carries at once", this,
      s -> s.slots);
  }

  private static Counter refusals(MeterRegistry registry, String deployment, String reason) {
    return Counter.builder("switchboard.upstream.pool.refused")
      .description("Upstream calls refused because every pool slot stayed taken")
      .tag("deployment", deployment).tag("reason", reason).register(registry);
  }

  /** A slot, at once when one is free; else a place in the queue until one frees, the deadline or a cancel. */
  Future<Slot> acquire(CancelSignal cancel) {
    if (inUse < slots && waiting.isEmpty()) {
      inUse++;
      return Future.succeededFuture(new Slot(System.nanoTime()));
    }
    if (waiting.size() >= maxWaiting) {
      queueFull.increment();
      return Future.failedFuture(new UpstreamFailure(new ApiError(429, "rate_limit_error", "upstream_pool_full",
        "Every connection to the provider of '" + model + "' is busy and " + waiting.size()
          + " calls wait for one; retry shortly.", null), true, QUEUE_FULL_RETRY_AFTER_MILLIS, true));
    }
    Waiter waiter = new Waiter(System.nanoTime());
    waiting.add(waiter);
    waiter.timer = vertx.setTimer(maxWaitMillis, t -> {
      if (waiting.remove(waiter)) {
        waitTimeout.increment();
        waits.record(System.nanoTime() - waiter.since, TimeUnit.NANOSECONDS);
        waiter.promise.fail(new UpstreamFailure(new ApiError(503, "server_error", "upstream_pool_timeout",
          "No connection to the provider of '" + model + "' came free within " + maxWaitMillis
            + " ms; retry shortly.", null), true, maxWaitMillis, true));
      }
    });
    cancel.whenCancelled(() -> {
      if (waiting.remove(waiter)) {
        vertx.cancelTimer(waiter.timer);
        waiter.promise.fail(UpstreamFailure.fatal(ApiError.cancelled(cancel.reason())));
      }
    });
    return waiter.promise.future();
  }

  private void release() {
    Iterator<Waiter> next = waiting.iterator();
    if (next.hasNext()) {
      Waiter waiter = next.next();
      next.remove();
      vertx.cancelTimer(waiter.timer);
      waiter.promise.complete(new Slot(waiter.since)); // the slot passes on: inUse stays
    } else {
      inUse--;
    }
  }

  private static final class Waiter {
    final long since;
    final Promise<Slot> promise = Promise.promise();
    long timer;

    Waiter(long since) {
      this.since = since;
    }
  }

  /** One call's slot: given back once, however the call ends. */
  final class Slot {
    private final long askedNanos;
    private boolean held = true;

    private Slot(long askedNanos) {
      this.askedNanos = askedNanos;
    }

    /** The call has its connection (or stream): the wait, connect included, is over. */
    void leased() {
      waits.record(System.nanoTime() - askedNanos, TimeUnit.NANOSECONDS);
    }

    void release() {
      if (held) {
        held = false;
        UpstreamSlots.this.release();
      }
    }
  }
}

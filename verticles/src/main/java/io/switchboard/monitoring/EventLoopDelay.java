package io.switchboard.monitoring;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

/**
 * How late one event loop runs its timers: a tick every {@value #TICK_MILLIS} ms, and the gauge
 * {@code switchboard.eventloop.delay} (tagged with the loop's thread) says by how much the last one was late. A loop
 * busy with other work — or blocked — runs its ticks late, so this is its saturation as a client would feel it.
 * Deployed once per event loop (consecutive instances land on consecutive loops).
 */
final class EventLoopDelay extends VerticleBase {
  private static final long TICK_MILLIS = 200;
  private final MeterRegistry registry;
  private volatile double lateSeconds;
  private long expected;

  EventLoopDelay(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    Gauge.builder("switchboard.eventloop.delay", this, probe -> probe.lateSeconds)
      .description("How late the last periodic tick ran on this event loop, in seconds")
      .tag("loop", Thread.currentThread().getName()).baseUnit("seconds").register(registry);
    expected = System.nanoTime() + TICK_MILLIS * 1_000_000;
    vertx.setPeriodic(TICK_MILLIS, id -> {
      long now = System.nanoTime();
      lateSeconds = Math.max(0, now - expected) / 1e9;
      expected = now + TICK_MILLIS * 1_000_000;
    });
    return Future.succeededFuture();
  }
}

package io.switchboard.perf;

import org.HdrHistogram.Histogram;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * One target's measurements, all in nanoseconds from each request's intended start: latency (to the whole
 * answer), time to first and to last token (streams), errors by kind, and the generator's own lag (intended
 * start to the moment it fired). Touched from one event loop only.
 */
final class Stats {
  private static final long MAX_NANOS = TimeUnit.MINUTES.toNanos(10);

  final Histogram latency = histogram();
  final Histogram firstToken = histogram();
  final Histogram lastToken = histogram();
  final Histogram sendLag = histogram();
  final Map<String, Long> errors = new TreeMap<>();
  long fired;
  long lastEndNanos;

  private static Histogram histogram() {
    return new Histogram(MAX_NANOS, 3);
  }

  void fired(long intendedNanos) {
    fired++;
    sendLag.recordValue(clamp(System.nanoTime() - intendedNanos));
  }

  void ok(long intendedNanos) {
    long now = System.nanoTime();
    latency.recordValue(clamp(now - intendedNanos));
    lastEndNanos = Math.max(lastEndNanos, now);
  }

  /** A stream's first and last content-bearing chunk, for a request that ended ok. */
  void tokens(long intendedNanos, long firstNanos, long lastNanos) {
    firstToken.recordValue(clamp(firstNanos - intendedNanos));
    lastToken.recordValue(clamp(lastNanos - intendedNanos));
  }

  void error(String kind) {
    errors.merge(kind, 1L, Long::sum);
    lastEndNanos = Math.max(lastEndNanos, System.nanoTime());
  }

  long errorCount() {
    return errors.values().stream().mapToLong(Long::longValue).sum();
  }

  void reset() {
    latency.reset();
    firstToken.reset();
    lastToken.reset();
    sendLag.reset();
    errors.clear();
    fired = 0;
    lastEndNanos = 0;
  }

  static long clamp(long nanos) {
    return Math.max(0, Math.min(nanos, MAX_NANOS));
  }
}

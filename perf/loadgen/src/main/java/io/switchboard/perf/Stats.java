package io.switchboard.perf;

import org.HdrHistogram.Histogram;

import java.util.Map;
import java.util.TreeMap;

/** One target's measurements: latency from intended start, time to first token, errors by kind. */
final class Stats {
  private static final long MAX_NANOS = 120_000_000_000L;
  final Histogram latency = new Histogram(MAX_NANOS, 3);
  final Histogram firstToken = new Histogram(MAX_NANOS, 3);
  final Map<String, Integer> errors = new TreeMap<>();

  void latency(long nanos) {
    latency.recordValue(Math.min(nanos, MAX_NANOS));
  }

  void firstToken(long nanos) {
    firstToken.recordValue(Math.min(nanos, MAX_NANOS));
  }

  void error(String kind) {
    errors.merge(kind, 1, Integer::sum);
  }

  void reset() {
    latency.reset();
    firstToken.reset();
    errors.clear();
  }
}

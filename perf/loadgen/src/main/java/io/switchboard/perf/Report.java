package io.switchboard.perf;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** The table a person reads and the JSON a result file keeps, with the machine and the settings. */
final class Report {
  private final LoadGenerator.Settings settings;
  private final Instant started;
  private final List<LoadGenerator.Target> targets;

  Report(LoadGenerator.Settings settings, Instant started, List<LoadGenerator.Target> targets) {
    this.settings = settings;
    this.started = started;
    this.targets = targets;
  }

  void print() {
    System.out.printf("%-22s %9s %8s %9s %9s %9s %9s %9s  %s%n", "target", "ok", "req/s", "p50 ms", "p90 ms",
      "p99 ms", "p99.9 ms", "max ms", "errors");
    for (LoadGenerator.Target target : targets) {
      Histogram h = target.stats.latency;
      System.out.printf("%-22s %9d %8.0f %9.3f %9.3f %9.3f %9.3f %9.3f  %s%n", target.name, h.getTotalCount(),
        h.getTotalCount() / (double) settings.durationSeconds, ms(h, 50), ms(h, 90), ms(h, 99), ms(h, 99.9),
        h.getMaxValue() / 1e6, target.stats.errors);
      Histogram f = target.stats.firstToken;
      if (f.getTotalCount() > 0) {
        System.out.printf("%-22s %9s %8s %9.3f %9.3f %9.3f %9.3f %9.3f  (time to first token)%n", "", "", "",
          ms(f, 50), ms(f, 90), ms(f, 99), ms(f, 99.9), f.getMaxValue() / 1e6);
      }
    }
    if (targets.size() == 2) {
      Histogram a = targets.get(0).stats.latency;
      Histogram b = targets.get(1).stats.latency;
      System.out.printf("added by %s over %s: p50 %+.3f ms, p99 %+.3f ms%n", targets.get(0).name,
        targets.get(1).name, ms(a, 50) - ms(b, 50), ms(a, 99) - ms(b, 99));
    }
  }

  private static double ms(Histogram h, double percentile) {
    return h.getValueAtPercentile(percentile) / 1e6;
  }

  JsonObject json() {
    JsonArray results = new JsonArray();
    for (LoadGenerator.Target target : targets) {
      results.add(new JsonObject().put("target", target.name)
        .put("latency_ms", percentiles(target.stats.latency))
        .put("first_token_ms", target.stats.firstToken.getTotalCount() == 0 ? null
          : percentiles(target.stats.firstToken))
        .put("ok", target.stats.latency.getTotalCount())
        .put("throughput_per_s", target.stats.latency.getTotalCount() / (double) settings.durationSeconds)
        .put("errors", new JsonObject(new java.util.HashMap<>(target.stats.errors))));
    }
    return new JsonObject().put("date", started.toString()).put("settings", new JsonObject(
        new java.util.HashMap<>(settings.all))).put("machine", machine()).put("results", results);
  }

  private static JsonObject percentiles(Histogram h) {
    return new JsonObject().put("p50", ms(h, 50)).put("p90", ms(h, 90)).put("p99", ms(h, 99))
      .put("p99_9", ms(h, 99.9)).put("max", h.getMaxValue() / 1e6).put("count", h.getTotalCount());
  }

  private static JsonObject machine() {
    JsonObject machine = new JsonObject().put("cores", Runtime.getRuntime().availableProcessors())
      .put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal")) {
          machine.put("memory", line.substring(9).trim());
        }
      }
      Process nproc = new ProcessBuilder("nproc", "--all").start();
      machine.put("nproc", new BufferedReader(new InputStreamReader(nproc.getInputStream())).readLine());
    } catch (Exception ignored) {
      // best effort
    }
    return machine;
  }
}

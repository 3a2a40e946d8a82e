package io.switchboard.perf;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The table a person reads and the JSON a result file keeps: machine, command, date, settings, figures. */
final class Report {
  private static final double[] PERCENTILES = {50, 90, 99, 99.9};
  private final Settings settings;
  private final String[] args;
  private final Instant started;
  private final long startNanos;
  private final List<Target> targets;

  Report(Settings settings, String[] args, Instant started, long startNanos, List<Target> targets) {
    this.settings = settings;
    this.args = args;
    this.started = started;
    this.startNanos = startNanos;
    this.targets = targets;
  }

  void print(PrintStream out) {
    out.printf("%-22s %-12s %9s %10s %10s %10s %10s %10s%n", "target", "(ms)", "count", "p50", "p90", "p99",
      "p99.9", "max");
    for (Target target : targets) {
      String name = target.name();
      for (Map.Entry<String, Histogram> row : rows(target.stats).entrySet()) {
        Histogram h = row.getValue();
        if (h.getTotalCount() > 0) {
          out.printf("%-22s %-12s %9d %10.3f %10.3f %10.3f %10.3f %10.3f%n", name, row.getKey(), h.getTotalCount(),
            ms(h, 50), ms(h, 90), ms(h, 99), ms(h, 99.9), h.getMaxValue() / 1e6);
          name = "";
        }
      }
      Stats stats = target.stats;
      out.printf("%-22s fired %d, ok %d, errors %d %s%s%n", "", stats.fired, stats.latency.getTotalCount(),
        stats.errorCount(), stats.errors, idle() ? "" : String.format(", %.1f ok/s", throughput(stats)));
      JsonObject details = target.details();
      if (details != null) {
        out.printf("%-22s %s%n", "", details.encode());
      }
    }
    if (targets.size() == 2) {
      JsonObject added = added();
      out.printf("added by %s over %s (ms): %s%n", targets.get(0).name(), targets.get(1).name(), added.encode());
    }
  }

  private Map<String, Histogram> rows(Stats stats) {
    Map<String, Histogram> rows = new LinkedHashMap<>();
    rows.put(idle() ? "connect" : "latency", stats.latency);
    rows.put("first token", stats.firstToken);
    rows.put("last token", stats.lastToken);
    rows.put("send lag", stats.sendLag);
    return rows;
  }

  /** Ok answers (or sockets opened) per second: from the first intended start to the last end, or longer. */
  private double throughput(Stats stats) {
    double planned = idle() ? settings.connections / (double) settings.rate : settings.durationSeconds;
    double seconds = Math.max(planned, (stats.lastEndNanos - startNanos) / 1e9);
    return stats.latency.getTotalCount() / seconds;
  }

  private boolean idle() {
    return settings.mode.equals("ws");
  }

  /** The first target's percentiles minus the second's: what the first (the gateway) adds. */
  private JsonObject added() {
    Stats under = targets.get(0).stats;
    Stats base = targets.get(1).stats;
    JsonObject added = new JsonObject().put("latency", difference(under.latency, base.latency));
    if (under.firstToken.getTotalCount() > 0 && base.firstToken.getTotalCount() > 0) {
      added.put("first_token", difference(under.firstToken, base.firstToken));
    }
    return added;
  }

  private static JsonObject difference(Histogram a, Histogram b) {
    JsonObject difference = new JsonObject();
    for (double p : PERCENTILES) {
      difference.put(key(p), round(ms(a, p) - ms(b, p)));
    }
    return difference;
  }

  JsonObject json() {
    JsonArray results = new JsonArray();
    for (Target target : targets) {
      Stats stats = target.stats;
      results.add(new JsonObject().put("target", target.uri.toString())
        .put("fired", stats.fired)
        .put("ok", stats.latency.getTotalCount())
        .put("errors", new JsonObject(new LinkedHashMap<>(stats.errors)))
        .put(idle() ? "opened_per_second" : "ok_per_second", round(throughput(stats)))
        .put(idle() ? "connect_ms" : "latency_ms", percentiles(stats.latency))
        .put("first_token_ms", percentiles(stats.firstToken))
        .put("last_token_ms", percentiles(stats.lastToken))
        .put("send_lag_ms", percentiles(stats.sendLag))
        .put("details", target.details()));
    }
    JsonObject json = new JsonObject().put("date", started.toString())
      .put("command", settings.command != null ? settings.command
        : "java -jar switchboard-perf.jar " + String.join(" ", args))
      .put("machine", machine())
      .put("settings", new JsonObject(new LinkedHashMap<>(settings.given)))
      .put("results", results);
    if (targets.size() == 2) {
      json.put("added_ms", added().put("by", targets.get(0).uri.toString()).put("over", targets.get(1).uri.toString()));
    }
    return json;
  }

  private static JsonObject percentiles(Histogram h) {
    if (h.getTotalCount() == 0) {
      return null;
    }
    JsonObject percentiles = new JsonObject();
    for (double p : PERCENTILES) {
      percentiles.put(key(p), round(ms(h, p)));
    }
    return percentiles.put("max", round(h.getMaxValue() / 1e6)).put("mean", round(h.getMean() / 1e6))
      .put("count", h.getTotalCount());
  }

  private static String key(double percentile) {
    return "p" + (percentile == Math.rint(percentile) ? String.valueOf((int) percentile) : "99_9");
  }

  private static double ms(Histogram h, double percentile) {
    return h.getValueAtPercentile(percentile) / 1e6;
  }

  /** Milliseconds to the microsecond. */
  private static double round(double ms) {
    return Math.round(ms * 1000) / 1000.0;
  }

  /** The machine: cores, memory, CPU model, the JVM (as java -version names it) and the OS. */
  private static JsonObject machine() {
    JsonObject machine = new JsonObject()
      .put("cpus_for_generator", Runtime.getRuntime().availableProcessors())
      .put("java", System.getProperty("java.runtime.name") + " " + System.getProperty("java.runtime.version")
        + ", " + System.getProperty("java.vm.name") + " (" + System.getProperty("java.vm.info") + ")")
      .put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
        + System.getProperty("os.arch"));
    try {
      long cores = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("processor")).count();
      machine.put("nproc", cores);
      Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
        .ifPresent(l -> machine.put("cpu", l.substring(l.indexOf(':') + 1).strip()));
      Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal")).findFirst()
        .ifPresent(l -> machine.put("memory", l.substring(l.indexOf(':') + 1).strip()));
    } catch (Exception e) {
      machine.put("note", "no /proc: " + e.getMessage());
    }
    return machine;
  }
}

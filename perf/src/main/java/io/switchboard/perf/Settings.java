package io.switchboard.perf;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The load generator's settings, from key=value arguments; {@code scenario=FILE} reads a scenario file's
 * key=value lines first (later arguments override them). Unknown keys are refused, so a typo cannot
 * silently change a run.
 */
final class Settings {
  static final List<String> MODES = List.of("json", "sse", "ws", "ws-chat");
  /** Keys that perf/run acts on; the generator only records them. */
  private static final Set<String> RUN_KEYS = Set.of("kind", "gateway", "upstream", "chunks", "sample_heap", "conf", "heap_probe",
    "java_opts");
  private static final Pattern IPV4_LOOPBACK =
    Pattern.compile("127\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){2}");

  String mode = "json";
  List<URI> targets = List.of(URI.create("http://127.0.0.1:8080/v1/chat/completions"));
  int rate = 500;
  int durationSeconds = 10;
  int warmupSeconds = 0;
  /** Requests a second during the warm-up; 0: the same as {@link #rate}. */
  int warmupRate = 0;
  int connections = 64;
  long timeoutMillis = 30_000;
  String model = "switchboard-simulator";
  String prompt = "How are you today?";
  Path bodyFile;
  String apiKey;
  String apiKeyHeader = "authorization";
  final Map<String, String> headers = new LinkedHashMap<>();
  String out;
  String command;
  /** Every setting as given, for the report. */
  final Map<String, String> given = new LinkedHashMap<>();

  static Settings parse(String[] args) throws IOException {
    Settings settings = new Settings();
    for (String arg : args) {
      if (arg.startsWith("scenario=")) {
        for (String line : Files.readAllLines(Path.of(arg.substring("scenario=".length())))) {
          if (!line.isBlank() && !line.strip().startsWith("#")) {
            settings.set(line.strip());
          }
        }
      }
    }
    for (String arg : args) {
      if (!arg.startsWith("scenario=")) {
        settings.set(arg);
      }
    }
    settings.check();
    return settings;
  }

  private void set(String pair) {
    int eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("expected key=value, got: " + pair);
    }
    String key = pair.substring(0, eq).strip();
    String value = pair.substring(eq + 1).strip();
    given.put(key, value);
    if (key.startsWith("header.")) {
      headers.put(key.substring("header.".length()), value);
      return;
    }
    switch (key) {
      case "mode" -> mode = value;
      case "target", "targets" -> targets = List.of(value.split("\\s*,\\s*")).stream().map(URI::create).toList();
      case "rate" -> rate = Integer.parseInt(value);
      case "duration" -> durationSeconds = Integer.parseInt(value);
      case "warmup" -> warmupSeconds = Integer.parseInt(value);
      case "warmup_rate" -> warmupRate = Integer.parseInt(value);
      case "connections" -> connections = Integer.parseInt(value);
      case "timeout_ms" -> timeoutMillis = Long.parseLong(value);
      case "model" -> model = value;
      case "prompt" -> prompt = value;
      case "body" -> bodyFile = value.isEmpty() ? null : Path.of(value);
      case "api_key" -> apiKey = value.isEmpty() ? null : value;
      case "api_key_header" -> apiKeyHeader = value.toLowerCase();
      case "out" -> out = value.isEmpty() ? null : value;
      case "command" -> command = value;
      default -> {
        if (!RUN_KEYS.contains(key)) {
          throw new IllegalArgumentException("unknown setting " + key + " (see perf/README.md)");
        }
      }
    }
  }

  private void check() {
    if (!MODES.contains(mode)) {
      throw new IllegalArgumentException("mode must be one of " + MODES + ", not " + mode);
    }
    if (rate <= 0 || durationSeconds <= 0 || warmupSeconds < 0 || connections <= 0 || timeoutMillis <= 0) {
      throw new IllegalArgumentException("rate, duration, connections and timeout_ms must be positive");
    }
    if (warmupRate < 0) {
      throw new IllegalArgumentException("warmup_rate must not be negative (0: the rate)");
    }
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("no target");
    }
    for (URI target : targets) {
      if (!isLoopback(target.getHost())) {
        throw new IllegalArgumentException("refusing target " + target
          + ": load goes only to 127.0.0.0/8, localhost or [::1]");
      }
    }
  }

  /** The warm-up's requests a second: {@code warmup_rate}, else the measured rate. */
  int warmupRate() {
    return warmupRate > 0 ? warmupRate : rate;
  }

  /** Loopback by its literal name only: 127.0.0.0/8, localhost, [::1]. No name is looked up. */
  static boolean isLoopback(String host) {
    return host != null && (host.equalsIgnoreCase("localhost") || host.equals("[::1]") || host.equals("::1")
      || IPV4_LOOPBACK.matcher(host).matches());
  }

  /** The request body for one chat turn: the body file if given, else model and prompt; stream set by mode. */
  Buffer chatBody(boolean stream) throws IOException {
    JsonObject body = bodyFile != null ? new JsonObject(Files.readString(bodyFile))
      : new JsonObject().put("model", model).put("messages",
          new JsonArray().add(new JsonObject().put("role", "user").put("content", prompt)));
    return body.put("stream", stream).toBuffer();
  }
}

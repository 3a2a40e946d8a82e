package io.switchboard.simulator;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How the built-in simulator behaves for one call. A deployment's knobs travel in its base URL path
 * ({@code /sim/ttft_ms=50;error_rate=0.5/v1}), so each deployment can fail in its own way while Switchboard
 * calls it over plain HTTP exactly as it calls a real provider.
 *
 * @param ttftMillis      delay before the first token
 * @param tokensPerSecond streaming pace after the first token; 0 sends every token at once
 * @param replyTokens     how many tokens an answer has
 * @param errorRate       share of calls answered with {@code errorStatus} (0..1)
 * @param errorStatus     the HTTP status of a simulated failure
 * @param hang            accept the call and never answer
 * @param dropAfterChunks close the connection after this many streamed chunks; -1 never
 * @param retryAfterSeconds sent as Retry-After with a simulated failure; 0 sends none
 * @param tools           answer a request that offers function {@code tools} with a call of one of them; false
 *                        answers in text and ignores the tools (path knob {@code tools=false})
 * @param ttftPerInflightMillis added to the first-token delay for every other call in flight with the same knobs,
 *                        as a GPU server slows while its batch fills: latency grows with concurrency (0: it does not)
 */
public record SimulatorKnobs(long ttftMillis, int tokensPerSecond, int replyTokens, double errorRate, int errorStatus,
                             boolean hang, int dropAfterChunks, int retryAfterSeconds, boolean tools,
                             long ttftPerInflightMillis) {

  public static final SimulatorKnobs DEFAULTS = new SimulatorKnobs(40, 400, 24, 0, 500, false, -1, 0, true, 0);

  /** Knobs whose latency does not grow with concurrency. */
  public SimulatorKnobs(long ttftMillis, int tokensPerSecond, int replyTokens, double errorRate, int errorStatus,
                        boolean hang, int dropAfterChunks, int retryAfterSeconds, boolean tools) {
    this(ttftMillis, tokensPerSecond, replyTokens, errorRate, errorStatus, hang, dropAfterChunks, retryAfterSeconds,
      tools, 0);
  }

  /** Knobs that call tools when asked to (the default). */
  public SimulatorKnobs(long ttftMillis, int tokensPerSecond, int replyTokens, double errorRate, int errorStatus,
                        boolean hang, int dropAfterChunks, int retryAfterSeconds) {
    this(ttftMillis, tokensPerSecond, replyTokens, errorRate, errorStatus, hang, dropAfterChunks, retryAfterSeconds,
      true);
  }

  public SimulatorKnobs {
    if (ttftMillis < 0 || tokensPerSecond < 0 || replyTokens < 0 || ttftPerInflightMillis < 0) {
      throw new IllegalArgumentException("ttft_ms, tokens_per_second, reply_tokens and ttft_per_inflight_ms must not "
        + "be negative");
    }
    if (errorRate < 0 || errorRate > 1) {
      throw new IllegalArgumentException("error_rate must be between 0 and 1");
    }
    if (retryAfterSeconds < 0) {
      throw new IllegalArgumentException("retry_after must not be negative");
    }
    if (errorStatus < 400 || errorStatus > 599) {
      throw new IllegalArgumentException("error_status must be a 4xx or 5xx status");
    }
  }

  /** The path segment that carries these knobs, e.g. {@code ttft_ms=40;tokens_per_second=400;...}. */
  public String toPathSegment() {
    return "ttft_ms=" + ttftMillis + ";tokens_per_second=" + tokensPerSecond + ";reply_tokens=" + replyTokens
      + ";error_rate=" + errorRate + ";error_status=" + errorStatus + ";hang=" + hang
      + ";drop_after_chunks=" + dropAfterChunks + ";retry_after=" + retryAfterSeconds + ";tools=" + tools
      + (ttftPerInflightMillis > 0 ? ";ttft_per_inflight_ms=" + ttftPerInflightMillis : "");
  }

  /** These knobs with another first-token delay (that of one call among {@code others} in flight). */
  public SimulatorKnobs withLoad(int others) {
    return new SimulatorKnobs(ttftMillis + ttftPerInflightMillis * others, tokensPerSecond, replyTokens, errorRate,
      errorStatus, hang, dropAfterChunks, retryAfterSeconds, tools, ttftPerInflightMillis);
  }

  /** Reads a path segment written by {@link #toPathSegment()}; missing knobs keep the given defaults. */
  public static SimulatorKnobs parse(String segment, SimulatorKnobs defaults) {
    Map<String, String> values = new LinkedHashMap<>();
    for (String pair : segment.split(";")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        values.put(pair.substring(0, eq), pair.substring(eq + 1));
      } else if (!pair.isBlank()) {
        throw new IllegalArgumentException("simulator knob '" + pair + "' needs a value");
      }
    }
    SimulatorKnobs knobs = new SimulatorKnobs(
      Long.parseLong(values.getOrDefault("ttft_ms", String.valueOf(defaults.ttftMillis))),
      Integer.parseInt(values.getOrDefault("tokens_per_second", String.valueOf(defaults.tokensPerSecond))),
      Integer.parseInt(values.getOrDefault("reply_tokens", String.valueOf(defaults.replyTokens))),
      Double.parseDouble(values.getOrDefault("error_rate", String.valueOf(defaults.errorRate))),
      Integer.parseInt(values.getOrDefault("error_status", String.valueOf(defaults.errorStatus))),
      Boolean.parseBoolean(values.getOrDefault("hang", String.valueOf(defaults.hang))),
      Integer.parseInt(values.getOrDefault("drop_after_chunks", String.valueOf(defaults.dropAfterChunks))),
      Integer.parseInt(values.getOrDefault("retry_after", String.valueOf(defaults.retryAfterSeconds))),
      Boolean.parseBoolean(values.getOrDefault("tools", String.valueOf(defaults.tools))),
      Long.parseLong(values.getOrDefault("ttft_per_inflight_ms", String.valueOf(defaults.ttftPerInflightMillis))));
    values.keySet().removeAll(java.util.Set.of("ttft_ms", "tokens_per_second", "reply_tokens", "error_rate",
      "error_status", "hang", "drop_after_chunks", "retry_after", "tools", "ttft_per_inflight_ms"));
    if (!values.isEmpty()) {
      throw new IllegalArgumentException("unknown simulator knobs " + values.keySet());
    }
    return knobs;
  }
}

package io.switchboard.config;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Breaker, adaptive-limit and overload settings: sensible defaults, and a mistake named with its line. */
class AdaptiveConfigTest {
  private static SwitchboardConfig parse(String deployment) {
    return ConfigLoader.parse("test.yaml", "model_list:\n  - model_name: m\n    provider: simulator\n" + deployment,
      Map.of());
  }

  private static String error(String deployment) {
    return assertThrows(ConfigException.class, () -> parse(deployment)).getMessage();
  }

  @Test
  void the_default_breaker_judges_a_rolling_window_and_max_failures_alone_keeps_counting_in_a_row() {
    SwitchboardConfig.Breaker rate = parse("").deployments().get(0).breaker();
    assertEquals(SwitchboardConfig.Breaker.RATE, rate.policy());
    assertEquals(100, rate.windowCalls());
    assertEquals(20, rate.minimumCalls());
    assertEquals(3, rate.halfOpenCalls());
    SwitchboardConfig.Breaker consecutive = parse("    circuit_breaker: {max_failures: 3}\n").deployments().get(0)
      .breaker();
    assertEquals(SwitchboardConfig.Breaker.CONSECUTIVE, consecutive.policy());
    assertEquals(3, consecutive.maxFailures());
    assertEquals(1, consecutive.halfOpenCalls());
  }

  @Test
  void breaker_settings_of_the_other_policy_or_both_windows_are_errors() {
    assertTrue(error("    circuit_breaker: {max_failures: 3, slow_call_ms: 100}\n")
      .contains("slow_call_ms applies to policy: rate only"));
    assertTrue(error("    circuit_breaker: {policy: rate, max_failures: 3}\n")
      .contains("max_failures applies to policy: consecutive only"));
    assertTrue(error("    circuit_breaker: {window_calls: 10, window_seconds: 10}\n").contains("window_seconds"));
    assertTrue(error("    circuit_breaker: {window_calls: 10, minimum_calls: 20}\n")
      .contains("cannot exceed window_calls"));
    assertTrue(error("    circuit_breaker: {failure_rate: 10}\n").contains("is not a known setting"));
  }

  @Test
  void adaptive_limits_are_off_by_default_capped_by_max_concurrency_and_aimd_needs_its_latency() {
    assertNull(parse("").deployments().get(0).adaptive());
    var adaptive = parse("    max_concurrency: 50\n    adaptive_concurrency: {}\n").deployments().get(0).adaptive();
    assertEquals(SwitchboardConfig.AdaptiveConcurrency.GRADIENT, adaptive.algorithm());
    assertEquals(50, adaptive.maxLimit());
    assertTrue(error("    max_concurrency: 50\n    adaptive_concurrency: {max_limit: 80}\n")
      .contains("cannot exceed the deployment's max_concurrency"));
    assertTrue(error("    adaptive_concurrency: {algorithm: aimd}\n").contains("latency_ms is required"));
    assertTrue(error("    adaptive_concurrency: {latency_ms: 100}\n").contains("applies to algorithm: aimd only"));
  }

  @Test
  void overload_thresholds_rise_and_skips_name_optional_work() {
    SwitchboardConfig config = parse("");
    assertEquals(SwitchboardConfig.Overload.DEFAULTS, config.overload());
    assertTrue(config.route("m").skips(SwitchboardConfig.Route.CACHE_FILL, 1));
    assertTrue(!config.route("m").skips(SwitchboardConfig.Route.MEMORY_WRITE, 3), "memory is kept by default");
    String falling = assertThrows(ConfigException.class, () -> ConfigLoader.parse("test.yaml",
      "overload:\n  queued: [100, 50, 200]\n", Map.of())).getMessage();
    assertTrue(falling.contains("three rising thresholds"), falling);
    String unknown = assertThrows(ConfigException.class, () -> ConfigLoader.parse("test.yaml",
      "model_list:\n  - {model_name: m, provider: simulator}\nroutes:\n  - {model_name: m, overload_skips: [spend]}\n",
      Map.of())).getMessage();
    assertTrue(unknown.contains("'spend' is not optional work"), unknown);
  }
}

package io.switchboard.tracing;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.vertx.core.spi.VertxTracerFactory;
import io.vertx.tracing.opentelemetry.OpenTelemetryTracingFactory;

import java.util.Map;

/**
 * OpenTelemetry tracing for a node, configured by the standard {@code OTEL_*} environment variables (the SDK's
 * autoconfigure: exporter, endpoint, protocol, sampler, service name, resource attributes, propagators). Off unless
 * asked for — {@code OTEL_TRACES_EXPORTER} other than {@code none}, or an OTLP endpoint set — and then no tracer is
 * installed at all: Vert.x runs without one and the gateway's own spans are skipped by one boolean test.
 */
public final class Tracing {
  private static volatile boolean on;

  private Tracing() {
  }

  /** Whether this process traces: read on the hot path before any span work. */
  public static boolean on() {
    return on;
  }

  /**
   * Vert.x's OpenTelemetry tracer with an SDK built from the environment, or null when tracing is off. Must run
   * before the first Vert.x instance is made (the tracer registers a context-local slot).
   */
  public static VertxTracerFactory fromEnvironment(Map<String, String> env) {
    String exporter = env.getOrDefault("OTEL_TRACES_EXPORTER", "");
    boolean asked = !exporter.isBlank() && !exporter.equals("none") || env.containsKey("OTEL_EXPORTER_OTLP_ENDPOINT")
      || env.containsKey("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if (!asked || "true".equalsIgnoreCase(env.get("OTEL_SDK_DISABLED"))) {
      return null;
    }
    OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
      // traces only unless the operator asks for more (env and system properties override these defaults)
      .addPropertiesSupplier(() -> Map.of("otel.metrics.exporter", "none", "otel.logs.exporter", "none",
        "otel.service.name", "switchboard"))
      .setResultAsGlobal()
      .build().getOpenTelemetrySdk();
    Runtime.getRuntime().addShutdownHook(new Thread(sdk::close, "otel-shutdown"));
    on = true;
    return new OpenTelemetryTracingFactory(sdk);
  }

  /** The tracer the gateway's own spans come from (the global one, set when tracing is on). */
  static Tracer tracer() {
    return GlobalOpenTelemetry.getTracer("io.switchboard");
  }
}

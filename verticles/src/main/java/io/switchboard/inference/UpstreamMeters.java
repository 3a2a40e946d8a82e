package io.switchboard.inference;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.switchboard.bus.ApiError;
import io.switchboard.config.SwitchboardConfig.Deployment;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One deployment's upstream calls as Prometheus sees them: {@code switchboard.upstream.requests} (a latency histogram
 * per outcome: ok, cancelled, or the HTTP status the call failed with) and {@code switchboard.upstream.ttft} (time to
 * the first chunk). Every meter is made once — at start-up, or on a deployment's first failure of a given status —
 * and then only recorded: Vert.x's own HTTP client meters look their meter up in the registry on every request.
 */
final class UpstreamMeters {
  private final MeterRegistry registry;
  private final Deployment deployment;
  private final Timer ok;
  private final Timer cancelled;
  private final Timer firstToken;
  /** By HTTP status: few distinct ones ever occur. */
  private final ConcurrentHashMap<Integer, Timer> failed = new ConcurrentHashMap<>();

  UpstreamMeters(MeterRegistry registry, Deployment deployment) {
    this.registry = registry;
    this.deployment = deployment;
    this.ok = calls("ok");
    this.cancelled = calls("cancelled");
    this.firstToken = Timer.builder("switchboard.upstream.ttft")
      .description("Time from sending a call to a deployment to its first chunk (or its whole answer)")
      .tag("deployment", deployment.id()).tag("model", deployment.modelName())
      .publishPercentileHistogram().register(registry);
  }

  private Timer calls(String outcome) {
    return Timer.builder("switchboard.upstream.requests")
      .description("Calls to a deployment by outcome (ok, cancelled, or the HTTP status of the failure), with latency")
      .tag("deployment", deployment.id()).tag("model", deployment.modelName()).tag("outcome", outcome)
      .publishPercentileHistogram().register(registry);
  }

  void firstToken(long nanos) {
    firstToken.record(nanos, TimeUnit.NANOSECONDS);
  }

  void succeeded(long nanos) {
    ok.record(nanos, TimeUnit.NANOSECONDS);
  }

  void failed(ApiError error, long nanos) {
    Timer timer = error.is(ApiError.Kind.CANCELLED) ? cancelled
      : failed.computeIfAbsent(error.status(), status -> calls(String.valueOf(status)));
    timer.record(nanos, TimeUnit.NANOSECONDS);
  }
}

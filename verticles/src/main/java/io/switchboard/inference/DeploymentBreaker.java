package io.switchboard.inference;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.Tags;
import io.switchboard.monitoring.Gauges;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.ApiError;
import io.switchboard.config.SwitchboardConfig.Breaker;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.LongSupplier;

/**
 * A deployment's circuit breaker, Resilience4j's around our futures. The {@code rate} policy opens on the failure
 * rate or the slow-call rate over a rolling window once it holds a minimum number of calls; {@code consecutive} is
 * the same breaker with a count window of {@code max_failures} calls that must all fail. Once the reset time has
 * passed, a bounded number of probe calls go through (half-open) and the rest are refused until they have shown
 * whether the upstream is back. A call is slow when its first token came later than {@code slow_call_ms}: an
 * answer's length is the model's business, its time to start is the deployment's health.
 */
final class DeploymentBreaker {
  private static final Logger LOG = LoggerFactory.getLogger(DeploymentBreaker.class);

  /** The circuit is open (or half-open with every probe taken): the call was not made. */
  static final class Open extends RuntimeException {
    Open(String deployment) {
      super("circuit open for deployment " + deployment, null, false, false);
    }
  }

  private final CircuitBreaker breaker;
  private final String deploymentId;

  DeploymentBreaker(Deployment deployment, MeterRegistry registry) {
    this.deploymentId = deployment.id();
    this.breaker = CircuitBreaker.of("deployment." + deployment.id(), config(deployment.breaker()));
    breaker.getEventPublisher().onStateTransition(event -> {
      switch (event.getStateTransition().getToState()) {
        case OPEN -> LOG.warn("circuit OPEN for deployment {} ({}; failure rate {}%, slow-call rate {}%)",
          deploymentId, event.getStateTransition(), rate(breaker.getMetrics().getFailureRate()),
          rate(breaker.getMetrics().getSlowCallRate()));
        case HALF_OPEN -> LOG.info("circuit half-open for deployment {}: probing", deploymentId);
        case CLOSED -> LOG.info("circuit closed for deployment {}", deploymentId);
        default -> LOG.info("circuit of deployment {}: {}", deploymentId, event.getStateTransition());
      }
    });
    Gauges.replace(registry, "switchboard.circuit.state", Tags.of("deployment", deployment.id(), "model",
      deployment.modelName()), "Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open", this,
      DeploymentBreaker::stateValue);
  }

  private static CircuitBreakerConfig config(Breaker settings) {
    boolean timed = settings.windowSeconds() > 0;
    CircuitBreakerConfig.Builder builder = CircuitBreakerConfig.custom()
      .slidingWindow(timed ? settings.windowSeconds() : settings.policy().equals(Breaker.CONSECUTIVE)
          ? settings.maxFailures() : settings.windowCalls(), settings.minimumCalls(),
        timed ? CircuitBreakerConfig.SlidingWindowType.TIME_BASED : CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
      .failureRateThreshold(settings.failureRateThreshold())
      .permittedNumberOfCallsInHalfOpenState(settings.halfOpenCalls())
      .waitDurationInOpenState(Duration.ofMillis(settings.resetTimeoutMillis()))
      // the outcome is judged by countsAgainstUpstream before it is recorded: every recorded error is a failure
      .recordException(e -> true);
    if (settings.slowCallMillis() > 0) {
      builder.slowCallDurationThreshold(Duration.ofMillis(settings.slowCallMillis()))
        .slowCallRateThreshold(settings.slowCallRateThreshold());
    } else {
      builder.slowCallDurationThreshold(Duration.ofDays(365)).slowCallRateThreshold(100);
    }
    return builder.build();
  }

  /**
   * Runs the call when the circuit lets it, and records how it went: a failure that says something about the
   * upstream counts against it, the client's own mistakes count as answers, and calls we stopped or refused
   * ourselves are not counted at all.
   *
   * @param judgedNanos how long the call took as the slow-call rule sees it (for a chat: to its first token)
   */
  <T> Future<T> execute(Supplier<Future<T>> call, LongSupplier judgedNanos) {
    if (!breaker.tryAcquirePermission()) {
      return Future.failedFuture(new Open(deploymentId));
    }
    Future<T> outcome;
    try {
      outcome = call.get();
    } catch (RuntimeException e) {
      breaker.onError(0, TimeUnit.NANOSECONDS, e);
      return Future.failedFuture(e);
    }
    return outcome.andThen(done -> {
      long nanos = judgedNanos.getAsLong();
      if (done.succeeded()) {
        breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
      } else if (!(done.cause() instanceof UpstreamFailure failure)) {
        breaker.onError(nanos, TimeUnit.NANOSECONDS, done.cause());
      } else if (failure.gatewaySide() || failure.error().is(ApiError.Kind.CANCELLED)) {
        breaker.releasePermission(); // we stopped or refused it ourselves: says nothing either way
      } else if (failure.retryable()) {
        breaker.onError(nanos, TimeUnit.NANOSECONDS, failure);
      } else {
        breaker.onSuccess(nanos, TimeUnit.NANOSECONDS); // the upstream answered: the client's own mistake
      }
    });
  }

  CircuitBreaker.State state() {
    return breaker.getState();
  }

  private double stateValue() {
    return switch (breaker.getState()) {
      case HALF_OPEN -> 1;
      case OPEN, FORCED_OPEN -> 2;
      default -> 0;
    };
  }

  private static String rate(float percent) {
    return percent < 0 ? "n/a" : String.format("%.1f", percent);
  }

}

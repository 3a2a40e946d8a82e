package io.switchboard.routing;

import com.netflix.concurrency.limits.Limit;
import com.netflix.concurrency.limits.limit.AIMDLimit;
import com.netflix.concurrency.limits.limit.Gradient2Limit;
import io.switchboard.config.SwitchboardConfig.AdaptiveConcurrency;
import io.switchboard.config.SwitchboardConfig.Deployment;

import java.util.concurrent.TimeUnit;

/** One deployment as this node's router sees it: load, speed and whether to leave it alone for a while. */
final class DeploymentState {
  private static final double EWMA_WEIGHT = 0.2;

  final Deployment deployment;
  /** The adaptive concurrency limit ({@code adaptive_concurrency:}), or null: max_concurrency alone. */
  final Limit adaptive;
  int outstanding;
  double ewmaFirstTokenMillis = -1;
  long restingUntilMillis;
  int smoothWeight;
  /** The deployment's weight now: the configured one until an operator sets another (a canary's ramp). */
  int weight;

  DeploymentState(Deployment deployment) {
    this.deployment = deployment;
    this.weight = deployment.weight();
    this.adaptive = deployment.adaptive() == null ? null : limitOf(deployment.adaptive());
  }

  private static Limit limitOf(AdaptiveConcurrency settings) {
    return settings.algorithm().equals(AdaptiveConcurrency.AIMD)
      ? AIMDLimit.newBuilder().initialLimit(settings.initialLimit()).minLimit(settings.minLimit())
        .maxLimit(settings.maxLimit()).backoffRatio(settings.backoffRatio())
        .timeout(settings.latencyMillis(), TimeUnit.MILLISECONDS).build()
      : Gradient2Limit.newBuilder().initialLimit(settings.initialLimit()).minLimit(settings.minLimit())
        .maxConcurrency(settings.maxLimit()).build();
  }

  boolean resting(long nowMillis) {
    return restingUntilMillis > nowMillis;
  }

  /** Calls this node lets the deployment have at once; 0 = no limit. */
  int limit() {
    return adaptive != null ? adaptive.getLimit() : deployment.maxConcurrency();
  }

  boolean full() {
    int limit = limit();
    return limit > 0 && outstanding >= limit;
  }

  void firstToken(long millis) {
    ewmaFirstTokenMillis = ewmaFirstTokenMillis < 0 ? millis
      : EWMA_WEIGHT * millis + (1 - EWMA_WEIGHT) * ewmaFirstTokenMillis;
  }

  /**
   * One call's measure for the adaptive limit: its time to first token, with {@code inflight} calls out when it
   * started; {@code overloaded}: it timed out or was turned away for load, which backs the limit off.
   */
  void sample(long startNanos, long firstTokenNanos, int inflight, boolean overloaded) {
    if (adaptive != null) {
      adaptive.onSample(startNanos, firstTokenNanos, inflight, overloaded);
    }
  }

  /** Leaves the deployment out of choices for a while (its breaker is open, or it asked us to back off). */
  void rest(long nowMillis, long millis) {
    restingUntilMillis = Math.max(restingUntilMillis, nowMillis + millis);
  }
}

package io.switchboard.routing;

import io.switchboard.config.SwitchboardConfig.Deployment;

/** One deployment as this node's router sees it: load, speed and whether to leave it alone for a while. */
final class DeploymentState {
  private static final double EWMA_WEIGHT = 0.2;

  final Deployment deployment;
  int outstanding;
  double ewmaFirstTokenMillis = -1;
  long restingUntilMillis;
  int smoothWeight;
  /** The deployment's weight now: the configured one until an operator sets another (a canary's ramp). */
  int weight;

  DeploymentState(Deployment deployment) {
    this.deployment = deployment;
    this.weight = deployment.weight();
  }

  boolean resting(long nowMillis) {
    return restingUntilMillis > nowMillis;
  }

  boolean full() {
    return deployment.maxConcurrency() > 0 && outstanding >= deployment.maxConcurrency();
  }

  void firstToken(long millis) {
    ewmaFirstTokenMillis = ewmaFirstTokenMillis < 0 ? millis
      : EWMA_WEIGHT * millis + (1 - EWMA_WEIGHT) * ewmaFirstTokenMillis;
  }

  /** Leaves the deployment out of choices for a while (its breaker is open, or it asked us to back off). */
  void rest(long nowMillis, long millis) {
    restingUntilMillis = Math.max(restingUntilMillis, nowMillis + millis);
  }
}

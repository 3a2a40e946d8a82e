package io.switchboard.routing;

import io.switchboard.config.SwitchboardConfig.Deployment;

import java.util.List;

/**
 * Smooth weighted round robin (as nginx does it) over one model's deployments: over any window each
 * deployment is chosen in proportion to its weight, without bursts. A weight of 0 takes no traffic.
 */
final class DeploymentChooser {
  private final List<Deployment> deployments;
  private final int[] current;
  private final int totalWeight;

  DeploymentChooser(List<Deployment> deployments) {
    this.deployments = List.copyOf(deployments);
    this.current = new int[deployments.size()];
    this.totalWeight = deployments.stream().mapToInt(Deployment::weight).sum();
  }

  /** The next deployment, or null when none has weight. */
  Deployment next() {
    if (totalWeight == 0) {
      return null;
    }
    int best = -1;
    for (int i = 0; i < current.length; i++) {
      current[i] += deployments.get(i).weight();
      if (best < 0 || current[i] > current[best]) {
        best = i;
      }
    }
    current[best] -= totalWeight;
    return deployments.get(best);
  }
}

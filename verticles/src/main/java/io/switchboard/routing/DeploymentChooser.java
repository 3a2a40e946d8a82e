package io.switchboard.routing;

import io.switchboard.config.SwitchboardConfig.Deployment;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Picks one of a model's deployments by the route's strategy, among those that are not resting, not
 * excluded for this turn and not at their concurrency limit:
 * <ul>
 *   <li>{@code weighted}: smooth weighted round robin (as nginx does it), no bursts;</li>
 *   <li>{@code least-outstanding}: fewest calls in flight per unit of weight;</li>
 *   <li>{@code latency}: lowest EWMA of time to first token, scaled by load; unmeasured ones are tried first;</li>
 *   <li>{@code affinity}: rendezvous hashing of the conversation id, so a conversation keeps hitting the same
 *   backend (and its prefix cache) while that backend is up, and only its share moves when one goes.</li>
 * </ul>
 */
final class DeploymentChooser {
  /** What a choice came to. */
  sealed interface Choice {
  }

  record Chosen(DeploymentState state) implements Choice {
  }

  /** Healthy deployments exist but every one is at its concurrency limit: wait for a slot. */
  record Full() implements Choice {
  }

  /** Nothing here can take the turn. */
  record Unavailable() implements Choice {
  }

  private static final Full FULL = new Full();
  private static final Unavailable UNAVAILABLE = new Unavailable();

  final String model;
  private final String strategy;
  final List<DeploymentState> states;

  DeploymentChooser(String model, String strategy, List<DeploymentState> states) {
    this.model = model;
    this.strategy = strategy;
    this.states = List.copyOf(states);
  }

  Choice choose(String conversationId, Set<String> excluded, long nowMillis) {
    boolean sawFull = false;
    DeploymentState best = null;
    double bestScore = 0;
    int totalWeight = 0;
    for (DeploymentState state : states) {
      Deployment deployment = state.deployment;
      if (state.weight == 0 || excluded.contains(deployment.id()) || state.resting(nowMillis)) {
        continue;
      }
      if (state.full()) {
        sawFull = true;
        continue;
      }
      totalWeight += state.weight;
      double score = score(state, conversationId);
      if (best == null || score > bestScore) {
        best = state;
        bestScore = score;
      }
    }
    if (best == null) {
      return sawFull ? FULL : UNAVAILABLE;
    }
    if (strategy.equals("weighted") || (strategy.equals("affinity") && conversationId == null)) {
      best = smoothWeighted(conversationId, excluded, nowMillis, totalWeight);
    }
    return new Chosen(best);
  }

  /** Higher is better. */
  private double score(DeploymentState state, String conversationId) {
    int weight = state.weight;
    return switch (strategy) {
      case "least-outstanding" -> -(state.outstanding + 1.0) / weight;
      case "latency" -> state.ewmaFirstTokenMillis < 0 ? Double.MAX_VALUE - state.outstanding
        : -(state.ewmaFirstTokenMillis * (state.outstanding + 1)) / weight;
      case "affinity" -> conversationId == null ? 0 : rendezvous(conversationId, state.deployment.id(), weight);
      default -> 0;
    };
  }

  private DeploymentState smoothWeighted(String conversationId, Set<String> excluded, long nowMillis, int totalWeight) {
    DeploymentState best = null;
    for (DeploymentState state : states) {
      if (state.weight == 0 || excluded.contains(state.deployment.id()) || state.resting(nowMillis)
        || state.full()) {
        continue;
      }
      state.smoothWeight += state.weight;
      if (best == null || state.smoothWeight > best.smoothWeight) {
        best = state;
      }
    }
    best.smoothWeight -= totalWeight;
    return best;
  }

  /** Weighted rendezvous (highest random weight) hashing: -w / ln(u), u uniform in (0,1) from the hash. */
  static double rendezvous(String key, String deploymentId, int weight) {
    CRC32C crc = new CRC32C();
    crc.update((key + '\u0000' + deploymentId).getBytes(StandardCharsets.UTF_8));
    long mixed = crc.getValue() * 0x9E3779B97F4A7C15L;
    double unit = ((mixed >>> 11) + 0.5) / (double) (1L << 53);
    return -weight / Math.log(unit);
  }
}

package io.switchboard.control;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Moves a model's weights from where they are to a target in equal steps, one every interval, on every node. The
 * deployments that gain weight are the canaries: when, over an interval, more than {@code maxErrorRate} of their
 * calls (as this node's upstream meters count them) failed, the weights go back to where they started and the ramp
 * ends as {@code rolled_back}.
 */
public final class CanaryRamp {
  private static final Logger LOG = LoggerFactory.getLogger(CanaryRamp.class);

  private final Vertx vertx;
  private final NodeControl control;
  private final String model;
  private final Map<String, Integer> from;
  private final Map<String, Integer> target;
  private final List<String> canaries;
  private final int steps;
  private final long intervalMillis;
  private final double maxErrorRate;
  private volatile int step;
  private volatile String state = "running";
  private volatile Double lastErrorRate;
  private long timer = -1;
  private long okBefore;
  private long failedBefore;

  CanaryRamp(Vertx vertx, NodeControl control, String model, Map<String, Integer> from, Map<String, Integer> target,
             int steps, long intervalMillis, double maxErrorRate) {
    this.vertx = vertx;
    this.control = control;
    this.model = model;
    this.from = Map.copyOf(from);
    this.target = Map.copyOf(target);
    this.canaries = target.keySet().stream().filter(id -> target.get(id) > from.getOrDefault(id, 0)).toList();
    this.steps = steps;
    this.intervalMillis = intervalMillis;
    this.maxErrorRate = maxErrorRate;
  }

  void start() {
    LOG.warn("canary ramp for {}: {} -> {} in {} steps of {} ms, rolled back above {} errors", model, from, target,
      steps, intervalMillis, maxErrorRate);
    advance();
  }

  private synchronized void advance() {
    if (!state.equals("running")) {
      return;
    }
    if (step > 0 && tooManyErrors()) {
      state = "rolled_back";
      LOG.warn("canary ramp for {} ROLLED BACK at step {}/{}: canary error rate {} above {}", model, step, steps,
        lastErrorRate, maxErrorRate);
      control.publishWeights(model, from);
      return;
    }
    if (step == steps) {
      state = "completed";
      LOG.warn("canary ramp for {} completed: weights {}", model, target);
      return;
    }
    step++;
    control.publishWeights(model, weightsAt(step));
    long[] calls = canaryCalls();
    okBefore = calls[0];
    failedBefore = calls[1];
    timer = vertx.setTimer(intervalMillis, t -> advance());
  }

  private boolean tooManyErrors() {
    long[] calls = canaryCalls();
    long ok = calls[0] - okBefore;
    long failed = calls[1] - failedBefore;
    if (ok + failed == 0) {
      return false; // nothing said about the canary yet
    }
    lastErrorRate = (double) failed / (ok + failed);
    return lastErrorRate > maxErrorRate;
  }

  private long[] canaryCalls() {
    long ok = 0;
    long failed = 0;
    for (String id : canaries) {
      long[] calls = control.calls(id);
      ok += calls[0];
      failed += calls[1];
    }
    return new long[] {ok, failed};
  }

  private Map<String, Integer> weightsAt(int step) {
    Map<String, Integer> weights = new LinkedHashMap<>();
    target.forEach((id, to) -> {
      int start = from.getOrDefault(id, 0);
      weights.put(id, start + Math.round((to - start) * (float) step / steps));
    });
    return weights;
  }

  /** Another order for the same model (or a reload, or the node's shutdown) ends this ramp where it is. */
  synchronized void stop() {
    if (state.equals("running")) {
      state = "stopped";
      vertx.cancelTimer(timer);
    }
  }

  public String state() {
    return state;
  }

  public JsonObject toJson() {
    return new JsonObject().put("state", state).put("step", step).put("steps", steps)
      .put("interval_ms", intervalMillis).put("max_error_rate", maxErrorRate).put("last_error_rate", lastErrorRate)
      .put("canaries", canaries).put("from", new JsonObject(new HashMap<>(from)))
      .put("target", new JsonObject(new HashMap<>(target)));
  }
}

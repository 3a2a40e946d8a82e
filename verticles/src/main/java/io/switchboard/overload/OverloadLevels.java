package io.switchboard.overload;

import io.switchboard.config.SwitchboardConfig.Overload;

import java.util.List;

/**
 * The node's overload level from its signals, with hysteresis: it rises at once to the highest level any signal
 * reaches, and falls one level at a time once every signal has stayed below {@link Overload#CALM_SHARE} of the
 * current level's threshold for {@code calm_ms} — so a node hovering at a threshold does not flap.
 */
final class OverloadLevels {
  /** What the node measured at one check. */
  record Signals(long loopDelayMillis, long queued, long heapPercent) {
  }

  private final Overload settings;
  private int level;
  private long calmSinceMillis = -1;
  private String cause = "";

  OverloadLevels(Overload settings) {
    this.settings = settings;
  }

  int level() {
    return level;
  }

  /** Which signal set the level last time it rose, e.g. {@code queued=1200}. */
  String cause() {
    return cause;
  }

  /** The level after this check. */
  int update(long nowMillis, Signals signals) {
    int reached = 0;
    String why = "";
    for (int l = 3; l >= 1 && reached == 0; l--) {
      if (signals.loopDelayMillis() >= at(settings.loopDelayMillis(), l)) {
        reached = l;
        why = "event_loop_delay_ms=" + signals.loopDelayMillis();
      } else if (signals.queued() >= at(settings.queued(), l)) {
        reached = l;
        why = "queued=" + signals.queued();
      } else if (signals.heapPercent() >= at(settings.heapPercent(), l)) {
        reached = l;
        why = "heap_after_gc_percent=" + signals.heapPercent();
      }
    }
    if (reached >= level) {
      if (reached > level) {
        cause = why;
      }
      level = reached;
      calmSinceMillis = -1;
      return level;
    }
    boolean calm = signals.loopDelayMillis() < calm(settings.loopDelayMillis()) && signals.queued()
      < calm(settings.queued()) && signals.heapPercent() < calm(settings.heapPercent());
    if (!calm) {
      calmSinceMillis = -1;
    } else if (calmSinceMillis < 0) {
      calmSinceMillis = nowMillis;
    }
    if (calm && nowMillis - calmSinceMillis >= settings.calmMillis()) {
      level--;
      calmSinceMillis = level > 0 ? nowMillis : -1;
      cause = "calm";
    }
    return level;
  }

  private static long at(List<Long> thresholds, int level) {
    return thresholds.get(level - 1);
  }

  private double calm(List<Long> thresholds) {
    return at(thresholds, level) * Overload.CALM_SHARE;
  }
}

package io.switchboard.inference;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Fires once, when a call must stop (timeout, client gone, hedge lost); also carries the client's
 * backpressure (pause / resume reading the upstream). Used on one event loop.
 */
final class CancelSignal {
  private final List<Runnable> actions = new ArrayList<>(2);
  private String reason;
  private Consumer<Boolean> flow;
  private boolean paused;

  boolean cancelled() {
    return reason != null;
  }

  String reason() {
    return reason;
  }

  /** Runs {@code action} on cancellation (at once when already cancelled). */
  void whenCancelled(Runnable action) {
    if (reason != null) {
      action.run();
    } else {
      actions.add(action);
    }
  }

  /** The upstream reader to pause when the client falls behind (told at once if it already has). */
  void onFlow(Consumer<Boolean> pauser) {
    flow = pauser;
    if (paused) {
      pauser.accept(true);
    }
  }

  void flow(boolean pause) {
    paused = pause;
    if (flow != null) {
      flow.accept(pause);
    }
  }

  boolean paused() {
    return paused;
  }

  void cancel(String why) {
    if (reason != null) {
      return;
    }
    reason = why;
    for (Runnable action : actions) {
      action.run();
    }
    actions.clear();
  }
}

package io.switchboard.inference;

import java.util.ArrayList;
import java.util.List;

/** Fires once, when a call must stop (timeout, client gone, hedge lost); used on one event loop. */
final class CancelSignal {
  private final List<Runnable> actions = new ArrayList<>(2);
  private String reason;

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

package io.switchboard.config;

import java.util.Objects;

/**
 * The configuration a node runs on now, swapped as one reference when a reload or an operator's weights apply.
 * Readers take {@link #get()} once at the start of what they do (a turn), so what they started finishes on the
 * configuration it started with.
 */
public final class LiveConfig {
  private volatile SwitchboardConfig current;

  public LiveConfig(SwitchboardConfig initial) {
    this.current = Objects.requireNonNull(initial, "initial");
  }

  public SwitchboardConfig get() {
    return current;
  }

  public void set(SwitchboardConfig config) {
    this.current = Objects.requireNonNull(config, "config");
  }
}

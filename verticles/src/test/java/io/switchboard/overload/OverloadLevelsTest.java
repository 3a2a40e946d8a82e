package io.switchboard.overload;

import io.switchboard.config.SwitchboardConfig.Overload;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Levels rise at once with the worst signal and fall one at a time after a calm spell, without flapping. */
class OverloadLevelsTest {
  private static final Overload SETTINGS = new Overload(true, 100, List.of(50L, 200L, 1000L), List.of(10L, 20L, 40L),
    List.of(75L, 85L, 95L), 1_000, 1);

  private static OverloadLevels.Signals signals(long delay, long queued, long heap) {
    return new OverloadLevels.Signals(delay, queued, heap);
  }

  @Test
  void the_level_is_the_highest_any_signal_reaches_and_says_which() {
    OverloadLevels levels = new OverloadLevels(SETTINGS);
    assertEquals(0, levels.update(0, signals(10, 0, 30)));
    assertEquals(1, levels.update(100, signals(60, 0, 30)));
    assertEquals(3, levels.update(200, signals(60, 45, 30)));
    assertTrue(levels.cause().startsWith("queued=45"), levels.cause());
  }

  @Test
  void it_falls_one_level_at_a_time_only_after_every_signal_stayed_calm() {
    OverloadLevels levels = new OverloadLevels(SETTINGS);
    levels.update(0, signals(0, 25, 0));
    assertEquals(2, levels.level());
    // 17 queued is below level 2's threshold (20) but not below 80% of it (16): no fall, however long
    for (long t = 100; t <= 3_000; t += 100) {
      assertEquals(2, levels.update(t, signals(0, 17, 0)));
    }
    assertEquals(2, levels.update(3_100, signals(0, 5, 0)), "calm has just begun");
    assertEquals(2, levels.update(3_900, signals(0, 5, 0)));
    assertEquals(1, levels.update(4_100, signals(0, 5, 0)), "a second of calm: one level down");
    assertEquals(1, levels.update(4_500, signals(0, 5, 0)));
    assertEquals(0, levels.update(5_100, signals(0, 5, 0)), "another calm second: normal");
  }

  @Test
  void a_spike_during_the_calm_spell_starts_it_again() {
    OverloadLevels levels = new OverloadLevels(SETTINGS);
    levels.update(0, signals(70, 0, 0));
    levels.update(500, signals(0, 0, 0));
    levels.update(900, signals(45, 0, 0)); // not above level 1's 50, but above 80% of it
    assertEquals(1, levels.update(1_600, signals(0, 0, 0)));
    assertEquals(0, levels.update(2_700, signals(0, 0, 0)));
  }
}

package io.switchboard.routing;

import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Deployment;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeploymentChooserTest {

  private static DeploymentState state(String id, int weight, int maxConcurrency) {
    return new DeploymentState(new Deployment(id, "m", "openai", "http://127.0.0.1:1", List.of(), "m", weight,
      1000, 1000, 1000, 1000, 4, maxConcurrency, null, new SwitchboardConfig.Breaker(5, 1000)));
  }

  private static String pick(DeploymentChooser chooser, String conversation) {
    return ((DeploymentChooser.Chosen) chooser.choose(conversation, Set.of(), 0)).state().deployment.id();
  }

  @Test
  void weighted_round_robin_follows_the_weights_without_bursts() {
    DeploymentChooser chooser = new DeploymentChooser("m", "weighted",
      List.of(state("a", 5, 0), state("b", 1, 0), state("c", 1, 0)));
    Map<String, Integer> counts = new HashMap<>();
    StringBuilder order = new StringBuilder();
    for (int i = 0; i < 7; i++) {
      String id = pick(chooser, null);
      counts.merge(id, 1, Integer::sum);
      order.append(id);
    }
    assertEquals(Map.of("a", 5, "b", 1, "c", 1), counts);
    assertEquals("aabacaa", order.toString(), "smooth: b and c are spread out, not bunched at the end");
  }

  @Test
  void least_outstanding_picks_the_least_loaded_per_unit_of_weight() {
    DeploymentState a = state("a", 1, 0);
    DeploymentState b = state("b", 2, 0);
    a.outstanding = 2;
    b.outstanding = 4;
    DeploymentChooser chooser = new DeploymentChooser("m", "least-outstanding", List.of(a, b));
    assertEquals("b", pick(chooser, null), "(4+1)/2 < (2+1)/1");
    b.outstanding = 6;
    assertEquals("a", pick(chooser, null));
  }

  @Test
  void latency_prefers_the_fastest_first_token_and_tries_unmeasured_ones() {
    DeploymentState fast = state("fast", 1, 0);
    DeploymentState slow = state("slow", 1, 0);
    DeploymentState fresh = state("fresh", 1, 0);
    fast.firstToken(100);
    slow.firstToken(900);
    DeploymentChooser chooser = new DeploymentChooser("m", "latency", List.of(fast, slow, fresh));
    assertEquals("fresh", pick(chooser, null));
    fresh.firstToken(500);
    assertEquals("fast", pick(chooser, null));
  }

  @Test
  void affinity_keeps_a_conversation_on_one_backend_and_moves_only_the_lost_share() {
    DeploymentState a = state("a", 1, 0);
    DeploymentState b = state("b", 1, 0);
    DeploymentState c = state("c", 1, 0);
    DeploymentChooser chooser = new DeploymentChooser("m", "affinity", List.of(a, b, c));
    Map<String, String> before = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      before.put("conv-" + i, pick(chooser, "conv-" + i));
      assertEquals(before.get("conv-" + i), pick(chooser, "conv-" + i), "stable");
    }
    Map<String, Long> spread = new HashMap<>();
    before.values().forEach(id -> spread.merge(id, 1L, Long::sum));
    assertTrue(spread.values().stream().allMatch(n -> n > 60), "spread evenly: " + spread);
    c.rest(0, 1_000_000);
    int moved = 0;
    for (var entry : before.entrySet()) {
      String now = ((DeploymentChooser.Chosen) chooser.choose(entry.getKey(), Set.of(), 1)).state().deployment.id();
      if (!entry.getValue().equals("c")) {
        assertEquals(entry.getValue(), now, "conversations on a and b stay put when c goes");
      } else {
        assertNotEquals("c", now);
        moved++;
      }
    }
    assertEquals(spread.get("c").intValue(), moved);
  }

  @Test
  void a_full_or_resting_model_says_so() {
    DeploymentState a = state("a", 1, 1);
    DeploymentChooser chooser = new DeploymentChooser("m", "weighted", List.of(a));
    a.outstanding = 1;
    assertInstanceOf(DeploymentChooser.Full.class, chooser.choose(null, Set.of(), 0));
    a.outstanding = 0;
    a.rest(0, 100);
    assertInstanceOf(DeploymentChooser.Unavailable.class, chooser.choose(null, Set.of(), 50));
    assertInstanceOf(DeploymentChooser.Chosen.class, chooser.choose(null, Set.of(), 150));
  }
}

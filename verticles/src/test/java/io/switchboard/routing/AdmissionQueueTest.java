package io.switchboard.routing;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdmissionQueueTest {

  @Test
  void priority_first_then_tenants_in_turn_and_bounded() {
    AdmissionQueue queue = new AdmissionQueue(6);
    List<String> admitted = new ArrayList<>();
    String[][] arrivals = {{"a", "0"}, {"a", "0"}, {"a", "0"}, {"b", "0"}, {"vip", "9"}, {"c", "0"}};
    int n = 0;
    for (String[] arrival : arrivals) {
      String label = arrival[0] + (n++);
      assertTrue(queue.offer(new AdmissionQueue.Waiter(arrival[0], Integer.parseInt(arrival[1]),
        () -> admitted.add(label))));
    }
    assertFalse(queue.offer(new AdmissionQueue.Waiter("d", 0, () -> { })), "bounded");
    AdmissionQueue.Waiter next;
    while ((next = queue.poll()) != null) {
      next.admit.run();
    }
    assertEquals(List.of("vip4", "a0", "b3", "c5", "a1", "a2"), admitted);
    assertEquals(0, queue.size());
    assertNull(queue.poll());
  }

  @Test
  void a_waiter_past_its_deadline_is_taken_out() {
    AdmissionQueue queue = new AdmissionQueue(2);
    AdmissionQueue.Waiter w = new AdmissionQueue.Waiter("a", 0, () -> { });
    queue.offer(w);
    assertTrue(queue.remove(w));
    assertFalse(queue.remove(w));
    assertEquals(0, queue.size());
  }
}

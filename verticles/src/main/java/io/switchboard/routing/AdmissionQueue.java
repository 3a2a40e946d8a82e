package io.switchboard.routing;

import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns waiting for a free deployment slot of one model: bounded, highest tenant priority first, and fair
 * between tenants of the same priority (round robin over their queues, so one busy tenant cannot starve
 * the others of its tier). Used from the routing verticle's event loop only.
 */
final class AdmissionQueue {
  /** A turn waiting for a slot. */
  static final class Waiter {
    final String tenant;
    final int priority;
    final Runnable admit;
    long timer = -1;

    Waiter(String tenant, int priority, Runnable admit) {
      this.tenant = tenant;
      this.priority = priority;
      this.admit = admit;
    }
  }

  private final int capacity;
  /** priority (highest first) → tenant (in turn order) → that tenant's waiters (oldest first). */
  private final TreeMap<Integer, LinkedHashMap<String, ArrayDeque<Waiter>>> tiers =
    new TreeMap<>(Comparator.reverseOrder());
  private int size;

  AdmissionQueue(int capacity) {
    this.capacity = capacity;
  }

  int size() {
    return size;
  }

  /** False when the queue is full. */
  boolean offer(Waiter waiter) {
    if (size >= capacity) {
      return false;
    }
    tiers.computeIfAbsent(waiter.priority, p -> new LinkedHashMap<>())
      .computeIfAbsent(waiter.tenant, t -> new ArrayDeque<>()).addLast(waiter);
    size++;
    return true;
  }

  /** The next waiter to admit, or null: highest tier, then the tenant whose turn it is. */
  Waiter poll() {
    if (size == 0) {
      return null;
    }
    Map.Entry<Integer, LinkedHashMap<String, ArrayDeque<Waiter>>> tier = tiers.firstEntry();
    LinkedHashMap<String, ArrayDeque<Waiter>> tenants = tier.getValue();
    Iterator<Map.Entry<String, ArrayDeque<Waiter>>> first = tenants.entrySet().iterator();
    Map.Entry<String, ArrayDeque<Waiter>> turn = first.next();
    first.remove();
    Waiter waiter = turn.getValue().pollFirst();
    if (!turn.getValue().isEmpty()) {
      tenants.put(turn.getKey(), turn.getValue()); // to the back of the line of tenants
    }
    if (tenants.isEmpty()) {
      tiers.remove(tier.getKey());
    }
    size--;
    return waiter;
  }

  /** Takes a waiter out (its deadline passed); false when it was already admitted. */
  boolean remove(Waiter waiter) {
    LinkedHashMap<String, ArrayDeque<Waiter>> tenants = tiers.get(waiter.priority);
    ArrayDeque<Waiter> queue = tenants == null ? null : tenants.get(waiter.tenant);
    if (queue == null || !queue.remove(waiter)) {
      return false;
    }
    if (queue.isEmpty()) {
      tenants.remove(waiter.tenant);
      if (tenants.isEmpty()) {
        tiers.remove(waiter.priority);
      }
    }
    size--;
    return true;
  }
}

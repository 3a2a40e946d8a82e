package io.switchboard.connection;

import io.switchboard.bus.StreamChunk;

import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Puts a stream's chunks back in order. Chunks of one attempt arrive in order, but after a mid-stream
 * failover the continuation may come from another node and overtake the last chunks of the first attempt.
 */
final class ChunkSequencer {
  private final Consumer<String> inOrder;
  private TreeMap<Integer, String> early;
  private int next;

  ChunkSequencer(Consumer<String> inOrder) {
    this.inOrder = inOrder;
  }

  /** How many chunks went out in order so far. */
  int delivered() {
    return next;
  }

  void accept(StreamChunk chunk) {
    if (chunk.seq() < next) {
      return; // a duplicate
    }
    if (chunk.seq() > next) {
      if (early == null) {
        early = new TreeMap<>();
      }
      early.put(chunk.seq(), chunk.delta());
      return;
    }
    inOrder.accept(chunk.delta());
    next++;
    while (early != null && !early.isEmpty() && early.firstKey() == next) {
      inOrder.accept(early.pollFirstEntry().getValue());
      next++;
    }
  }
}

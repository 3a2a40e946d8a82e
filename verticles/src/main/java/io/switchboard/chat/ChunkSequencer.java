package io.switchboard.chat;

import io.switchboard.bus.StreamChunk;

import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Puts a stream's chunks (and its end) back in order. Chunks of one attempt arrive in order, but after a
 * mid-stream failover the continuation may come from another node and overtake the last chunks of the first one.
 */
final class ChunkSequencer {
  private final Consumer<StreamChunk> inOrder;
  private TreeMap<Integer, StreamChunk> early;
  private int next;

  ChunkSequencer(Consumer<StreamChunk> inOrder) {
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
      early.put(chunk.seq(), chunk);
      return;
    }
    next++;
    inOrder.accept(chunk);
    while (early != null && !early.isEmpty() && early.firstKey() == next) {
      next++;
      inOrder.accept(early.pollFirstEntry().getValue());
    }
  }
}

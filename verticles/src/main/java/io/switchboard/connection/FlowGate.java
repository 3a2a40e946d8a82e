package io.switchboard.connection;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.StreamFlow;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Vertx;
import io.vertx.core.streams.WriteStream;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Backpressure from one client connection to the upstream reads of the streams it receives. When the
 * connection's write queue fills, those streams' inference proxies are told to stop reading their upstreams
 * (so nothing piles up in the gateway); when it drains, to go on. A client that stays behind longer than
 * the slow-client timeout is let go.
 */
final class FlowGate {
  private final Vertx vertx;
  private final WriteStream<?> out;
  private final long slowClientMillis;
  private final Runnable tooSlow;
  private final Counter pauses;
  /** Made on the first turn: an idle socket never needs it. */
  private Set<String> turns;
  private boolean paused;
  private long timer = -1;

  FlowGate(Vertx vertx, WriteStream<?> out, long slowClientMillis, Counter pauses, Runnable tooSlow) {
    this.vertx = vertx;
    this.pauses = pauses;
    this.out = out;
    this.slowClientMillis = slowClientMillis;
    this.tooSlow = tooSlow;
  }

  void add(String requestId) {
    if (turns == null) {
      turns = new LinkedHashSet<>(2);
    }
    turns.add(requestId);
  }

  void remove(String requestId) {
    if (turns != null) {
      turns.remove(requestId);
    }
  }

  /** Called after each write. */
  void wrote() {
    if (paused || !out.writeQueueFull()) {
      return;
    }
    paused = true;
    pauses.increment();
    tell(true);
    out.drainHandler(v -> resume());
    timer = vertx.setTimer(slowClientMillis, t -> {
      if (paused) {
        tooSlow.run();
      }
    });
  }

  private void resume() {
    paused = false;
    vertx.cancelTimer(timer);
    tell(false);
  }

  private void tell(boolean pause) {
    if (turns != null) {
      turns.forEach(id -> vertx.eventBus().publish(Addresses.TURN_FLOW, new StreamFlow(id, pause)));
    }
  }
}

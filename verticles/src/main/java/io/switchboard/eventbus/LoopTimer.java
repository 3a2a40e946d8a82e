package io.switchboard.eventbus;

import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;

import java.util.concurrent.TimeUnit;

/**
 * A one-shot timer for the deadline every turn sets and almost always cancels: straight on the calling context's
 * event loop (Netty's scheduler), run on that context as a Vert.x timer would be, but without the Vert.x timer's
 * bookkeeping (a timer id in a concurrent map, a close hook added and removed: 3% of a JSON turn's CPU for two
 * timers). Unlike a Vert.x timer it is not cancelled when its verticle is undeployed: its task must be harmless then
 * (the verticles using it drain their turns before they stop).
 */
public final class LoopTimer {
  private LoopTimer() {
  }

  /** Runs {@code task} on the calling context after {@code delayMillis} (at least 1 ms), unless cancelled first. */
  public static ScheduledFuture<?> schedule(Vertx vertx, long delayMillis, Runnable task) {
    ContextInternal context = (ContextInternal) vertx.getOrCreateContext();
    return context.nettyEventLoop().schedule(() -> context.emit(v -> task.run()), Math.max(1, delayMillis),
      TimeUnit.MILLISECONDS);
  }

  /** Cancels a timer of {@link #schedule}; null (none set) is fine. */
  public static void cancel(ScheduledFuture<?> timer) {
    if (timer != null) {
      timer.cancel(false);
    }
  }
}

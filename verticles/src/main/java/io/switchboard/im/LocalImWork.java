package io.switchboard.im;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * The embedded default: a job runs at once in this node's memory, as soon as its callback is acknowledged. Nothing
 * is kept: a job whose node dies before it answered is lost (and a re-send of its message is recognised as seen, so
 * it stays unanswered). Re-sends are recognised with {@link SeenMessages} (cluster-wide when it is Redis's).
 */
final class LocalImWork implements ImWorkQueue {
  private final Vertx vertx;
  private final SeenMessages seen;
  private Worker worker;
  private Context context;

  LocalImWork(Vertx vertx, SeenMessages seen) {
    this.vertx = vertx;
    this.seen = seen;
  }

  @Override
  public Future<Boolean> offer(ImJob job) {
    return seen.firstSight(job.channel(), job.messageId()).andThen(first -> {
      if (first.result()) {
        // after the acknowledgement, which the caller sends when this completes
        context.runOnContext(v -> worker.run(job, Ledger.NONE));
      }
    });
  }

  @Override
  public void start(Worker worker) {
    this.worker = worker;
    this.context = vertx.getOrCreateContext();
  }

  @Override
  public Future<Void> close() {
    return Future.succeededFuture();
  }
}

package io.switchboard.im;

import io.vertx.core.Future;

import java.util.function.Supplier;

/**
 * Where accepted IM messages wait to be answered, and the record of what each answer delivered so far. Two queues
 * implement it: {@link RedisImWork} (a Redis Stream with a consumer group every node reads; a node's unfinished jobs
 * are taken over by another node when it dies) and {@link LocalImWork} (this node's memory, the embedded default:
 * lost with the node). A Kafka adapter would implement the same three calls: {@link #offer} as the dedup claim then a
 * produce with {@code acks=all}, {@link #start} as a member of one consumer group committing a job's offset once it
 * ran, and its {@link Ledger} in Redis or a compacted topic.
 */
interface ImWorkQueue {
  /**
   * Takes a message to answer, unless it was taken before (a platform re-sending its callback). Completes once the job
   * is kept as this queue keeps jobs, so the callback is acknowledged only after that.
   *
   * @return false for a re-sent message: it is answered (or being answered) already; fails when the message could
   *     not be kept, and then its callback is refused so that the platform sends it again
   */
  Future<Boolean> offer(ImJob job);

  /** Starts running jobs with {@code worker}, on the caller's context. */
  void start(Worker worker);

  /**
   * Stops taking jobs and lets running ones finish for a while; jobs still not finished then are left to other nodes
   * (durable queues).
   */
  Future<Void> close();

  /** Answers one job. A failed future leaves the job to be run again later, up to the queue's attempts. */
  interface Worker {
    Future<Void> run(ImJob job, Ledger ledger);
  }

  /** What is known of a part of an answer before it is sent. */
  enum Part {
    /** Not sent by any run of this job: send it. */
    SEND,
    /** Delivered by an earlier run: not again. */
    SENT,
    /** An earlier run started sending it and died: it may or may not have reached the platform. */
    UNCERTAIN
  }

  /** An answer to deliver, and the outcome it is counted under ({@code answered}, {@code model_failed}, ...). */
  record Answer(String text, String outcome) {
  }

  /** What one job delivered so far, kept beside the job, so that a job run again sends each part at most once. */
  interface Ledger {
    /**
     * The answer this job delivers: the one an earlier run recorded, else {@code compute}'s, recorded now (of two runs
     * at once, the first recorded wins for both). A null answer (nothing to answer) is not recorded.
     */
    Future<Answer> answer(Supplier<Future<Answer>> compute);

    /** Takes {@code part} to send, or says it was sent (or may have been). */
    Future<Part> begin(int part);

    /** {@code part} reached the platform. */
    Future<Void> sent(int part);

    /** {@code part} certainly did not reach the platform (it refused it): a later run sends it. */
    Future<Void> unsent(int part);

    /** Nothing kept: every part is sent, as by the only run there is. */
    Ledger NONE = new Ledger() {
      @Override
      public Future<Answer> answer(Supplier<Future<Answer>> compute) {
        return compute.get();
      }

      @Override
      public Future<Part> begin(int part) {
        return Future.succeededFuture(Part.SEND);
      }

      @Override
      public Future<Void> sent(int part) {
        return Future.succeededFuture();
      }

      @Override
      public Future<Void> unsent(int part) {
        return Future.succeededFuture();
      }
    };
  }
}

package io.switchboard.chat;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.guardrails.StreamGuard;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * Where one streaming answer goes (an SSE response, a WebSocket conversation, a bridge client). Chunks and the
 * end arrive from the inbox; a sink writes them in sequence. Subclasses only say how a chunk, the end and an error
 * look to their client. A turn with output guardrails passes its chunks through a {@link StreamGuard} first, so what
 * is written, kept for memory and recorded for the cache is what the policies let through.
 */
public abstract class StreamSink {
  private final ChunkSequencer sequencer = new ChunkSequencer(this::deliver);
  private final StringBuilder text = new StringBuilder();
  private final Promise<ChatResult> done = Promise.promise();
  private boolean continuable = true;
  private String memory = "off";
  private String cache = "bypass";
  /** The chunks delivered, kept for the response cache while it wants them (null: not recording). */
  private List<StreamChunk> recorded;
  private long recordedBytes;
  private long recordLimit;
  private int attempts;
  /** The output guardrails of this answer; null when none apply. */
  private StreamGuard guard;
  /** The end arrived and waits for the guardrails' verdict on the whole answer. */
  private boolean ending;

  /** Whether anything reached the client yet (after that, failures become error events). */
  public abstract boolean started();

  /** Writes one relayed chunk, in order. */
  protected abstract void writeChunk(StreamChunk chunk);

  /** Writes the end of the answer. */
  protected abstract void writeEnd(ChatResult result);

  /** A failure: an error in the client's format, and the end of this answer. */
  public abstract void error(ApiError error);

  /** How many chunks reached the client, in order. */
  public final int delivered() {
    return sequencer.delivered();
  }

  /** The content text that reached the client. */
  public final String text() {
    return text.toString();
  }

  /** The content text received so far: what reached the client and what the guardrails still hold back. */
  public final String progressText() {
    return guard == null ? text() : text + guard.heldText();
  }

  final void guard(StreamGuard streamGuard) {
    guard = streamGuard;
  }

  /** Whether the end arrived and is being vetted (it is written, or the answer refused, once the verdict is in). */
  final boolean ending() {
    return ending;
  }

  /**
   * The answer's assistant message as it ended: the result's, with the content the client actually got when a
   * fallback carried the stream on (the result then holds only the fallback's part).
   */
  public final JsonObject finalMessage(ChatResult result) {
    return text.length() == 0 ? result.message() : result.message().copy().put("content", text.toString());
  }

  /** False once a chunk another model could not honestly continue (a tool call) reached the client. */
  public final boolean continuable() {
    return continuable;
  }

  /** Whether memory was used for this turn: on, unavailable, or off (no conversation). */
  public final String memory() {
    return memory;
  }

  final void memory(String state) {
    memory = state;
  }

  /** What the response cache did for this turn: hit, miss or bypass ({@code x-switchboard-cache}). */
  public final String cache() {
    return cache;
  }

  final void cache(String state) {
    cache = state;
  }

  /** Keeps the chunks delivered from now on, up to about {@code maxBytes} of them (then none). */
  final void record(long maxBytes) {
    recorded = new ArrayList<>();
    recordLimit = maxBytes;
  }

  /** The chunks delivered, when they were all kept (null when recording was off or they grew too big). */
  final List<StreamChunk> recorded() {
    return recorded;
  }

  /** How many attempts streamed into this sink while recording (more than one: a fallback carried the answer on). */
  final int attempts() {
    return attempts;
  }

  public final boolean ended() {
    return done.future().isComplete();
  }

  /** Completes with the result when the end was written; fails when the turn failed (nothing written for it). */
  final Future<ChatResult> done() {
    return done.future();
  }

  final void accept(StreamChunk chunk) {
    if (!ended()) {
      sequencer.accept(chunk);
    }
  }

  final void fail(Throwable cause) {
    done.tryFail(cause);
  }

  private void keep(StreamChunk chunk) {
    if (chunk.deployment() != null) {
      attempts++;
    }
    recordedBytes += chunk.data().length() + 2L * chunk.text().length();
    if (recordedBytes > recordLimit) {
      recorded = null;
    } else {
      recorded.add(chunk);
    }
  }

  private void deliver(StreamChunk chunk) {
    if (ended()) {
      return;
    }
    if (guard == null) {
      pass(chunk);
      return;
    }
    List<StreamChunk> released = chunk.isEnd() ? guard.finish() : guard.accept(chunk);
    for (StreamChunk allowed : released) {
      pass(allowed);
    }
    if (guard.blocked() != null) {
      done.tryFail(guard.blocked().toException());
    } else if (chunk.isEnd() && guard.moderates()) {
      ending = true;
      guard.vet(text.toString()).onComplete(verdict -> {
        if (verdict.succeeded()) {
          pass(chunk);
        } else {
          done.tryFail(verdict.cause());
        }
      });
    } else if (chunk.isEnd()) {
      pass(chunk);
    }
  }

  private void pass(StreamChunk chunk) {
    if (ended()) {
      return;
    }
    if (chunk.isEnd()) {
      writeEnd(chunk.end());
      done.tryComplete(chunk.end());
      return;
    }
    text.append(chunk.text());
    if (recorded != null) {
      keep(chunk);
    }
    if (!chunk.continuable()) {
      continuable = false;
    }
    writeChunk(chunk);
  }
}

package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;

/**
 * Where one streaming answer goes (an SSE response, a WebSocket conversation, a bridge client). Chunks
 * arrive from the inbox in any order; a sink writes them in sequence and ends once every chunk the result
 * counts has been written. Subclasses only say how a piece, the end and an error look to their client.
 */
abstract class StreamSink {
  private final ChunkSequencer sequencer = new ChunkSequencer(this::accept);
  private final StringBuilder answer;
  private ChatResult pendingResult;
  private Runnable pendingDone;

  protected StreamSink(boolean keepAnswer) {
    this.answer = keepAnswer ? new StringBuilder() : null;
  }

  /** Whether anything reached the client yet (after that, failures become error events). */
  abstract boolean started();

  /** Writes the next piece of text; {@code first} for the stream's first. */
  protected abstract void writeDelta(String text, boolean first);

  /** Writes the end of the answer. */
  protected abstract void writeEnd(ChatResult result);

  /** A failure: an error in the client's format, and the end of this answer. */
  abstract void error(ApiError error);

  /** How many chunks reached the client, in order. */
  final int delivered() {
    return sequencer.delivered();
  }

  /** The answer so far (null when not kept). */
  final String answer() {
    return answer == null ? null : answer.toString();
  }

  final void chunk(StreamChunk chunk) {
    sequencer.accept(chunk);
    if (pendingResult != null && sequencer.delivered() >= pendingResult.chunks()) {
      finish(pendingResult, pendingDone);
    }
  }

  private void accept(String text) {
    if (answer != null) {
      answer.append(text);
    }
    writeDelta(text, sequencer.delivered() == 0);
  }

  /**
   * Ends the answer once every chunk the result counts was written, then runs {@code done}; false while
   * chunks are still on their way (the end then comes with the last of them).
   */
  final boolean finish(ChatResult result, Runnable done) {
    if (sequencer.delivered() < result.chunks()) {
      pendingResult = result;
      pendingDone = done;
      return false;
    }
    pendingResult = null;
    writeEnd(result);
    done.run();
    return true;
  }

  /** Chunks the result counted never came (their node died on the way): an error instead of a quiet end. */
  final boolean giveUpWaiting() {
    if (pendingResult == null) {
      return false;
    }
    pendingResult = null;
    error(ApiError.upstreamFailed("Part of the answer was lost between gateway nodes."));
    return true;
  }
}

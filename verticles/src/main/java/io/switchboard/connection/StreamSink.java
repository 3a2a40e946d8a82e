package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;

/**
 * Where one streaming answer goes (an SSE response, a WebSocket conversation). Chunks arrive in any order
 * from the inbox; a sink writes them in sequence and ends once every chunk the result counts has arrived.
 */
interface StreamSink {

  /** Whether anything reached the client yet (after that, failures become error events). */
  boolean started();

  void chunk(StreamChunk chunk);

  /**
   * Ends the answer once every chunk the result counts was written, then runs {@code done}; false while
   * chunks are still on their way (the end then comes with the last of them).
   */
  boolean finish(ChatResult result, Runnable done);

  /** Chunks the result counted never came: report an error instead of ending quietly. */
  boolean giveUpWaiting();

  /** A failure: an error in the client's format, and the end of this answer. */
  void error(ApiError error);

  /** The answer so far (null when not kept). */
  String answer();
}

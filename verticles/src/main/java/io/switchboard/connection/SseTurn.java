package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.chat.StreamSink;
import io.switchboard.vertx.WriteQueues;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

import java.util.ArrayList;

/**
 * One streaming answer written to a client as server-sent events: each upstream chunk as the upstream wrote it
 * ({@code data: <chunk>}), then {@code data: [DONE]}. Headers go out with the first chunk, so a failure before any
 * reaches the client as a plain HTTP error; a failure after it ends the stream with an explicit error event,
 * never as a silent success.
 *
 * <p>Chunks that arrive in one go (an upstream read often holds several) are written to the client in one write:
 * the first of them is held, and the rest of what the event loop has queued runs before the held bytes are written.
 * That is one system call for a burst instead of one per chunk, and no later than the burst's last chunk.
 */
final class SseTurn extends StreamSink {
  private static final Buffer DONE = Buffer.buffer("data: [DONE]\n\n");
  /** The head of every event stream, in names and values made once (see {@link ConnectionVerticle#CACHE}). */
  private static final CharSequence EVENT_STREAM = HttpHeaders.createOptimized("text/event-stream; charset=utf-8");
  private static final CharSequence NO_CACHE = HttpHeaders.createOptimized("no-cache");
  private static final CharSequence ACCEL_BUFFERING = HttpHeaders.createOptimized("x-accel-buffering");
  private static final CharSequence NO = HttpHeaders.createOptimized("no");

  private final HttpServerResponse response;
  private final FlowGate gate;
  private final boolean includeUsage;
  private final boolean withMemory;
  private final Context context;
  /**
   * Chunks written since the event loop last came round, sent together; null when none are waiting. A lone chunk
   * goes out as it is (no copy); the chunks of a burst are kept as they are ({@link #more}) and copied once, into a
   * buffer of the burst's exact size, when it goes out.
   */
  private Buffer pending;
  /** The burst's chunks after {@link #pending} (made at a stream's first burst, then reused); null or empty: none. */
  private ArrayList<Buffer> more;
  /** The headers are set (they go out with the first write, which a held burst delays past its first chunks). */
  private boolean headersSet;

  /** @param withMemory the turn names a conversation: the memory header says whether it was used */
  SseTurn(HttpServerResponse response, FlowGate gate, boolean includeUsage, boolean withMemory) {
    this.response = response;
    this.gate = gate;
    this.includeUsage = includeUsage;
    this.withMemory = withMemory;
    this.context = Vertx.currentContext();
    // a client that speaks HTTP/2 (h2c, or an ingress that multiplexes) holds a stream per answer, and the stream, not
    // its connection, has the write queue: a linked one instead of its 4 KB array, from before the answer's wait for a
    // slot and its first token to its end (an HTTP/1 connection's queue is linked when it connects)
    WriteQueues.link(response);
  }

  @Override
  public boolean started() {
    return response.headWritten() || pending != null;
  }

  @Override
  protected void writeChunk(StreamChunk chunk) {
    if (response.closed() || chunk.has(StreamChunk.USAGE_ONLY) && !includeUsage) {
      return; // the gateway always asks for usage; the client sees it only when it asked too
    }
    if (!headersSet && chunk.deployment() != null) {
      response.putHeader(ConnectionVerticle.DEPLOYMENT, chunk.deployment());
    }
    startIfNeeded();
    hold(chunk.data()); // framed once, by the inference proxy
  }

  private void hold(Buffer event) {
    if (pending == null) {
      pending = event;
      context.runOnContext(v -> flush());
    } else {
      if (more == null) {
        more = new ArrayList<>(4);
      }
      more.add(event);
    }
  }

  /** What is held, as one buffer (the lone chunk itself, or the burst copied once); null when nothing is. */
  private Buffer takePending() {
    Buffer burst = pending;
    if (burst != null && more != null && !more.isEmpty()) {
      int bytes = pending.length();
      for (Buffer event : more) {
        bytes += event.length();
      }
      burst = Buffer.buffer(bytes).appendBuffer(pending);
      for (Buffer event : more) {
        burst.appendBuffer(event);
      }
      more.clear();
    }
    pending = null;
    return burst;
  }

  private void flush() {
    Buffer burst = takePending();
    if (burst != null && !response.closed()) {
      response.write(burst);
      gate.wrote();
    }
  }

  /** What is still held, with {@code last} after it, as the response's end. */
  private void endWith(Buffer last) {
    if (pending == null) {
      response.end(last);
    } else {
      hold(last);
      response.end(takePending());
    }
  }

  @Override
  protected void writeEnd(ChatResult result) {
    if (!response.closed()) {
      startIfNeeded();
      endWith(DONE.copy());
    }
  }

  /** An error after the stream began: an error event in OpenAI's error shape, then the end. No [DONE]. */
  @Override
  public void error(ApiError error) {
    if (!response.closed()) {
      startIfNeeded();
      endWith(Buffer.buffer("data: " + error.toJson().encode() + "\n\n"));
    }
  }

  /**
   * The head every event stream of the API starts with (chat completions here, the Responses and Messages streams
   * in {@link TypedEventSink}): chunked, not cached, not buffered by a proxy in front, and what the cache did.
   */
  static void head(HttpServerResponse response, String cache) {
    response.setChunked(true)
      .putHeader(HttpHeaders.CONTENT_TYPE, EVENT_STREAM)
      .putHeader(HttpHeaders.CACHE_CONTROL, NO_CACHE)
      .putHeader(ACCEL_BUFFERING, NO)
      .putHeader(ConnectionVerticle.CACHE, cache);
  }

  private void startIfNeeded() {
    if (!headersSet && !response.headWritten()) {
      headersSet = true;
      head(response, cache());
      if (withMemory) {
        response.putHeader(ConnectionVerticle.MEMORY, memory());
      }
    }
  }
}

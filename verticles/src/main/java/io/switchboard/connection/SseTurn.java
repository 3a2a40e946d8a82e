package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.chat.StreamSink;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;

/**
 * One streaming answer written to a client as server-sent events: each upstream chunk as the upstream wrote it
 * ({@code data: <chunk>}), then {@code data: [DONE]}. Headers go out with the first chunk, so a failure before any
 * reaches the client as a plain HTTP error; a failure after it ends the stream with an explicit error event,
 * never as a silent success.
 */
final class SseTurn extends StreamSink {
  private static final Buffer DONE = Buffer.buffer("data: [DONE]\n\n");

  private final HttpServerResponse response;
  private final FlowGate gate;
  private final boolean includeUsage;
  private final boolean withMemory;

  /** @param withMemory the turn names a conversation: the memory header says whether it was used */
  SseTurn(HttpServerResponse response, FlowGate gate, boolean includeUsage, boolean withMemory) {
    this.response = response;
    this.gate = gate;
    this.includeUsage = includeUsage;
    this.withMemory = withMemory;
  }

  @Override
  public boolean started() {
    return response.headWritten();
  }

  @Override
  protected void writeChunk(StreamChunk chunk) {
    if (response.closed() || chunk.has(StreamChunk.USAGE_ONLY) && !includeUsage) {
      return; // the gateway always asks for usage; the client sees it only when it asked too
    }
    if (!response.headWritten() && chunk.deployment() != null) {
      response.putHeader("x-switchboard-deployment", chunk.deployment());
    }
    startIfNeeded();
    response.write(chunk.data()); // framed once, by the inference proxy
    gate.wrote();
  }

  @Override
  protected void writeEnd(ChatResult result) {
    if (!response.closed()) {
      startIfNeeded();
      response.end(DONE.copy());
    }
  }

  /** An error after the stream began: an error event in OpenAI's error shape, then the end. No [DONE]. */
  @Override
  public void error(ApiError error) {
    if (!response.closed()) {
      startIfNeeded();
      response.end("data: " + error.toJson().encode() + "\n\n");
    }
  }

  private void startIfNeeded() {
    if (!response.headWritten()) {
      response.setChunked(true)
        .putHeader("content-type", "text/event-stream; charset=utf-8")
        .putHeader("cache-control", "no-cache")
        .putHeader("x-accel-buffering", "no")
        .putHeader(ConnectionVerticle.CACHE, cache());
      if (withMemory) {
        response.putHeader(ConnectionVerticle.MEMORY, memory());
      }
    }
  }
}

package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.json.JsonText;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;

/**
 * One streaming answer being written to a client as server-sent events in OpenAI's chunk format. Headers
 * go out with the first chunk, so a failure before any text still reaches the client as a plain HTTP error;
 * a failure after it ends the stream with an explicit error event, never as a silent success.
 */
final class SseTurn implements StreamSink {
  private final HttpServerResponse response;
  private final FlowGate gate;
  private final String prefix;
  private final boolean includeUsage;
  private final StringBuilder answer;
  private final ChunkSequencer sequencer = new ChunkSequencer(delta -> write(delta, !started()));
  private ChatResult pendingResult;
  private Runnable pendingDone;

  SseTurn(HttpServerResponse response, FlowGate gate, String requestId, String model, boolean includeUsage,
          boolean keepAnswer) {
    this.response = response;
    this.gate = gate;
    this.prefix = OpenAiJson.chunkPrefix(requestId, model);
    this.includeUsage = includeUsage;
    this.answer = keepAnswer ? new StringBuilder() : null;
  }

  @Override
  public boolean started() {
    return response.headWritten();
  }

  @Override
  public String answer() {
    return answer == null ? null : answer.toString();
  }

  @Override
  public void chunk(StreamChunk chunk) {
    sequencer.accept(chunk);
    if (pendingResult != null && sequencer.delivered() >= pendingResult.chunks()) {
      finish(pendingResult, pendingDone);
    }
  }

  private void write(String delta, boolean first) {
    if (answer != null) {
      answer.append(delta);
    }
    StringBuilder event = new StringBuilder(prefix.length() + delta.length() + 96).append(prefix);
    event.append(first ? "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":" : "{\"index\":0,\"delta\":{\"content\":");
    JsonText.appendQuoted(event, delta);
    event.append("},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    write(event.toString());
  }

  /**
   * Ends the stream once every chunk the result counts has been written, then runs {@code done}.
   * Returns false when chunks are still on their way (the end then comes with the last of them).
   */
  @Override
  public boolean finish(ChatResult result, Runnable done) {
    if (sequencer.delivered() < result.chunks()) {
      pendingResult = result;
      pendingDone = done;
      return false;
    }
    pendingResult = null;
    StringBuilder end = new StringBuilder(prefix)
      .append("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":");
    JsonText.appendQuoted(end, result.finishReason());
    end.append("}]}\n\n");
    if (includeUsage) {
      end.append(prefix).append("],\"usage\":").append(OpenAiJson.usage(result).encode()).append("}\n\n");
    }
    end.append("data: [DONE]\n\n");
    if (!response.closed()) {
      startIfNeeded();
      response.end(end.toString());
    }
    done.run();
    return true;
  }

  /** Chunks the result counted never came (their node died on the way): say so rather than end quietly. */
  @Override
  public boolean giveUpWaiting() {
    if (pendingResult == null) {
      return false;
    }
    pendingResult = null;
    error(ApiError.upstreamFailed("Part of the answer was lost between gateway nodes."));
    return true;
  }

  /** An error after the stream began: an error event in OpenAI's error shape, then the end. No [DONE]. */
  @Override
  public void error(ApiError error) {
    if (!response.closed()) {
      startIfNeeded();
      response.end("data: " + error.toJson().encode() + "\n\n");
    }
  }

  private void write(String event) {
    if (response.closed()) {
      return;
    }
    startIfNeeded();
    response.write(Buffer.buffer(event));
    gate.wrote();
  }

  private void startIfNeeded() {
    if (!response.headWritten()) {
      response.setChunked(true)
        .putHeader("content-type", "text/event-stream; charset=utf-8")
        .putHeader("cache-control", "no-cache")
        .putHeader("x-accel-buffering", "no");
    }
  }
}

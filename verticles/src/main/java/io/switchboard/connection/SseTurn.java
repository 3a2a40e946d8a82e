package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.json.JsonText;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;

/**
 * One streaming answer written to a client as server-sent events in OpenAI's chunk format. Headers go out
 * with the first chunk, so a failure before any text still reaches the client as a plain HTTP error; a
 * failure after it ends the stream with an explicit error event, never as a silent success.
 */
final class SseTurn extends StreamSink {
  private final HttpServerResponse response;
  private final FlowGate gate;
  private final String prefix;
  private final boolean includeUsage;

  /** The answer is kept: memory stores it, and a stream carried over from a lost node continues from it. */
  SseTurn(HttpServerResponse response, FlowGate gate, String requestId, String model, boolean includeUsage) {
    super(true);
    this.response = response;
    this.gate = gate;
    this.prefix = OpenAiJson.chunkPrefix(requestId, model);
    this.includeUsage = includeUsage;
  }

  @Override
  boolean started() {
    return response.headWritten();
  }

  @Override
  protected void writeDelta(String text, boolean first) {
    if (!response.closed()) {
      startIfNeeded();
      response.write(Buffer.buffer(OpenAiJson.deltaEvent(prefix, text, first)));
      gate.wrote();
    }
  }

  @Override
  protected void writeEnd(ChatResult result) {
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
  }

  /** An error after the stream began: an error event in OpenAI's error shape, then the end. No [DONE]. */
  @Override
  void error(ApiError error) {
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
        .putHeader("x-accel-buffering", "no");
    }
  }
}

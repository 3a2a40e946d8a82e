package io.switchboard.inference;

import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * Relays a provider's server-sent event stream line by line, whatever the protocol: backpressure from the
 * client pauses the reads, a protocol's own error fails the call, and a stream that ends without its
 * protocol's proper end fails too — never a silent, truncated success.
 */
final class StreamRelay {
  /** One protocol's reading of its stream. */
  interface Reader {
    /**
     * One record: a line without its newline, or for a binary protocol the bytes as they came; throws an
     * {@link UpstreamFailure} for an error in the stream.
     */
    void line(Buffer line);

    int chunks();

    /** The usage the stream reported, in OpenAI's shape (null when it sent none). */
    io.vertx.core.json.JsonObject usage();

    /** The OpenAI finish reason, once known. */
    String finishReason();

    /** The assistant message assembled from the deltas so far, in OpenAI's shape. */
    io.vertx.core.json.JsonObject message();

    /** Whether the stream reached its protocol's proper end. */
    boolean complete();
  }

  private StreamRelay() {
  }

  static Future<ChatResult> relay(ChatRequest request, String deployment, ReadStream<Buffer> lines,
                                  CancelSignal control, Reader reader) {
    Promise<ChatResult> done = Promise.promise();
    // a client that reads slowly stops our reads, and TCP pushes back on the upstream
    control.onFlow(pause -> {
      if (pause) {
        lines.pause();
      } else {
        lines.resume();
      }
    });
    lines.handler(line -> {
      if (!done.future().isComplete()) {
        try {
          reader.line(line);
        } catch (UpstreamFailure e) {
          done.tryFail(e);
        }
      }
    });
    lines.exceptionHandler(e -> done.tryFail(HttpFailures.malformed("a stream that broke off after "
      + reader.chunks() + " chunks")));
    lines.endHandler(v -> {
      if (reader.complete()) {
        done.tryComplete(new ChatResult(request.requestId(), null, reader.message(), reader.finishReason(),
          reader.usage(), reader.chunks(), deployment, 0));
      } else {
        done.tryFail(HttpFailures.malformed("a stream that ended early after " + reader.chunks() + " chunks"));
      }
    });
    return done.future();
  }
}

package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/**
 * Backpressure for one turn's stream, published to every inference proxy: the client reads too slowly, so
 * stop reading the upstream ({@code paused}) until it catches up. Sent on transitions only, never per chunk.
 */
public record StreamFlow(String requestId, boolean paused) {
  public static final RecordCodec<StreamFlow> CODEC =
    new RecordCodec<>(StreamFlow.class, StreamFlow::write, StreamFlow::read);

  public StreamFlow {
    Objects.requireNonNull(requestId, "requestId");
  }

  private static void write(Buffer buffer, StreamFlow f) {
    Wire.writeString(buffer, f.requestId);
    buffer.appendByte((byte) (f.paused ? 1 : 0));
  }

  private static StreamFlow read(Wire.Reader in) {
    return new StreamFlow(in.readString(), in.readBoolean());
  }
}

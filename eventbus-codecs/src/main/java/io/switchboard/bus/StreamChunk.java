package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/** One piece of generated text, sent to the requesting node's inbox; seq counts from 0 per request. */
public record StreamChunk(String requestId, int seq, String delta) {
  public static final RecordCodec<StreamChunk> CODEC =
    new RecordCodec<>(StreamChunk.class, StreamChunk::write, StreamChunk::read);

  public StreamChunk {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(delta, "delta");
    if (seq < 0) {
      throw new IllegalArgumentException("seq must not be negative");
    }
  }

  private static void write(Buffer buffer, StreamChunk c) {
    Wire.writeString(buffer, c.requestId);
    buffer.appendInt(c.seq);
    Wire.writeString(buffer, c.delta);
  }

  private static StreamChunk read(Wire.Reader in) {
    return new StreamChunk(in.readString(), in.readInt(), in.readString());
  }
}

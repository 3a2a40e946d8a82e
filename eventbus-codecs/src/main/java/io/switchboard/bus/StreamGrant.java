package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/** A hedged attempt asking to be the one that streams; the reply body is {@code true} or {@code false}. */
public record StreamGrant(String requestId, int attempt) {
  public static final RecordCodec<StreamGrant> CODEC =
    new RecordCodec<>(StreamGrant.class, StreamGrant::write, StreamGrant::read);

  public StreamGrant {
    Objects.requireNonNull(requestId, "requestId");
  }

  private static void write(Buffer buffer, StreamGrant g) {
    Wire.writeString(buffer, g.requestId);
    buffer.appendInt(g.attempt);
  }

  private static StreamGrant read(Wire.Reader in) {
    return new StreamGrant(in.readString(), in.readInt());
  }
}

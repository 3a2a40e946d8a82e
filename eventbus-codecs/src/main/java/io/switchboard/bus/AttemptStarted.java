package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/** An inference proxy took an attempt, on this cluster node: routing can tell when that node dies. */
public record AttemptStarted(String requestId, int attempt, String clusterNodeId) {
  public static final RecordCodec<AttemptStarted> CODEC =
    new RecordCodec<>(AttemptStarted.class, AttemptStarted::write, AttemptStarted::read);

  public AttemptStarted {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(clusterNodeId, "clusterNodeId");
  }

  private static void write(Buffer buffer, AttemptStarted a) {
    Wire.writeString(buffer, a.requestId);
    buffer.appendInt(a.attempt);
    Wire.writeString(buffer, a.clusterNodeId);
  }

  private static AttemptStarted read(Wire.Reader in) {
    return new AttemptStarted(in.readString(), in.readInt(), in.readString());
  }
}

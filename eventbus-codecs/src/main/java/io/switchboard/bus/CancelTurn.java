package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/**
 * Stop attempts of a turn wherever they run (published to every router and inference proxy): the client
 * left, the turn timed out, or a hedge lost. {@code attempt} -1 means the whole turn.
 */
public record CancelTurn(String requestId, int attempt, String reason) {
  public static final RecordCodec<CancelTurn> CODEC =
    new RecordCodec<>(CancelTurn.class, CancelTurn::write, CancelTurn::read);
  public static final int ALL = -1;

  public CancelTurn {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(reason, "reason");
  }

  public boolean covers(int someAttempt) {
    return attempt == ALL || attempt == someAttempt;
  }

  private static void write(Buffer buffer, CancelTurn c) {
    Wire.writeString(buffer, c.requestId);
    buffer.appendInt(c.attempt);
    Wire.writeString(buffer, c.reason);
  }

  private static CancelTurn read(Wire.Reader in) {
    return new CancelTurn(in.readString(), in.readInt(), in.readString());
  }
}

package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/**
 * What a client has of a stream, asked of the stream's inbox by routing when the node streaming it died: the
 * query carries only the request id; the connection answers with what reached the client, so routing can
 * carry the stream on from there.
 *
 * @param delivered chunks that reached the client, in order
 * @param text      the content text of those chunks
 * @param ended     the stream already ended (nothing to carry on)
 * @param continuable false once something other than text reached the client (a tool call): another model
 *                    cannot continue that honestly
 */
public record StreamProgress(String requestId, int delivered, String text, boolean ended, boolean continuable) {
  public static final RecordCodec<StreamProgress> CODEC =
    new RecordCodec<>(StreamProgress.class, StreamProgress::write, StreamProgress::read);

  public StreamProgress {
    Objects.requireNonNull(requestId, "requestId");
    text = text == null ? "" : text;
  }

  public static StreamProgress query(String requestId) {
    return new StreamProgress(requestId, 0, "", false, false);
  }

  private static void write(Buffer buffer, StreamProgress p) {
    Wire.writeString(buffer, p.requestId);
    buffer.appendInt(p.delivered);
    Wire.writeString(buffer, p.text);
    buffer.appendByte((byte) ((p.ended ? 1 : 0) | (p.continuable ? 2 : 0)));
  }

  private static StreamProgress read(Wire.Reader in) {
    String requestId = in.readString();
    int delivered = in.readInt();
    String text = in.readString();
    byte bits = in.readByte();
    return new StreamProgress(requestId, delivered, text, (bits & 1) != 0, (bits & 2) != 0);
  }
}

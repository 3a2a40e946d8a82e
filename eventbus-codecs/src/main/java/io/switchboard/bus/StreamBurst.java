package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The chunks of one turn's stream that one upstream read brought (its end among them, last, when the read ended the
 * stream), carried to the inbox as one message: a burst costs one event-bus hop, not one per chunk. In order, one
 * turn's only.
 */
public record StreamBurst(List<StreamChunk> chunks) {
  public static final RecordCodec<StreamBurst> CODEC =
    new RecordCodec<>(StreamBurst.class, StreamBurst::write, StreamBurst::read);

  public StreamBurst {
    Objects.requireNonNull(chunks, "chunks");
    if (chunks.isEmpty()) {
      throw new IllegalArgumentException("a burst has at least one chunk");
    }
  }

  /** The turn the chunks belong to. */
  public String requestId() {
    return chunks.get(0).requestId();
  }

  private static void write(Buffer buffer, StreamBurst burst) {
    buffer.appendInt(burst.chunks.size());
    for (StreamChunk chunk : burst.chunks) {
      StreamChunk.write(buffer, chunk);
    }
  }

  private static StreamBurst read(Wire.Reader in) {
    int count = in.readInt();
    if (count <= 0 || count > 1_000_000) {
      throw new IllegalArgumentException("a burst of " + count + " chunks");
    }
    List<StreamChunk> chunks = new ArrayList<>(Math.min(count, 1024));
    for (int i = 0; i < count; i++) {
      chunks.add(StreamChunk.read(in));
    }
    return new StreamBurst(chunks);
  }
}

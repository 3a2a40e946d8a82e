package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Codec for an immutable message record: locally the same instance is handed on (no copy),
 * on the wire it is the record's compact {@link Wire} form, prefixed with its length.
 */
public final class RecordCodec<T> implements MessageCodec<T, T> {
  private final Class<T> type;
  private final BiConsumer<Buffer, T> writer;
  private final Function<Wire.Reader, T> reader;

  public RecordCodec(Class<T> type, BiConsumer<Buffer, T> writer, Function<Wire.Reader, T> reader) {
    this.type = type;
    this.writer = writer;
    this.reader = reader;
  }

  public Class<T> type() {
    return type;
  }

  @Override
  public void encodeToWire(Buffer buffer, T record) {
    int lengthAt = buffer.length();
    buffer.appendInt(0);
    writer.accept(buffer, record);
    buffer.setInt(lengthAt, buffer.length() - lengthAt - 4);
  }

  @Override
  public T decodeFromWire(int pos, Buffer buffer) {
    return reader.apply(new Wire.Reader(buffer, pos + 4));
  }

  @Override
  public T transform(T record) {
    return record;
  }

  @Override
  public String name() {
    return "switchboard." + type.getSimpleName();
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}

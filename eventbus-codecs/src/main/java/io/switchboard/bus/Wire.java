package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/** Compact, length-prefixed binary form of the message records; read in the order written. */
public final class Wire {
  private Wire() {
  }

  public static void writeString(Buffer buffer, String value) {
    if (value == null) {
      buffer.appendInt(-1);
      return;
    }
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    buffer.appendInt(bytes.length).appendBytes(bytes);
  }

  /** A JSON object as its encoded text; null stays null. */
  public static void writeJson(Buffer buffer, io.vertx.core.json.JsonObject value) {
    writeString(buffer, value == null ? null : value.encode());
  }

  /** Bytes as they are (a relayed chunk); null stays null. */
  public static void writeBuffer(Buffer buffer, Buffer value) {
    if (value == null) {
      buffer.appendInt(-1);
      return;
    }
    buffer.appendInt(value.length()).appendBuffer(value);
  }

  public static <T> void writeList(Buffer buffer, List<T> values, BiConsumer<Buffer, T> writeOne) {
    buffer.appendInt(values.size());
    for (T value : values) {
      writeOne.accept(buffer, value);
    }
  }

  /** A cursor over a buffer, starting at the position the codec was handed. */
  public static final class Reader {
    private final Buffer buffer;
    private int pos;

    public Reader(Buffer buffer, int pos) {
      this.buffer = buffer;
      this.pos = pos;
    }

    public int readInt() {
      int value = buffer.getInt(pos);
      pos += 4;
      return value;
    }

    public long readLong() {
      long value = buffer.getLong(pos);
      pos += 8;
      return value;
    }

    public byte readByte() {
      return buffer.getByte(pos++);
    }

    public boolean readBoolean() {
      return buffer.getByte(pos++) != 0;
    }

    public String readString() {
      int length = readInt();
      if (length < 0) {
        return null;
      }
      String value = buffer.getString(pos, pos + length, "UTF-8");
      pos += length;
      return value;
    }

    public io.vertx.core.json.JsonObject readJson() {
      String text = readString();
      return text == null ? null : new io.vertx.core.json.JsonObject(text);
    }

    public Buffer readBuffer() {
      int length = readInt();
      if (length < 0) {
        return null;
      }
      Buffer value = buffer.getBuffer(pos, pos + length);
      pos += length;
      return value;
    }

    public <T> List<T> readList(Function<Reader, T> readOne) {
      int size = readInt();
      List<T> values = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        values.add(readOne.apply(this));
      }
      return List.copyOf(values);
    }
  }
}

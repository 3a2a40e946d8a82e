package io.switchboard.inference;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.switchboard.json.JsonText;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Rewrites a few string values of a JSON document in its bytes, found while a streaming parser walks it, and
 * copies everything else as it was: the upstream's answer reaches the client byte for byte but for those values.
 */
final class JsonSplice {
  private final byte[] bytes;
  private final int start;
  private int[] spans = new int[4];
  private byte[][] replacements = new byte[2][];
  private int count;

  /** @param start where the parser's input begins in {@code bytes} (its offsets count from there) */
  JsonSplice(byte[] bytes, int start) {
    this.bytes = bytes;
    this.start = start;
  }

  /** A JSON string literal's bytes, quotes included. */
  static byte[] quoted(String value) {
    return JsonText.quote(value).getBytes(StandardCharsets.UTF_8);
  }

  /** Replaces the current value (the parser stands on it) when it is a string; anything else is left alone. */
  void replaceValue(JsonParser json, JsonToken value, byte[] replacement) throws IOException {
    if (value != JsonToken.VALUE_STRING) {
      json.skipChildren();
      return;
    }
    int from = start + (int) json.currentTokenLocation().getByteOffset();
    json.getText(); // reads the string to its closing quote
    int to = start + (int) json.currentLocation().getByteOffset();
    if (count == replacements.length) {
      spans = java.util.Arrays.copyOf(spans, count * 4);
      replacements = java.util.Arrays.copyOf(replacements, count * 2);
    }
    spans[2 * count] = from;
    spans[2 * count + 1] = to;
    replacements[count++] = replacement;
  }

  /** The document with the replacements made (they were found in order, so they are in order). */
  Buffer result() {
    int length = bytes.length - start;
    for (int i = 0; i < count; i++) {
      length += replacements[i].length - (spans[2 * i + 1] - spans[2 * i]);
    }
    byte[] out = new byte[length];
    int from = start;
    int at = 0;
    for (int i = 0; i < count; i++) {
      int gap = spans[2 * i] - from;
      System.arraycopy(bytes, from, out, at, gap);
      at += gap;
      System.arraycopy(replacements[i], 0, out, at, replacements[i].length);
      at += replacements[i].length;
      from = spans[2 * i + 1];
    }
    System.arraycopy(bytes, from, out, at, bytes.length - from);
    return Buffer.buffer(out);
  }

  /** The object the parser stands on (at its START_OBJECT), decoded from its own bytes; the parser moves past it. */
  static JsonObject decodeObject(JsonParser json, byte[] bytes, int start) throws IOException {
    int from = start + (int) json.currentTokenLocation().getByteOffset();
    json.skipChildren();
    int to = start + (int) json.currentLocation().getByteOffset();
    return new JsonObject(Buffer.buffer(java.util.Arrays.copyOfRange(bytes, from, to)));
  }
}

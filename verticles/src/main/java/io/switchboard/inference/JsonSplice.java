package io.switchboard.inference;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.UTF8StreamJsonParser;
import io.switchboard.bus.StreamChunk;
import io.switchboard.json.JsonText;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Rewrites a few string values of a JSON document in its bytes, found while a streaming parser walks it, and
 * copies everything else as it was: the upstream's answer reaches the client byte for byte but for those values.
 */
final class JsonSplice {
  private byte[] bytes;
  private int start;
  private int end;
  private int[] spans = new int[4];
  private byte[][] replacements = new byte[2][];
  private int count;

  /** @param start where the parser's input begins in {@code bytes} (its offsets count from there) */
  JsonSplice(byte[] bytes, int start) {
    reset(bytes, start, bytes.length);
  }

  /** Reused for the next document: {@code bytes[start, end)}. */
  JsonSplice reset(byte[] bytes, int start, int end) {
    this.bytes = bytes;
    this.start = start;
    this.end = end;
    this.count = 0;
    return this;
  }

  /** Where the document begins in its bytes. */
  int start() {
    return start;
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
    int from = start + tokenOffset(json);
    int to = closingQuote(from) + 1; // found in the bytes: the parser skips the string itself, making no String of it
    if (count == replacements.length) {
      spans = java.util.Arrays.copyOf(spans, count * 4);
      replacements = java.util.Arrays.copyOf(replacements, count * 2);
    }
    spans[2 * count] = from;
    spans[2 * count + 1] = to;
    replacements[count++] = replacement;
  }

  /**
   * Where the parser's current value token starts, relative to its input, without making a location object for it:
   * Jackson's byte parser counts its token offset one past the token's first byte (its own currentTokenLocation
   * subtracts that one).
   */
  static int tokenOffset(JsonParser json) {
    return json instanceof UTF8StreamJsonParser bytes ? (int) bytes.getTokenCharacterOffset() - 1
      : (int) json.currentTokenLocation().getByteOffset();
  }

  /** Where the string literal opening at {@code quote} ends (its closing quote), escapes honoured. */
  int closingQuote(int quote) {
    for (int i = quote + 1; i < end; i++) {
      byte b = bytes[i];
      if (b == '\\') {
        i++;
      } else if (b == '"') {
        return i;
      }
    }
    throw new IllegalStateException("an unterminated string");
  }

  /** The document with the replacements made (they were found in order, so they are in order). */
  Buffer result() {
    return write(Buffer.buffer(length()));
  }

  /** The document as one server-sent event, {@code data: <json>\n\n}, written in one copy. */
  Buffer event() {
    return write(Buffer.buffer(length() + StreamChunk.EVENT_START.length + StreamChunk.EVENT_END.length).appendBytes(StreamChunk.EVENT_START))
      .appendBytes(StreamChunk.EVENT_END);
  }

  /**
   * The document's bytes before {@code limit} with the replacements made, framed as the start of a server-sent
   * event; null when a replacement lies at or after {@code limit}.
   */
  byte[] eventHead(int limit) {
    int length = StreamChunk.EVENT_START.length + limit - start;
    for (int i = 0; i < count; i++) {
      if (spans[2 * i + 1] > limit) {
        return null;
      }
      length += replacements[i].length - (spans[2 * i + 1] - spans[2 * i]);
    }
    byte[] head = new byte[length];
    System.arraycopy(StreamChunk.EVENT_START, 0, head, 0, StreamChunk.EVENT_START.length);
    int at = StreamChunk.EVENT_START.length;
    int from = start;
    for (int i = 0; i < count; i++) {
      int plain = spans[2 * i] - from;
      System.arraycopy(bytes, from, head, at, plain);
      at += plain;
      System.arraycopy(replacements[i], 0, head, at, replacements[i].length);
      at += replacements[i].length;
      from = spans[2 * i + 1];
    }
    System.arraycopy(bytes, from, head, at, limit - from);
    return head;
  }

  private int length() {
    int length = end - start;
    for (int i = 0; i < count; i++) {
      length += replacements[i].length - (spans[2 * i + 1] - spans[2 * i]);
    }
    return length;
  }

  private Buffer write(Buffer out) {
    int from = start;
    for (int i = 0; i < count; i++) {
      out.appendBytes(bytes, from, spans[2 * i] - from).appendBytes(replacements[i]);
      from = spans[2 * i + 1];
    }
    return out.appendBytes(bytes, from, end - from);
  }
}

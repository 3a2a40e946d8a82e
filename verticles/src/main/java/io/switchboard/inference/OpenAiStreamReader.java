package io.switchboard.inference;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.switchboard.bus.StreamChunk;
import io.netty.buffer.ByteBuf;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.json.JsonObject;

import java.io.IOException;

/**
 * Reads an OpenAI chat completion stream line by line (server-sent events) and relays each chunk as the upstream
 * wrote it, with only the gateway's id and model written in. While it walks a chunk with Jackson's streaming parser
 * it notes what the gateway needs (content text, tool-call presence, finish reason, usage) and assembles the
 * assistant message for memory; it never rebuilds a chunk. This is the per-chunk work of the relay (see perf/jmh).
 *
 * <p>Most chunks of a stream are the same bytes but for their text: once a chunk that says nothing but text has been
 * walked, its bytes before and after the text are kept as the stream's {@link Shape}, and a later line that has
 * exactly those bytes around a well-formed JSON string is relayed without walking it again (the text is the only
 * thing in it that can differ). Anything else (a tool call, a finish reason, usage, another field) is walked.
 */
public final class OpenAiStreamReader implements StreamRelay.Reader {
  private static final JsonFactory JSON = new JsonFactory();

  private final Upstream.Chunks out;
  private final byte[] id;
  private final byte[] model;
  private final MessageAssembler message = new MessageAssembler();
  private final JsonSplice splice = new JsonSplice(new byte[0], 0);
  private final ChunkFacts facts = new ChunkFacts();
  private int chunks;
  /** The stream's shape once learnt; learning stops after {@link #SHAPE_TRIES} chunks that did not fit one. */
  private Shape shape;
  private int shapeMisses;
  private static final int SHAPE_TRIES = 16;
  private JsonObject usage;
  private String finishReason;
  private boolean sawDone;

  /** @param id the completion id every chunk gets; @param model the public model name every chunk gets */
  public OpenAiStreamReader(String id, String model, Upstream.Chunks out) {
    this.out = out;
    this.id = JsonSplice.quoted(id);
    this.model = JsonSplice.quoted(model);
  }

  /** One line of the stream, without its newline. Fails with an UpstreamFailure on a malformed or error chunk. */
  @Override
  public void line(Buffer line) {
    int length = line.length();
    if (length > 0 && line.getByte(length - 1) == '\r') {
      length--;
    }
    if (length < 5 || line.getByte(0) != 'd' || line.getByte(1) != 'a' || line.getByte(2) != 't'
      || line.getByte(3) != 'a' || line.getByte(4) != ':') {
      return; // blank separators, comments (keep-alives) and other SSE fields
    }
    // parsed where the bytes already are: no copy and no String of the whole line
    ByteBuf buf = ((BufferInternal) line).getByteBuf();
    byte[] bytes;
    int base;
    if (buf.hasArray()) {
      bytes = buf.array();
      base = buf.arrayOffset() + buf.readerIndex();
    } else {
      bytes = line.getBytes(0, length);
      base = 0;
    }
    int start = base + 5;
    int end = base + length;
    while (start < end && bytes[start] == ' ') {
      start++;
    }
    if (end - start == 6 && bytes[start] == '[' && bytes[start + 1] == 'D' && bytes[start + 2] == 'O'
      && bytes[start + 3] == 'N' && bytes[start + 4] == 'E' && bytes[start + 5] == ']') {
      sawDone = true;
      return;
    }
    if (shape != null && shape.relay(bytes, start, end)) {
      return;
    }
    try (JsonParser json = JSON.createParser(bytes, start, end - start)) {
      accept(json, bytes, start, end);
    } catch (IOException | IllegalStateException e) {
      throw HttpFailures.malformed("a malformed stream chunk");
    }
  }

  private void accept(JsonParser json, byte[] bytes, int start, int end) throws IOException {
    if (json.nextToken() != JsonToken.START_OBJECT) {
      throw new IllegalStateException("a chunk is a JSON object");
    }
    splice.reset(bytes, start, end);
    facts.text = null;
    facts.flags = 0;
    facts.textQuote = -1;
    facts.choices = 0;
    facts.finished = false;
    boolean sawChoices = false;
    boolean sawUsage = false;
    while (json.nextToken() == JsonToken.FIELD_NAME) {
      String field = json.currentName();
      JsonToken value = json.nextToken();
      switch (field) {
        case "id" -> splice.replaceValue(json, value, id);
        case "model" -> splice.replaceValue(json, value, model);
        case "error" -> {
          if (value != JsonToken.VALUE_NULL) {
            throw HttpFailures.malformed("an error mid-stream");
          }
        }
        case "usage" -> {
          if (value == JsonToken.START_OBJECT) {
            usage = io.switchboard.json.JsonTree.object(json);
            sawUsage = true;
          }
        }
        case "choices" -> {
          if (value == JsonToken.START_ARRAY) {
            sawChoices = readChoices(json, facts);
          } else {
            json.skipChildren();
          }
        }
        default -> json.skipChildren();
      }
    }
    int flags = facts.flags;
    if (!sawChoices && sawUsage) {
      flags |= StreamChunk.USAGE_ONLY;
    }
    chunks++;
    out.chunk(splice.event(), facts.text == null ? "" : facts.text, flags);
    if (shapeMisses < SHAPE_TRIES) {
      learnShape(flags, sawUsage, bytes, end);
    }
  }

  /** Keeps this chunk's bytes around its text as the stream's shape, when text is all it says. */
  private void learnShape(int flags, boolean sawUsage, byte[] bytes, int end) {
    shapeMisses++;
    if (flags != 0 || sawUsage || facts.finished || facts.choices != 1 || facts.text == null || facts.textQuote < 0) {
      return;
    }
    int close = splice.closingQuote(facts.textQuote);
    byte[] head = splice.eventHead(facts.textQuote + 1);
    if (head == null) {
      return; // the id or the model after the text: not a shape kept
    }
    shape = new Shape(java.util.Arrays.copyOfRange(bytes, splice.start(), facts.textQuote + 1), head,
      java.util.Arrays.copyOfRange(bytes, close, end));
  }

  /**
   * The bytes of a text-only chunk before its text (up to the string's opening quote) and after it (from the closing
   * quote), as the upstream wrote them, and the head the client gets instead (id and model replaced, framed).
   */
  private final class Shape {
    private final byte[] before;
    private final byte[] head;
    private final byte[] after;
    private final byte[] tail;

    Shape(byte[] before, byte[] head, byte[] after) {
      this.before = before;
      this.head = head;
      this.after = after;
      this.tail = java.util.Arrays.copyOf(after, after.length + StreamChunk.EVENT_END.length);
      System.arraycopy(StreamChunk.EVENT_END, 0, tail, after.length, StreamChunk.EVENT_END.length);
    }

    /** Relays {@code bytes[start, end)} when it has this shape; false (nothing done) when it does not. */
    boolean relay(byte[] bytes, int start, int end) {
      int from = start + before.length;
      int to = end - after.length;
      if (to < from || !java.util.Arrays.equals(bytes, start, from, before, 0, before.length)
        || !java.util.Arrays.equals(bytes, to, end, after, 0, after.length)) {
        return false;
      }
      boolean escaped = false;
      for (int i = from; i < to; i++) {
        int b = bytes[i] & 0xff;
        if (b == '\\') {
          escaped = true;
          if (++i == to) {
            return false; // the closing quote is escaped: the string does not end where the shape's does
          }
        } else if (b == '"' || b < 0x20) {
          return false; // the text ends early, or holds what JSON forbids: walked, and refused, the long way
        }
      }
      String text = escaped ? unescaped(bytes, from - 1, to + 1) : new String(bytes, from, to - from,
        java.nio.charset.StandardCharsets.UTF_8);
      if (text == null) {
        return false;
      }
      message.content(text);
      chunks++;
      shapeMisses = 0;
      out.chunk(Buffer.buffer(head.length + to - from + tail.length).appendBytes(head).appendBytes(bytes, from, to - from)
        .appendBytes(tail), text, 0);
      return true;
    }

    /** The JSON string literal {@code bytes[from, to)} decoded; null when it is not one. */
    private String unescaped(byte[] bytes, int from, int to) {
      try (JsonParser json = JSON.createParser(bytes, from, to - from)) {
        return json.nextToken() == JsonToken.VALUE_STRING ? json.getText() : null;
      } catch (IOException e) {
        return null;
      }
    }
  }

  /** What one chunk says (one instance, reused line after line). */
  private static final class ChunkFacts {
    String text;
    int flags;
    /** Where the content string starts (its opening quote) in the line's bytes, when it was read; else -1. */
    int textQuote;
    int choices;
    boolean finished;
  }

  /** Walks the choices; true when there was at least one. */
  private boolean readChoices(JsonParser json, ChunkFacts facts) throws IOException {
    boolean any = false;
    while (json.nextToken() == JsonToken.START_OBJECT) {
      any = true;
      facts.choices++;
      int index = 0;
      while (json.nextToken() == JsonToken.FIELD_NAME) {
        String field = json.currentName();
        JsonToken inner = json.nextToken();
        switch (field) {
          case "index" -> index = inner == JsonToken.VALUE_NUMBER_INT ? json.getIntValue() : index;
          case "finish_reason" -> {
            if (inner == JsonToken.VALUE_STRING && index == 0) {
              finishReason = json.getText();
            }
            if (inner != JsonToken.VALUE_NULL) {
              facts.finished = true;
            }
          }
          case "delta" -> {
            if (inner != JsonToken.START_OBJECT) {
              json.skipChildren();
            } else if (index != 0) {
              facts.flags |= StreamChunk.CHOICES;
              json.skipChildren();
            } else {
              readDelta(json, facts);
            }
          }
          case "logprobs" -> {
            if (inner != JsonToken.VALUE_NULL) {
              facts.flags |= StreamChunk.OTHER;
            }
            json.skipChildren();
          }
          default -> json.skipChildren();
        }
      }
      if (index != 0) {
        facts.flags |= StreamChunk.CHOICES;
      }
    }
    return any;
  }

  private void readDelta(JsonParser json, ChunkFacts facts) throws IOException {
    while (json.nextToken() == JsonToken.FIELD_NAME) {
      String field = json.currentName();
      JsonToken value = json.nextToken();
      if (value == JsonToken.VALUE_NULL) {
        continue;
      }
      switch (field) {
        case "role" -> json.skipChildren();
        case "content" -> {
          if (value == JsonToken.VALUE_STRING) {
            if (shapeMisses < SHAPE_TRIES) {
              facts.textQuote = splice.start() + JsonSplice.tokenOffset(json);
            }
            facts.text = json.getText();
            message.content(facts.text);
          } else {
            facts.flags |= StreamChunk.OTHER;
            json.skipChildren();
          }
        }
        case "tool_calls" -> {
          facts.flags |= StreamChunk.TOOL_CALLS;
          message.toolCalls(json, value);
        }
        case "function_call" -> {
          facts.flags |= StreamChunk.TOOL_CALLS;
          message.functionCall(json, value);
        }
        default -> {
          facts.flags |= StreamChunk.OTHER;
          message.other(field, json, value);
        }
      }
    }
  }

  /** Whether the stream ended properly ([DONE] or a finish reason), rather than breaking off. */
  @Override
  public boolean complete() {
    return sawDone || finishReason != null;
  }

  @Override
  public int chunks() {
    return chunks;
  }

  @Override
  public JsonObject usage() {
    return usage;
  }

  @Override
  public String finishReason() {
    return finishReason;
  }

  @Override
  public JsonObject message() {
    return message.toJson();
  }
}

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
            usage = JsonSplice.decodeObject(json, bytes, start);
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
  }

  /** What one chunk says (one instance, reused line after line). */
  private static final class ChunkFacts {
    String text;
    int flags;
  }

  /** Walks the choices; true when there was at least one. */
  private boolean readChoices(JsonParser json, ChunkFacts facts) throws IOException {
    boolean any = false;
    while (json.nextToken() == JsonToken.START_OBJECT) {
      any = true;
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

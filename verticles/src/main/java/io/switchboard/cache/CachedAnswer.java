package io.switchboard.cache;

import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One whole answer as it was served, kept in the form it was served in: the {@code chat.completion} bytes of a
 * non-streamed answer, or the SSE chunks of a streamed one (each as the upstream wrote it, with its text and flags).
 * Served again, its bytes are the original's but for the completion id, which names the new request; the other
 * form is built from it when a hit asks for it (chunks from a completion: one delta with the whole message, the
 * finish, and the usage chunk; a completion from chunks: the assembled message, as the gateway writes it).
 *
 * @param originalId      the completion id written in the stored bytes ({@code chatcmpl-<request id>}), replaced on replay
 * @param completion      the completion's bytes (null for a streamed answer)
 * @param chunks          the stream's chunks, usage chunk included (null for a non-streamed answer)
 * @param message         the assistant message (what memory stores)
 * @param expiresAtMillis wall-clock end of its life, the same in both layers and on every node
 */
public record CachedAnswer(String originalId, byte[] completion, List<Chunk> chunks, JsonObject message,
                           String finishReason, JsonObject usage, String deployment, long expiresAtMillis) {
  private static final int MAGIC = 0x53424331; // "SBC1"
  /** Message fields a text-only channel loses nothing without (see {@link StreamChunk#OTHER}). */
  private static final Set<String> PLAIN = Set.of("role", "content");

  /** One stored stream chunk: its SSE event bytes, its text and its {@link StreamChunk} flags. */
  public record Chunk(byte[] data, String text, int flags) {
  }

  public CachedAnswer {
    if ((completion == null) == (chunks == null)) {
      throw new IllegalArgumentException("an answer is stored either whole or as chunks");
    }
    chunks = chunks == null ? null : List.copyOf(chunks);
  }

  /** A non-streamed answer: the completion as the client got it. */
  public static CachedAnswer whole(ChatResult result, long expiresAtMillis) {
    return new CachedAnswer(ChatResult.completionId(result.requestId()), result.completion().getBytes(), null, result.message(),
      result.finishReason(), result.usage(), result.deployment(), expiresAtMillis);
  }

  /** A streamed answer: its chunks as the client got them, and its end. */
  public static CachedAnswer streamed(List<StreamChunk> chunks, ChatResult end, JsonObject message,
                                      long expiresAtMillis) {
    List<Chunk> stored = new ArrayList<>(chunks.size());
    for (StreamChunk chunk : chunks) {
      stored.add(new Chunk(chunk.data().getBytes(), chunk.text(), chunk.flags()));
    }
    return new CachedAnswer(ChatResult.completionId(end.requestId()), null, stored, message, end.finishReason(), end.usage(),
      end.deployment(), expiresAtMillis);
  }

  /** About what the entry holds, in bytes: what the local layer is bounded by and what max_entry_bytes limits. */
  public int weight() {
    long size = 128 + originalId.length();
    if (completion != null) {
      size += completion.length * 2L; // the bytes, and the message read from them
    } else {
      for (Chunk chunk : chunks) {
        size += chunk.data().length + 2L * chunk.text().length() + 8;
      }
    }
    return (int) Math.min(Integer.MAX_VALUE, size);
  }

  public boolean expired(long nowMillis) {
    return nowMillis >= expiresAtMillis;
  }

  public boolean callsTools() {
    return message.getValue("tool_calls") instanceof JsonArray calls && !calls.isEmpty()
      || message.getValue("function_call") instanceof JsonObject;
  }

  /** The answer to a non-streamed request: the stored completion, or none (the gateway writes one from the message). */
  public ChatResult result(String requestId) {
    Buffer bytes = completion == null ? null : new IdSplice(originalId, requestId).apply(completion);
    return new ChatResult(requestId, bytes, message, finishReason, usage, 0, deployment, 0);
  }

  /** The answer to a streamed request: its chunks (the first names the deployment), then the end. */
  public List<StreamChunk> replay(String requestId, String model) {
    IdSplice id = new IdSplice(originalId, requestId);
    List<StreamChunk> out = new ArrayList<>((chunks == null ? 3 : chunks.size()) + 1);
    if (chunks != null) {
      for (Chunk chunk : chunks) {
        Buffer data = id.apply(chunk.data());
        out.add(out.isEmpty() ? StreamChunk.first(requestId, 0, data, chunk.text(), chunk.flags(), deployment)
          : StreamChunk.chunk(requestId, out.size(), data, chunk.text(), chunk.flags()));
      }
    } else {
      chunksOf(new JsonObject(id.apply(completion)), requestId, model, out);
    }
    out.add(StreamChunk.end(requestId, out.size(), new ChatResult(requestId, null, message, finishReason, usage,
      out.size(), deployment, 0)));
    return out;
  }

  /** A completion as the stream OpenAI would have sent for it: the whole message in one delta, the finish, usage. */
  private void chunksOf(JsonObject completion, String requestId, String model, List<StreamChunk> out) {
    JsonObject head = new JsonObject().put("id", completion.getValue("id")).put("object", "chat.completion.chunk")
      .put("created", completion.getValue("created")).put("model", completion.getValue("model", model));
    for (String field : List.of("service_tier", "system_fingerprint")) {
      if (completion.containsKey(field)) {
        head.put(field, completion.getValue(field));
      }
    }
    JsonObject choice = completion.getJsonArray("choices").getJsonObject(0);
    JsonObject delta = choice.getJsonObject("message").copy();
    int flags = 0;
    for (String field : delta.fieldNames()) {
      if (!PLAIN.contains(field) && delta.getValue(field) != null) {
        flags |= StreamChunk.OTHER;
      }
    }
    if (delta.getValue("tool_calls") instanceof JsonArray calls) {
      JsonArray indexed = new JsonArray();
      for (int i = 0; i < calls.size(); i++) {
        indexed.add(calls.getJsonObject(i).copy().put("index", i));
      }
      delta.put("tool_calls", indexed);
      flags |= StreamChunk.TOOL_CALLS;
    }
    if (delta.getValue("function_call") != null) {
      flags |= StreamChunk.TOOL_CALLS;
    }
    Object logprobs = choice.getValue("logprobs");
    if (logprobs != null) {
      flags |= StreamChunk.OTHER;
    }
    String text = delta.getValue("content") instanceof String content ? content : "";
    out.add(StreamChunk.first(requestId, 0, event(head.copy().put("choices", new JsonArray().add(new JsonObject()
      .put("index", 0).put("delta", delta).put("logprobs", logprobs).putNull("finish_reason")))), text, flags,
      deployment));
    out.add(StreamChunk.chunk(requestId, 1, event(head.copy().put("choices", new JsonArray().add(new JsonObject()
      .put("index", 0).put("delta", new JsonObject()).putNull("logprobs")
      .put("finish_reason", choice.getValue("finish_reason", finishReason))))), "", 0));
    if (usage != null) {
      out.add(StreamChunk.chunk(requestId, 2, event(head.copy().put("choices", new JsonArray()).put("usage", usage)),
        "", StreamChunk.USAGE_ONLY));
    }
  }

  private static Buffer event(JsonObject chunk) {
    return StreamChunk.event(chunk.toBuffer());
  }

  /**
   * Writes the new turn's completion id over the stored one: the first JSON string that is exactly the stored id
   * (quotes included, so text that merely contains it is left alone; in a JSON text an unescaped quote only delimits
   * a string). Ids are plain ASCII: no escaping. Made once per replay, applied to each stored piece.
   */
  static final class IdSplice {
    private final byte[] needle;
    private final byte[] replacement;

    IdSplice(String storedId, String requestId) {
      this.needle = ('"' + storedId + '"').getBytes(StandardCharsets.US_ASCII);
      this.replacement = ('"' + ChatResult.completionId(requestId) + '"').getBytes(StandardCharsets.US_ASCII);
    }

    Buffer apply(byte[] bytes) {
      int at = indexOf(bytes, needle);
      if (at < 0) {
        return Buffer.buffer(bytes);
      }
      return Buffer.buffer(bytes.length - needle.length + replacement.length).appendBytes(bytes, 0, at)
        .appendBytes(replacement).appendBytes(bytes, at + needle.length, bytes.length - at - needle.length);
    }

    private static int indexOf(byte[] bytes, byte[] needle) {
      outer:
      for (int i = 0; i <= bytes.length - needle.length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (bytes[i + j] != needle[j]) {
            continue outer;
          }
        }
        return i;
      }
      return -1;
    }
  }

  /** The stored form: compact, length-prefixed (the same in Redis and in the local layer's weight). */
  public Buffer encode() {
    Buffer out = Buffer.buffer(256 + (completion != null ? completion.length : chunks.size() * 160));
    out.appendInt(MAGIC).appendLong(expiresAtMillis);
    string(out, originalId);
    string(out, deployment);
    string(out, finishReason);
    string(out, message.encode());
    string(out, usage == null ? null : usage.encode());
    if (completion != null) {
      out.appendByte((byte) 0);
      bytes(out, completion);
    } else {
      out.appendByte((byte) 1).appendInt(chunks.size());
      for (Chunk chunk : chunks) {
        out.appendByte((byte) chunk.flags());
        string(out, chunk.text());
        bytes(out, chunk.data());
      }
    }
    return out;
  }

  /** Reads {@link #encode()}'s form; fails on anything else (an entry of another version is a miss). */
  public static CachedAnswer decode(Buffer in) {
    int[] at = {0};
    if (in.length() < 12 || in.getInt(0) != MAGIC) {
      throw new IllegalArgumentException("not a cached answer");
    }
    at[0] = 4;
    long expires = in.getLong(at[0]);
    at[0] += 8;
    String originalId = string(in, at);
    String deployment = string(in, at);
    String finishReason = string(in, at);
    JsonObject message = new JsonObject(string(in, at));
    String usage = string(in, at);
    byte kind = in.getByte(at[0]++);
    if (kind == 0) {
      return new CachedAnswer(originalId, bytes(in, at), null, message, finishReason,
        usage == null ? null : new JsonObject(usage), deployment, expires);
    }
    int count = in.getInt(at[0]);
    at[0] += 4;
    List<Chunk> chunks = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int flags = in.getByte(at[0]++);
      String text = string(in, at);
      chunks.add(new Chunk(bytes(in, at), text, flags));
    }
    return new CachedAnswer(originalId, null, chunks, message, finishReason,
      usage == null ? null : new JsonObject(usage), deployment, expires);
  }

  private static void string(Buffer out, String value) {
    bytes(out, value == null ? null : value.getBytes(StandardCharsets.UTF_8));
  }

  private static void bytes(Buffer out, byte[] value) {
    if (value == null) {
      out.appendInt(-1);
    } else {
      out.appendInt(value.length).appendBytes(value);
    }
  }

  private static String string(Buffer in, int[] at) {
    byte[] bytes = bytes(in, at);
    return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
  }

  private static byte[] bytes(Buffer in, int[] at) {
    int length = in.getInt(at[0]);
    at[0] += 4;
    if (length < 0) {
      return null;
    }
    byte[] bytes = in.getBytes(at[0], at[0] + length);
    at[0] += length;
    return bytes;
  }
}

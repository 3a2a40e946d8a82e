package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/**
 * One upstream chunk on its way to the requesting node's inbox, or the end of the stream. A stream's chunks and
 * its end travel the same road, so they arrive in order; {@code seq} counts from 0 per turn, across attempts.
 *
 * @param data   the {@code chat.completion.chunk} as one server-sent event, {@code data: <json>\n\n}: the JSON as
 *               the upstream wrote it, with only the gateway's id and model written in (a translated protocol's
 *               chunk for Anthropic), framed once so an SSE client gets these bytes as they are; null for the end
 * @param text   the content text this chunk adds (empty when none): what a continuation goes on from
 * @param flags  what the chunk carries besides text ({@link #TOOL_CALLS}, {@link #OTHER}, {@link #USAGE_ONLY})
 * @param deployment which deployment streams it, on an attempt's first chunk (for the client's
 *               {@code x-switchboard-deployment}); null on the others
 * @param end    set on the last message of a stream: the turn's result; then {@code data} is null
 */
public record StreamChunk(String requestId, int seq, Buffer data, String text, int flags, String deployment,
                          ChatResult end) {
  public static final RecordCodec<StreamChunk> CODEC =
    new RecordCodec<>(StreamChunk.class, StreamChunk::write, StreamChunk::read);
  /** A tool call (or legacy function call) delta: a stream past such a chunk cannot be continued by another model. */
  public static final int TOOL_CALLS = 1;
  /** Something other than role, content and finish reason (refusal, reasoning, logprobs, another choice, audio). */
  public static final int OTHER = 2;
  /** Only usage (the chunk with empty choices that {@code stream_options.include_usage} asks for). */
  public static final int USAGE_ONLY = 4;
  /** A choice other than the first ({@code n} > 1): as final as a tool call for continuation. */
  public static final int CHOICES = 8;

  public StreamChunk {
    Objects.requireNonNull(requestId, "requestId");
    text = text == null ? "" : text;
    if (seq < 0) {
      throw new IllegalArgumentException("seq must not be negative");
    }
    if ((data == null) == (end == null)) {
      throw new IllegalArgumentException("a stream message is either a chunk or the end");
    }
  }

  public static StreamChunk chunk(String requestId, int seq, Buffer data, String text, int flags) {
    return new StreamChunk(requestId, seq, data, text, flags, null, null);
  }

  /** An attempt's first chunk, naming the deployment that streams it. */
  public static StreamChunk first(String requestId, int seq, Buffer data, String text, int flags, String deployment) {
    return new StreamChunk(requestId, seq, data, text, flags, deployment, null);
  }

  public static StreamChunk end(String requestId, int seq, ChatResult result) {
    return new StreamChunk(requestId, seq, null, "", 0, null, result);
  }

  /** How {@link #data} frames a chunk's JSON: {@code data: } before it, a blank line after it. */
  public static final byte[] EVENT_START = "data: ".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  public static final byte[] EVENT_END = "\n\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** A chunk's JSON framed as the server-sent event {@link #data} holds. */
  public static Buffer event(Buffer json) {
    return Buffer.buffer(json.length() + EVENT_START.length + EVENT_END.length).appendBytes(EVENT_START)
      .appendBuffer(json).appendBytes(EVENT_END);
  }

  /** The chunk's JSON: a view of {@link #data} without its framing (no copy). */
  public Buffer json() {
    return data.slice(EVENT_START.length, data.length() - EVENT_END.length);
  }

  public boolean isEnd() {
    return end != null;
  }

  /** Only role, content text and finish reason: a channel that speaks text loses nothing by reading {@link #text}. */
  public boolean plain() {
    return flags == 0;
  }

  /** Whether another model may carry the stream on after this chunk reached the client. */
  public boolean continuable() {
    return (flags & (TOOL_CALLS | CHOICES)) == 0;
  }

  public boolean has(int flag) {
    return (flags & flag) != 0;
  }

  static void write(Buffer buffer, StreamChunk c) {
    Wire.writeString(buffer, c.requestId);
    buffer.appendInt(c.seq).appendByte((byte) c.flags);
    Wire.writeString(buffer, c.text);
    Wire.writeBuffer(buffer, c.data);
    Wire.writeString(buffer, c.deployment);
    buffer.appendByte((byte) (c.end == null ? 0 : 1));
    if (c.end != null) {
      ChatResult.writeTo(buffer, c.end);
    }
  }

  static StreamChunk read(Wire.Reader in) {
    String requestId = in.readString();
    int seq = in.readInt();
    int flags = in.readByte();
    String text = in.readString();
    Buffer data = in.readBuffer();
    String deployment = in.readString();
    ChatResult end = in.readBoolean() ? ChatResult.read(in) : null;
    return new StreamChunk(requestId, seq, data, text, flags, deployment, end);
  }
}

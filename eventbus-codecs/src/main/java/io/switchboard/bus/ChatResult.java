package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.util.Objects;

/**
 * The end of a chat turn: the reply to a {@link ChatRequest}, and for a stream also its last {@link StreamChunk}.
 *
 * @param completion the whole {@code chat.completion} as the client receives it (the upstream's answer with only
 *                   the gateway's id and model written in, or a translation of another protocol's), as JSON bytes;
 *                   null for a stream, whose answer went out in its chunks
 * @param message    the assistant message (content, tool_calls, refusal, reasoning fields, ...): the answer's
 *                   first choice when not streaming, assembled from the deltas when streaming. Memory stores it
 * @param usage      the upstream's usage object with its details (null when it sent none)
 * @param chunks     how many {@link StreamChunk}s this attempt sent before this result (0 when not streaming)
 * @param deployment which deployment answered (for logs and metrics; never a key or a URL with secrets)
 * @param firstTokenMillis time from the upstream call to its first token (the whole answer when not streaming)
 */
public record ChatResult(String requestId, Buffer completion, JsonObject message, String finishReason,
                         JsonObject usage, int chunks, String deployment, long firstTokenMillis) {
  public static final RecordCodec<ChatResult> CODEC =
    new RecordCodec<>(ChatResult.class, ChatResult::write, ChatResult::read);

  public ChatResult {
    Objects.requireNonNull(requestId, "requestId");
    finishReason = finishReason == null ? "stop" : finishReason;
    message = message == null ? new JsonObject().put("role", "assistant").put("content", "")
      : message.containsKey("role") ? message : message.copy().put("role", "assistant");
    if (chunks < 0) {
      throw new IllegalArgumentException("chunk count must not be negative");
    }
  }

  /** The id every answer of a turn carries, whichever attempt, provider or cache produced it. */
  public static String completionId(String requestId) {
    return "chatcmpl-" + requestId;
  }

  /** The answer's text (its content, or text parts joined); "" for an answer that only calls tools. */
  public String content() {
    return assistantMessage().text();
  }

  /** The assistant message as it is stored in a conversation. */
  public ChatMessage assistantMessage() {
    return new ChatMessage(message);
  }

  public int promptTokens() {
    return usage == null ? 0 : usage.getInteger("prompt_tokens", 0);
  }

  public int completionTokens() {
    return usage == null ? 0 : usage.getInteger("completion_tokens", 0);
  }

  public int totalTokens() {
    return usage != null && usage.getValue("total_tokens") instanceof Number total ? total.intValue()
      : promptTokens() + completionTokens();
  }

  /** The same result without the answer itself (usage, finish reason and timings kept). */
  public ChatResult withoutMessage() {
    return new ChatResult(requestId, completion, null, finishReason, usage, chunks, deployment, firstTokenMillis);
  }

  public ChatResult withStreamFacts(int totalChunks, long ttftMillis) {
    return new ChatResult(requestId, completion, message, finishReason, usage, totalChunks, deployment, ttftMillis);
  }

  private static void write(Buffer buffer, ChatResult r) {
    Wire.writeString(buffer, r.requestId);
    Wire.writeBuffer(buffer, r.completion);
    Wire.writeJson(buffer, r.message);
    Wire.writeString(buffer, r.finishReason);
    Wire.writeJson(buffer, r.usage);
    buffer.appendInt(r.chunks);
    Wire.writeString(buffer, r.deployment);
    buffer.appendLong(r.firstTokenMillis);
  }

  static ChatResult read(Wire.Reader in) {
    return new ChatResult(in.readString(), in.readBuffer(), in.readJson(), in.readString(), in.readJson(),
      in.readInt(), in.readString(), in.readLong());
  }

  static void writeTo(Buffer buffer, ChatResult r) {
    write(buffer, r);
  }
}

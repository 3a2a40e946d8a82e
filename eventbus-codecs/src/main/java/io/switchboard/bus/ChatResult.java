package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/**
 * The end of a chat turn, the reply to a {@link ChatRequest}.
 *
 * @param content    the whole answer when not streaming; for a stream, the answer is in the chunks and
 *                   this is null
 * @param chunks     how many {@link StreamChunk}s were sent before this result (0 when not streaming)
 * @param deployment which deployment answered (for logs and metrics; never a key or a URL with secrets)
 * @param firstTokenMillis time from the upstream call to its first token (the whole answer when not streaming)
 */
public record ChatResult(String requestId, String content, String finishReason, int promptTokens,
                         int completionTokens, int chunks, String deployment, long firstTokenMillis) {
  public static final RecordCodec<ChatResult> CODEC =
    new RecordCodec<>(ChatResult.class, ChatResult::write, ChatResult::read);

  public ChatResult {
    Objects.requireNonNull(requestId, "requestId");
    finishReason = finishReason == null ? "stop" : finishReason;
    if (promptTokens < 0 || completionTokens < 0 || chunks < 0) {
      throw new IllegalArgumentException("token and chunk counts must not be negative");
    }
  }

  public int totalTokens() {
    return promptTokens + completionTokens;
  }

  private static void write(Buffer buffer, ChatResult r) {
    Wire.writeString(buffer, r.requestId);
    Wire.writeString(buffer, r.content);
    Wire.writeString(buffer, r.finishReason);
    buffer.appendInt(r.promptTokens).appendInt(r.completionTokens).appendInt(r.chunks);
    Wire.writeString(buffer, r.deployment);
    buffer.appendLong(r.firstTokenMillis);
  }

  public ChatResult withStreamFacts(int totalChunks, long ttftMillis) {
    return new ChatResult(requestId, content, finishReason, promptTokens, completionTokens, totalChunks, deployment,
      ttftMillis);
  }

  private static ChatResult read(Wire.Reader in) {
    return new ChatResult(in.readString(), in.readString(), in.readString(), in.readInt(), in.readInt(),
      in.readInt(), in.readString(), in.readLong());
  }
}

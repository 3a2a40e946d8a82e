package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.util.Objects;

/**
 * The answer to an {@link EmbeddingRequest}.
 *
 * @param response   the upstream's embeddings list as the client receives it (every field as the upstream wrote it,
 *                   with only {@code model} rewritten to the public model name), as JSON bytes
 * @param usage      the upstream's usage object ({@code prompt_tokens}, {@code total_tokens}); null when it sent none
 * @param deployment which deployment answered (for logs and metrics; never a key or a URL with secrets)
 * @param millis     time from the upstream call to its whole answer
 */
public record EmbeddingResult(String requestId, Buffer response, JsonObject usage, String deployment, long millis)
  implements WholeCall.Answer {
  public static final RecordCodec<EmbeddingResult> CODEC =
    new RecordCodec<>(EmbeddingResult.class, EmbeddingResult::write, EmbeddingResult::read);

  public EmbeddingResult {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(response, "response");
    if (millis < 0) {
      throw new IllegalArgumentException("millis must not be negative");
    }
  }

  public int promptTokens() {
    return usage == null ? 0 : usage.getInteger("prompt_tokens", 0);
  }

  @Override
  public EmbeddingResult withMillis(long answerMillis) {
    return new EmbeddingResult(requestId, response, usage, deployment, answerMillis);
  }

  private static void write(Buffer buffer, EmbeddingResult r) {
    Wire.writeString(buffer, r.requestId);
    Wire.writeBuffer(buffer, r.response);
    Wire.writeJson(buffer, r.usage);
    Wire.writeString(buffer, r.deployment);
    buffer.appendLong(r.millis);
  }

  private static EmbeddingResult read(Wire.Reader in) {
    return new EmbeddingResult(in.readString(), in.readBuffer(), in.readJson(), in.readString(), in.readLong());
  }
}

package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.util.Objects;

/**
 * The answer to a {@link TranscriptionRequest}.
 *
 * @param response    the upstream's answer as it wrote it: JSON ({@code json}, {@code verbose_json}) or text
 *                    ({@code text}, {@code srt}, {@code vtt})
 * @param contentType the upstream's content type for it
 * @param text        the transcript (for an IM voice message's turn; the whole text answer when not JSON)
 * @param usage       the upstream's usage object when it sent one ({@code {"type":"tokens",...}} or
 *                    {@code {"type":"duration","seconds":...}}), else null
 * @param deployment  which deployment answered (for logs and metrics; never a key or a URL with secrets)
 * @param millis      time from the upstream call to its whole answer
 */
public record TranscriptionResult(String requestId, Buffer response, String contentType, String text,
                                  JsonObject usage, String deployment, long millis) implements WholeCall.Answer {
  public static final RecordCodec<TranscriptionResult> CODEC =
    new RecordCodec<>(TranscriptionResult.class, TranscriptionResult::write, TranscriptionResult::read);

  public TranscriptionResult {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(response, "response");
    Objects.requireNonNull(contentType, "contentType");
    Objects.requireNonNull(text, "text");
    if (millis < 0) {
      throw new IllegalArgumentException("millis must not be negative");
    }
  }

  @Override
  public TranscriptionResult withMillis(long answerMillis) {
    return new TranscriptionResult(requestId, response, contentType, text, usage, deployment, answerMillis);
  }

  private static void write(Buffer buffer, TranscriptionResult r) {
    Wire.writeString(buffer, r.requestId);
    Wire.writeBuffer(buffer, r.response);
    Wire.writeString(buffer, r.contentType);
    Wire.writeString(buffer, r.text);
    Wire.writeJson(buffer, r.usage);
    Wire.writeString(buffer, r.deployment);
    buffer.appendLong(r.millis);
  }

  private static TranscriptionResult read(Wire.Reader in) {
    return new TranscriptionResult(in.readString(), in.readBuffer(), in.readString(), in.readString(), in.readJson(),
      in.readString(), in.readLong());
  }
}

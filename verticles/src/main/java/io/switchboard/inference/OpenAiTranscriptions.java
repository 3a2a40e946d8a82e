package io.switchboard.inference;

import io.switchboard.bus.TranscriptionRequest;
import io.switchboard.bus.TranscriptionResult;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * OpenAI's {@code POST /audio/transcriptions} on the wire: the client's form, framed again as multipart/form-data
 * (RFC 7578) with the deployment's model first, the client's fields in the order written and the audio byte for byte;
 * and the answer, relayed as the upstream wrote it (JSON or text), with the transcript and usage read out of it.
 */
final class OpenAiTranscriptions {
  private static final String CRLF = "\r\n";

  private OpenAiTranscriptions() {
  }

  /** A fresh boundary: 32 random hex digits, which no audio file is going to contain by chance. */
  static String boundary() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "switchboard-" + Long.toHexString(random.nextLong() | Long.MIN_VALUE)
      + Long.toHexString(random.nextLong() | Long.MIN_VALUE);
  }

  static Buffer body(TranscriptionRequest request, String upstreamModel, String boundary) {
    Buffer out = Buffer.buffer(request.file().length() + 512);
    field(out, boundary, "model", upstreamModel);
    for (Object field : request.fields()) {
      JsonArray pair = (JsonArray) field;
      field(out, boundary, pair.getString(0), pair.getString(1));
    }
    out.appendString("--" + boundary + CRLF + "Content-Disposition: form-data; name=\"file\"; filename=\""
      + escaped(request.fileName()) + "\"" + CRLF + "Content-Type: "
      + (request.fileType() == null ? "application/octet-stream" : request.fileType()) + CRLF + CRLF);
    out.appendBuffer(request.file()).appendString(CRLF + "--" + boundary + "--" + CRLF);
    return out;
  }

  private static void field(Buffer out, String boundary, String name, String value) {
    out.appendString("--" + boundary + CRLF + "Content-Disposition: form-data; name=\"" + escaped(name) + "\""
      + CRLF + CRLF).appendString(value).appendString(CRLF);
  }

  /** A name or file name in a quoted header parameter, escaped as browsers do (WHATWG's multipart encoding). */
  private static String escaped(String value) {
    return value.replace("\"", "%22").replace("\r", "%0D").replace("\n", "%0A");
  }

  /** The upstream's answer: JSON with {@code text} (json, verbose_json), or the text itself (text, srt, vtt). */
  static TranscriptionResult read(TranscriptionRequest request, String deployment, String contentType, Buffer body) {
    String type = contentType == null ? "" : contentType.toLowerCase(Locale.ROOT);
    boolean json = type.startsWith("application/json") || type.isEmpty() && body.length() > 0
      && body.getByte(0) == '{';
    if (!json) {
      return new TranscriptionResult(request.requestId(), body, contentType == null ? "text/plain; charset=utf-8"
        : contentType, body.toString(), null, deployment, 0);
    }
    JsonObject answer;
    try {
      answer = body.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      throw HttpFailures.malformed("a transcription that is not a JSON object");
    }
    if (!(answer.getValue("text") instanceof String text)) {
      throw HttpFailures.malformed("a transcription without its text");
    }
    return new TranscriptionResult(request.requestId(), body, "application/json", text,
      answer.getValue("usage") instanceof JsonObject usage ? usage : null, deployment, 0);
  }
}

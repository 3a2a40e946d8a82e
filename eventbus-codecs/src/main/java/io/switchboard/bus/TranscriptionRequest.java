package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;

import java.util.Objects;

/**
 * A {@code POST /v1/audio/transcriptions} call on its way from the connection verticle (or an IM bot's voice message)
 * through routing to an inference proxy.
 *
 * @param fields         the client's form fields other than {@code model} and {@code file}, in the order written, as
 *                       {@code [name, value]} pairs (a name may repeat: {@code timestamp_granularities[]}); each
 *                       attempt adds its deployment's upstream model
 * @param file           the audio as the client uploaded it, byte for byte
 * @param fileName       the upload's file name (the upstream reads the format from its extension)
 * @param fileType       the upload's declared content type (null when none)
 * @param attempt        which try of this call this is (0 first); routing numbers retries, hedges and fallbacks
 * @param controlAddress where the proxy that takes an attempt says which cluster node it runs on (null: nobody asks)
 */
public record TranscriptionRequest(String requestId, String tenant, String model, JsonArray fields, Buffer file,
                                   String fileName, String fileType, long timeoutMillis, int priority, int attempt,
                                   String controlAddress) implements WholeCall {
  public static final RecordCodec<TranscriptionRequest> CODEC =
    new RecordCodec<>(TranscriptionRequest.class, TranscriptionRequest::write, TranscriptionRequest::read);

  public TranscriptionRequest {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(tenant, "tenant");
    if (model == null || model.isBlank()) {
      throw new IllegalArgumentException("model must not be blank");
    }
    Objects.requireNonNull(fields, "fields");
    for (Object field : fields) {
      if (!(field instanceof JsonArray pair) || pair.size() != 2 || !(pair.getValue(0) instanceof String name)
        || !(pair.getValue(1) instanceof String) || name.equals("model") || name.equals("file")) {
        throw new IllegalArgumentException("fields are [name, value] string pairs, neither model nor file");
      }
    }
    if (file == null || file.length() == 0) {
      throw new IllegalArgumentException("a transcription needs audio");
    }
    if (fileName == null || fileName.isBlank()) {
      throw new IllegalArgumentException("fileName must not be blank");
    }
    if (timeoutMillis <= 0) {
      throw new IllegalArgumentException("timeoutMillis must be positive");
    }
    if (attempt < 0) {
      throw new IllegalArgumentException("attempt must not be negative");
    }
  }

  /** A first attempt. */
  public TranscriptionRequest(String requestId, String tenant, String model, JsonArray fields, Buffer file,
                              String fileName, String fileType, long timeoutMillis, int priority) {
    this(requestId, tenant, model, fields, file, fileName, fileType, timeoutMillis, priority, 0, null);
  }

  /** The first value of a form field; null when the client did not send it. */
  public String field(String name) {
    for (Object field : fields) {
      JsonArray pair = (JsonArray) field;
      if (pair.getString(0).equals(name)) {
        return pair.getString(1);
      }
    }
    return null;
  }

  @Override
  public String mode() {
    return "audio_transcription";
  }

  @Override
  public TranscriptionRequest retry(String newModel, int newAttempt, long remainingMillis, String newControlAddress) {
    return new TranscriptionRequest(requestId, tenant, newModel, fields, file, fileName, fileType, remainingMillis,
      priority, newAttempt, newControlAddress);
  }

  @Override
  public String inferenceAddress(String deployment) {
    return Addresses.inferenceTranscriptions(deployment);
  }

  @Override
  public String toString() {
    return "TranscriptionRequest[" + requestId + ", " + model + ", " + fileName + ", " + file.length() + " bytes]";
  }

  private static void write(Buffer buffer, TranscriptionRequest r) {
    Wire.writeString(buffer, r.requestId);
    Wire.writeString(buffer, r.tenant);
    Wire.writeString(buffer, r.model);
    Wire.writeString(buffer, r.fields.encode());
    Wire.writeBuffer(buffer, r.file);
    Wire.writeString(buffer, r.fileName);
    Wire.writeString(buffer, r.fileType);
    buffer.appendLong(r.timeoutMillis);
    buffer.appendInt(r.priority).appendInt(r.attempt);
    Wire.writeString(buffer, r.controlAddress);
  }

  private static TranscriptionRequest read(Wire.Reader in) {
    return new TranscriptionRequest(in.readString(), in.readString(), in.readString(), new JsonArray(in.readString()),
      in.readBuffer(), in.readString(), in.readString(), in.readLong(), in.readInt(), in.readInt(), in.readString());
  }
}

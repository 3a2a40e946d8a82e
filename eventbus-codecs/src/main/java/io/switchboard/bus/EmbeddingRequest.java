package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.util.Objects;

/**
 * A {@code POST /v1/embeddings} (or {@code POST /v1/moderations}: the same whole-answer call to another endpoint) call
 * on its way from the connection verticle through routing to an inference proxy.
 *
 * @param body           the client's request as it wrote it ({@code input}, {@code encoding_format},
 *                       {@code dimensions}, {@code user}, and whatever else it sent) without {@code model}, which
 *                       each attempt sets to its deployment's upstream model; never changed after construction
 * @param attempt        which try of this call this is (0 first); routing numbers retries, hedges and fallbacks
 * @param controlAddress where the proxy that takes an attempt says which cluster node it runs on (null: nobody asks)
 * @param moderation     a moderations call (served by deployments of mode moderation) rather than embeddings
 */
public record EmbeddingRequest(String requestId, String tenant, String model, JsonObject body, long timeoutMillis,
                               int priority, int attempt, String controlAddress, boolean moderation)
  implements RoutedRequest {
  public static final RecordCodec<EmbeddingRequest> CODEC =
    new RecordCodec<>(EmbeddingRequest.class, EmbeddingRequest::write, EmbeddingRequest::read);

  public EmbeddingRequest {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(tenant, "tenant");
    if (model == null || model.isBlank()) {
      throw new IllegalArgumentException("model must not be blank");
    }
    Objects.requireNonNull(body, "body");
    if (body.containsKey("model")) {
      throw new IllegalArgumentException("the body carries no model: each attempt sets its own");
    }
    if (!body.containsKey("input")) {
      throw new IllegalArgumentException("an embeddings call needs an input");
    }
    if (timeoutMillis <= 0) {
      throw new IllegalArgumentException("timeoutMillis must be positive");
    }
    if (attempt < 0) {
      throw new IllegalArgumentException("attempt must not be negative");
    }
  }

  /** A first attempt. */
  public EmbeddingRequest(String requestId, String tenant, String model, JsonObject body, long timeoutMillis,
                          int priority) {
    this(requestId, tenant, model, body, timeoutMillis, priority, 0, null, false);
  }

  /** A first attempt at a moderations call. */
  public static EmbeddingRequest moderation(String requestId, String tenant, String model, JsonObject body,
                                            long timeoutMillis, int priority) {
    return new EmbeddingRequest(requestId, tenant, model, body, timeoutMillis, priority, 0, null, true);
  }

  /** Another try of the same call, against the given public model. */
  public EmbeddingRequest retry(String newModel, int newAttempt, long remainingMillis, String newControlAddress) {
    return new EmbeddingRequest(requestId, tenant, newModel, body, remainingMillis, priority, newAttempt,
      newControlAddress, moderation);
  }

  /** The body an upstream receives: the client's fields as they are, with the deployment's model name. */
  public Buffer upstreamBody(String upstreamModel) {
    // a shallow copy: only model is set here, the client's values go on as they are
    return new JsonObject(new java.util.LinkedHashMap<>(body.getMap())).put("model", upstreamModel).toBuffer();
  }

  @Override
  public String inferenceAddress(String deployment) {
    return Addresses.inferenceEmbeddings(deployment);
  }

  private static void write(Buffer buffer, EmbeddingRequest r) {
    Wire.writeString(buffer, r.requestId);
    Wire.writeString(buffer, r.tenant);
    Wire.writeString(buffer, r.model);
    Wire.writeJson(buffer, r.body);
    buffer.appendLong(r.timeoutMillis);
    buffer.appendInt(r.priority).appendInt(r.attempt);
    Wire.writeString(buffer, r.controlAddress);
    buffer.appendByte((byte) (r.moderation ? 1 : 0));
  }

  private static EmbeddingRequest read(Wire.Reader in) {
    return new EmbeddingRequest(in.readString(), in.readString(), in.readString(), in.readJson(), in.readLong(),
      in.readInt(), in.readInt(), in.readString(), in.readBoolean());
  }
}

package io.switchboard.bus;

import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

/**
 * A failed attempt as it crosses the event bus: the client's {@link ApiError} plus what the caller needs to
 * decide what to do next. Encoded as the failure message's JSON ({@code {"error":{...},"retryable":...}}), so
 * {@link ApiError#from} still reads the client's part.
 *
 * @param retryAfterMillis how long the upstream asked to wait (0 when it said nothing)
 * @param chunksSent       chunks this attempt already streamed to the client
 * @param partial          the text of those chunks, for a fallback to continue from
 */
public record BusFailure(ApiError error, boolean retryable, long retryAfterMillis, int chunksSent, String partial) {

  public BusFailure {
    partial = partial == null ? "" : partial;
  }

  public static BusFailure of(ApiError error) {
    return new BusFailure(error, false, 0, 0, "");
  }

  public ReplyException toException() {
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, error.status(), encode());
  }

  public void failReply(Message<?> request) {
    request.fail(error.status(), encode());
  }

  private String encode() {
    JsonObject json = error.toJson().put("retryable", retryable);
    if (retryAfterMillis > 0) {
      json.put("retry_after_ms", retryAfterMillis);
    }
    if (chunksSent > 0) {
      json.put("chunks_sent", chunksSent).put("partial", partial);
    }
    return json.encode();
  }

  /** What a failure says; anything that is not a BusFailure is a non-retryable {@link ApiError#from} error. */
  public static BusFailure from(Throwable failure) {
    ApiError error = ApiError.from(failure);
    if (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.RECIPIENT_FAILURE
      && reply.getMessage() != null && reply.getMessage().startsWith("{")) {
      try {
        JsonObject json = new JsonObject(reply.getMessage());
        return new BusFailure(error, json.getBoolean("retryable", false), json.getLong("retry_after_ms", 0L),
          json.getInteger("chunks_sent", 0), json.getString("partial", ""));
      } catch (RuntimeException malformed) {
        return of(error);
      }
    }
    boolean lostNode = failure instanceof ReplyException reply
      && (reply.failureType() == ReplyFailure.TIMEOUT || reply.failureType() == ReplyFailure.NO_HANDLERS);
    return new BusFailure(error, lostNode, 0, 0, "");
  }

  /** Seconds for a Retry-After header, rounded up; 0 when none. */
  public long retryAfterSeconds() {
    return (retryAfterMillis + 999) / 1000;
  }
}

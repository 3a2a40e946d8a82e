package io.switchboard.bus;

import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * The one error type of Switchboard: what a client sees, in OpenAI's shape
 * {@code {"error":{"message","type","param","code"}}} with its HTTP status. It crosses the event bus as a
 * failed reply (failure code = status, message = this error as JSON), so every verticle speaks it.
 * Messages are written for the client: never a stack trace, a key or an upstream URL.
 */
public record ApiError(int status, String type, String code, String message, String param) {

  /** The kinds of failure the gateway acts on (retry, rest a deployment, stay quiet); the rest are {@link #OTHER}. */
  public enum Kind {
    /** The turn or attempt was stopped on purpose: the client left, a hedge lost, the turn ended. */
    CANCELLED("cancelled"),
    /** The gateway node running the attempt left the cluster. */
    NODE_LOST("node_lost"),
    /** The deployment's circuit breaker is open. */
    CIRCUIT_OPEN("circuit_open"),
    OTHER(null);

    private final String code;

    Kind(String code) {
      this.code = code;
    }

    static Kind of(String code) {
      for (Kind kind : values()) {
        if (kind.code != null && kind.code.equals(code)) {
          return kind;
        }
      }
      return OTHER;
    }
  }

  public ApiError {
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("status must be 4xx or 5xx, was " + status);
    }
    if (message == null || message.isBlank()) {
      throw new IllegalArgumentException("message must not be blank");
    }
  }

  /** What kind of failure this is, for the gateway's own decisions (clients read the code). */
  public Kind kind() {
    return Kind.of(code);
  }

  public boolean is(Kind kind) {
    return kind() == kind;
  }

  /** A turn or attempt stopped on purpose ({@code why}: "client disconnected", "another attempt answered first"). */
  public static ApiError cancelled(String why) {
    return new ApiError(499, "cancelled", Kind.CANCELLED.code, "The request was cancelled (" + why + ").", null);
  }

  public static ApiError badRequest(String message, String param) {
    return new ApiError(400, "invalid_request_error", null, message, param);
  }

  public static ApiError invalidApiKey(String message) {
    return new ApiError(401, "invalid_request_error", "invalid_api_key", message, null);
  }

  public static ApiError notFound(String message) {
    return new ApiError(404, "invalid_request_error", "not_found", message, null);
  }

  /** A client-sent model name is echoed cut to this many characters: a key pasted into {@code model} is not. */
  public static final int MAX_ECHOED_MODEL_CHARS = 64;

  public static ApiError modelNotFound(String model) {
    String echoed = model != null && model.length() > MAX_ECHOED_MODEL_CHARS
      ? model.substring(0, MAX_ECHOED_MODEL_CHARS) + "…" : model;
    return new ApiError(404, "invalid_request_error", "model_not_found",
      "The model '" + echoed + "' does not exist or you do not have access to it.", "model");
  }

  public static ApiError payloadTooLarge(long limitBytes) {
    return new ApiError(413, "invalid_request_error", "request_too_large",
      "Request body is larger than the limit of " + limitBytes + " bytes.", null);
  }

  public static ApiError upstreamFailed(String message) {
    return new ApiError(502, "upstream_error", "upstream_failed", message, null);
  }

  public static ApiError unavailable(String message) {
    return new ApiError(503, "server_error", "service_unavailable", message, null);
  }

  public static ApiError circuitOpen(String model) {
    return new ApiError(503, "server_error", Kind.CIRCUIT_OPEN.code, "The model '" + model
      + "' is temporarily unavailable (circuit open after repeated upstream failures).", null);
  }

  /** The node running an attempt left the cluster mid-answer; the caller may go on elsewhere. */
  public static ApiError nodeLost() {
    return new ApiError(502, "upstream_error", Kind.NODE_LOST.code, "The gateway node serving this answer went away.", null);
  }

  public static ApiError upstreamTimeout(String message) {
    return new ApiError(504, "upstream_error", "upstream_timeout", message, null);
  }

  public static ApiError internal() {
    return new ApiError(500, "server_error", "internal_error",
      "The gateway hit an internal error; the request id in x-request-id identifies it in the logs.", null);
  }

  /** {@code {"error":{...}}}, the body a client receives. */
  public JsonObject toJson() {
    return new JsonObject().put("error", new JsonObject()
      .put("message", message)
      .put("type", type)
      .put("param", param)
      .put("code", code));
  }

  /** Fail an event bus request with this error. */
  public void failReply(Message<?> request) {
    request.fail(status, toJson().encode());
  }

  public ReplyException toException() {
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, status, toJson().encode());
  }

  /**
   * The error a failure stands for: an ApiError that crossed the bus comes back as itself; a bus timeout
   * or a missing handler become 504 / 503; anything else is internal and says nothing of its cause.
   */
  public static ApiError from(Throwable failure) {
    if (failure instanceof ReplyException reply) {
      if (reply.failureType() == ReplyFailure.TIMEOUT) {
        return upstreamTimeout("The model did not answer in time.");
      }
      if (reply.failureType() == ReplyFailure.NO_HANDLERS) {
        return unavailable("No node is currently serving this request; try again shortly.");
      }
      ApiError decoded = decode(reply.failureCode(), reply.getMessage());
      if (decoded != null) {
        return decoded;
      }
    }
    return internal();
  }

  private static ApiError decode(int status, String text) {
    if (text == null || !text.startsWith("{")) {
      return null;
    }
    try {
      JsonObject error = new JsonObject(text).getJsonObject("error");
      if (error == null) {
        return null;
      }
      return new ApiError(status, error.getString("type"), error.getString("code"), error.getString("message"),
        error.getString("param"));
    } catch (DecodeException | ClassCastException | IllegalArgumentException e) {
      return null;
    }
  }
}

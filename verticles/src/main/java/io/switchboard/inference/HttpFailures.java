package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/** What an upstream's HTTP error status means for the client and for trying again; shared by every protocol. */
final class HttpFailures {
  private HttpFailures() {
  }

  static UpstreamFailure fromStatus(int status, Buffer body, String retryAfterHeader) {
    long retryAfter = retryAfterMillis(retryAfterHeader);
    if (status == 401 || status == 403) {
      return UpstreamFailure.retryable(ApiError.upstreamFailed(
        "The model's provider rejected the gateway's credentials."));
    }
    if (status == 429) {
      return new UpstreamFailure(new ApiError(429, "rate_limit_error", "upstream_rate_limited",
        "The model's provider is rate limiting; retry shortly.", null), true, retryAfter);
    }
    if (status == 408 || status == 404 || status >= 500) {
      return new UpstreamFailure(ApiError.upstreamFailed("The model failed (HTTP " + status + ")."), true, retryAfter);
    }
    String message = providerMessage(body);
    return UpstreamFailure.fatal(new ApiError(400, "invalid_request_error", "upstream_rejected",
      message != null ? message : "The model rejected the request (HTTP " + status + ").", null));
  }

  static UpstreamFailure unreachable() {
    return UpstreamFailure.retryable(ApiError.upstreamFailed("The model could not be reached."));
  }

  static UpstreamFailure malformed(String what) {
    return UpstreamFailure.retryable(ApiError.upstreamFailed("The model sent " + what + "."));
  }

  /**
   * The provider's own words about a request it refused ({@code error.message}, or AWS's top-level {@code message});
   * they describe the client's request, not secrets.
   */
  private static String providerMessage(Buffer body) {
    try {
      JsonObject json = body.toJsonObject();
      JsonObject error = json.getValue("error") instanceof JsonObject e ? e : null;
      String message = error == null ? json.getString("message") : error.getString("message");
      return message == null || message.length() > 500 ? null : message;
    } catch (RuntimeException notJson) {
      return null;
    }
  }

  /** Retry-After in seconds (the form providers use); an HTTP date or garbage counts as unsaid. */
  static long retryAfterMillis(String header) {
    if (header == null) {
      return 0;
    }
    try {
      double seconds = Double.parseDouble(header.trim());
      return seconds > 0 ? Math.min((long) (seconds * 1000), 3_600_000) : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}

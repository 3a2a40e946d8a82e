package io.switchboard.inference;

import io.switchboard.bus.ApiError;

/**
 * Why an upstream call failed, as the client would be told ({@link #error}), and whether trying again
 * (elsewhere, or later) can help.
 *
 * @param retryAfterMillis what the upstream asked for in Retry-After; 0 when it said nothing
 */
final class UpstreamFailure extends RuntimeException {
  private final ApiError error;
  private final boolean retryable;
  private final long retryAfterMillis;
  private final boolean gatewaySide;

  UpstreamFailure(ApiError error, boolean retryable, long retryAfterMillis) {
    this(error, retryable, retryAfterMillis, false);
  }

  /** @param gatewaySide the gateway refused the call itself (its pool was full): it says nothing of the upstream */
  UpstreamFailure(ApiError error, boolean retryable, long retryAfterMillis, boolean gatewaySide) {
    super(error.message(), null, false, false);
    this.error = error;
    this.retryable = retryable;
    this.retryAfterMillis = retryAfterMillis;
    this.gatewaySide = gatewaySide;
  }

  static UpstreamFailure retryable(ApiError error) {
    return new UpstreamFailure(error, true, 0);
  }

  static UpstreamFailure fatal(ApiError error) {
    return new UpstreamFailure(error, false, 0);
  }

  ApiError error() {
    return error;
  }

  boolean retryable() {
    return retryable;
  }

  long retryAfterMillis() {
    return retryAfterMillis;
  }

  boolean gatewaySide() {
    return gatewaySide;
  }
}

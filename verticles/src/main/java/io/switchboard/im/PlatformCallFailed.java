package io.switchboard.im;

/**
 * A call to a platform's API that did not succeed. The message names the call by host and path only (query strings
 * carry secrets and tokens) and the platform's error code, never a token or a secret.
 *
 * @param retriable whether trying again later may work (network trouble, 5xx, rate limits)
 */
final class PlatformCallFailed extends RuntimeException {
  private final boolean retriable;

  PlatformCallFailed(String message, boolean retriable) {
    super(message, null, false, false);
    this.retriable = retriable;
  }

  boolean retriable() {
    return retriable;
  }
}

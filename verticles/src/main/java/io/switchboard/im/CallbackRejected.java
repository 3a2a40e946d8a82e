package io.switchboard.im;

/**
 * A callback that is not from the platform, or not readable: answered with a 4xx and never shown to a model.
 * The reason goes to the log; it names what failed, never a secret or the body.
 */
final class CallbackRejected extends RuntimeException {
  private final int status;

  CallbackRejected(int status, String reason) {
    super(reason, null, false, false);
    this.status = status;
  }

  static CallbackRejected badSignature(String reason) {
    return new CallbackRejected(401, reason);
  }

  static CallbackRejected malformed(String reason) {
    return new CallbackRejected(400, reason);
  }

  int status() {
    return status;
  }
}

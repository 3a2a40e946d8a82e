package io.switchboard.connection;

import io.switchboard.bus.ApiError;

/** Thrown while reading a client's request; carries the error the client gets. No stack trace is kept. */
final class InvalidRequest extends RuntimeException {
  private final ApiError error;

  InvalidRequest(ApiError error) {
    super(error.message(), null, false, false);
    this.error = error;
  }

  static InvalidRequest of(String message, String param) {
    return new InvalidRequest(ApiError.badRequest(message, param));
  }

  ApiError error() {
    return error;
  }
}

package io.switchboard.chat;

import io.switchboard.bus.ApiError;

/** Thrown while reading a client's request; carries the error the client gets. No stack trace is kept. */
public final class InvalidRequest extends RuntimeException {
  private final ApiError error;

  public InvalidRequest(ApiError error) {
    super(error.message(), null, false, false);
    this.error = error;
  }

  public static InvalidRequest of(String message, String param) {
    return new InvalidRequest(ApiError.badRequest(message, param));
  }

  public ApiError error() {
    return error;
  }
}

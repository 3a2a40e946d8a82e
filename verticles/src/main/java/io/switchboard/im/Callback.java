package io.switchboard.im;

/**
 * What a verified callback comes to: the answer the platform gets at once, and the chat message to answer
 * afterwards (null for URL verification and for events the bot does not answer).
 */
record Callback<M extends IncomingMessage>(int status, String contentType, String body, M message) {

  static <M extends IncomingMessage> Callback<M> respond(int status, String contentType, String body) {
    return new Callback<>(status, contentType, body, null);
  }

  /** Nothing for the bot to answer: acknowledged as the platform expects. */
  Callback<M> ignore() {
    return new Callback<>(status, contentType, body, null);
  }

  Callback<M> deliver(M chatMessage) {
    return new Callback<>(status, contentType, body, chatMessage);
  }
}

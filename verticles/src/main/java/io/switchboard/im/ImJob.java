package io.switchboard.im;

import io.vertx.core.json.JsonObject;

import java.util.Objects;

/**
 * A message a bot accepted and must answer, as it is kept in a {@link ImWorkQueue}: everything a node needs to
 * answer it, whichever node it is.
 *
 * @param channel   the configured channel whose bot received it
 * @param messageId the platform's id of the message (the key of re-sent callback detection)
 * @param requestId the request id of the callback that brought it: logs, and the idempotency key of sends
 * @param message   the bot's message as {@link Bot#encode} writes it
 */
record ImJob(String channel, String messageId, String requestId, JsonObject message) {
  ImJob {
    Objects.requireNonNull(channel, "channel");
    Objects.requireNonNull(messageId, "messageId");
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(message, "message");
  }
}

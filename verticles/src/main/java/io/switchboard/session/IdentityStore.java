package io.switchboard.session;

import io.vertx.core.Future;

import java.security.SecureRandom;

/**
 * Maps a sender on a channel (a WeCom user, a Feishu open id, a WebSocket user) to a person, per tenant.
 * A person is created on first sight; linking makes two senders one person, so they share memory.
 */
public interface IdentityStore {

  Future<String> identify(String tenant, String channel, String externalId);

  /** Makes (channel, externalId) map to the person (toChannel, toExternalId) is, creating that one if new. */
  Future<String> link(String tenant, String channel, String externalId, String toChannel, String toExternalId);

  /** A fresh person id: 16 hex digits. */
  static String newPersonId(SecureRandom random) {
    return String.format("%016x", random.nextLong());
  }
}

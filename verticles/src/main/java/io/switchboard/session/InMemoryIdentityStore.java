package io.switchboard.session;

import io.vertx.core.Future;

import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;

/** Identities in this node's memory: the embedded default (one node; gone on restart). */
public final class InMemoryIdentityStore implements IdentityStore {
  private final SecureRandom random = new SecureRandom();
  private final Map<String, String> people = new HashMap<>();

  private static String key(String tenant, String channel, String externalId) {
    return tenant + '\u0000' + channel + '\u0000' + externalId;
  }

  @Override
  public Future<String> identify(String tenant, String channel, String externalId) {
    return Future.succeededFuture(people.computeIfAbsent(key(tenant, channel, externalId),
      k -> IdentityStore.newPersonId(random)));
  }

  @Override
  public Future<String> link(String tenant, String channel, String externalId, String toChannel,
                             String toExternalId) {
    String person = people.computeIfAbsent(key(tenant, toChannel, toExternalId), k -> IdentityStore.newPersonId(random));
    people.put(key(tenant, channel, externalId), person);
    return Future.succeededFuture(person);
  }
}

package io.switchboard.session;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;

import java.security.SecureRandom;

/**
 * Identities in Redis, shared by every node: one hash per tenant ({@code sb:people:<tenant>}) from
 * {@code <channel> <sender id>} to a person id. Each call is one round trip and atomic, so two nodes that
 * see a new sender at once still agree on one person.
 */
public final class RedisIdentityStore implements IdentityStore {
  /** Sets the person of ARGV[2] if new (to ARGV[1]), makes ARGV[3] (when given) the same person, returns it. */
  private static final String LINK = "redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[1]) "
    + "local person = redis.call('HGET', KEYS[1], ARGV[2]) "
    + "if ARGV[3] then redis.call('HSET', KEYS[1], ARGV[3], person) end "
    + "return person";

  private final Redis redis;
  private final RedisGuard guard;
  private final SecureRandom random = new SecureRandom();

  public RedisIdentityStore(Vertx vertx, String connectionString) {
    this.redis = Redis.createClient(vertx, RedisConversationStore.options(connectionString));
    this.guard = RedisConversationStore.guard(vertx, "identities", redis);
  }

  private static String field(String channel, String externalId) {
    return channel + ' ' + externalId; // channels have no spaces, so this cannot collide
  }

  @Override
  public Future<String> identify(String tenant, String channel, String externalId) {
    return run(Request.cmd(Command.EVAL).arg(LINK).arg(1).arg("sb:people:" + tenant)
      .arg(IdentityStore.newPersonId(random)).arg(field(channel, externalId)));
  }

  @Override
  public Future<String> link(String tenant, String channel, String externalId, String toChannel,
                             String toExternalId) {
    return run(Request.cmd(Command.EVAL).arg(LINK).arg(1).arg("sb:people:" + tenant)
      .arg(IdentityStore.newPersonId(random)).arg(field(toChannel, toExternalId)).arg(field(channel, externalId)));
  }

  private Future<String> run(Request request) {
    return guard.call(() -> redis.send(request)).map(response -> response.toString());
  }
}

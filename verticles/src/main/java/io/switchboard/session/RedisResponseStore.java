package io.switchboard.session;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;

import java.time.Duration;

/**
 * Stored responses in Redis, shared by every node: {@code sb:resp:<tenant>:<responseId>} holds the record as compact
 * JSON, with the session TTL. Behind the same {@link RedisGuard} as conversations, so a silent Redis fails calls fast.
 */
final class RedisResponseStore implements ResponseStore {
  private final Redis redis;
  private final RedisGuard guard;
  private final long ttlMillis;

  RedisResponseStore(Vertx vertx, String connectionString, Duration ttl) {
    this.redis = Redis.createClient(vertx, RedisConversationStore.options(connectionString));
    this.guard = RedisConversationStore.guard(vertx, "responses", redis);
    this.ttlMillis = ttl.toMillis();
  }

  private static String key(String tenant, String responseId) {
    return "sb:resp:" + tenant + ':' + responseId;
  }

  @Override
  public Future<JsonObject> get(String tenant, String responseId) {
    return guard.call(() -> redis.send(Request.cmd(Command.GET).arg(key(tenant, responseId))))
      .map(value -> value == null ? null : new JsonObject(value.toBuffer()));
  }

  @Override
  public Future<Void> put(String tenant, String responseId, JsonObject record) {
    return guard.call(() -> redis.send(Request.cmd(Command.SET).arg(key(tenant, responseId)).arg(record.toBuffer())
      .arg("PX").arg(ttlMillis))).mapEmpty();
  }

  @Override
  public Future<Boolean> delete(String tenant, String responseId) {
    return guard.call(() -> redis.send(Request.cmd(Command.DEL).arg(key(tenant, responseId))))
      .map(count -> count != null && count.toLong() > 0);
  }

  @Override
  public Future<Void> close() {
    return redis.close();
  }
}

package io.switchboard.governance;

import io.switchboard.session.RedisConversationStore;
import io.switchboard.session.RedisGuard;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.ArrayList;
import java.util.List;

/**
 * Keys and tenants in Redis, seen by every node: a hash per key ({@code sb:gov:key:<id>}, field {@code json}), an
 * index from the secret's SHA-256 to the key id ({@code sb:gov:key-index}), and the admin tenants in
 * {@code sb:gov:tenants} (name → JSON). Calls go through a {@link RedisGuard}.
 */
final class RedisKeyStore implements KeyStore {
  static final String INDEX = "sb:gov:key-index";
  static final String TENANTS = "sb:gov:tenants";
  private static final String PREFIX = "sb:gov:key:";

  private final Redis redis;
  private final RedisGuard guard;

  RedisKeyStore(Vertx vertx, Redis redis) {
    this.redis = redis;
    this.guard = RedisConversationStore.guard(vertx, "key store", redis);
  }

  @Override
  public Future<VirtualKey> byHash(String hash) {
    return send(Request.cmd(Command.HGET).arg(INDEX).arg(hash))
      .compose(id -> id == null ? Future.succeededFuture(null) : byId(id.toString()));
  }

  @Override
  public Future<VirtualKey> byId(String id) {
    return send(Request.cmd(Command.HGET).arg(PREFIX + id).arg("json"))
      .map(json -> json == null ? null : VirtualKey.fromStored(new JsonObject(json.toString())));
  }

  @Override
  public Future<List<VirtualKey>> keys() {
    return send(Request.cmd(Command.HVALS).arg(INDEX)).compose(ids -> {
      if (ids == null || ids.size() == 0) {
        return Future.succeededFuture(List.of());
      }
      List<Request> gets = new ArrayList<>();
      for (Response id : ids) {
        gets.add(Request.cmd(Command.HGET).arg(PREFIX + id.toString()).arg("json"));
      }
      return guard.call(() -> redis.batch(gets)).map(rows -> {
        List<VirtualKey> keys = new ArrayList<>();
        for (Response row : rows) {
          if (row != null) {
            keys.add(VirtualKey.fromStored(new JsonObject(row.toString())));
          }
        }
        return keys;
      });
    });
  }

  @Override
  public Future<Void> put(VirtualKey key) {
    return guard.call(() -> redis.batch(List.of(
      Request.cmd(Command.HSET).arg(PREFIX + key.id()).arg("json").arg(key.stored().encode()),
      Request.cmd(Command.HSET).arg(INDEX).arg(key.hash()).arg(key.id())))).mapEmpty();
  }

  @Override
  public Future<VirtualKey> delete(String id) {
    return byId(id).compose(key -> key == null ? Future.succeededFuture(null)
      : guard.call(() -> redis.batch(List.of(Request.cmd(Command.DEL).arg(PREFIX + id),
        Request.cmd(Command.HDEL).arg(INDEX).arg(key.hash())))).map(key));
  }

  @Override
  public Future<List<Tenant>> tenants() {
    return send(Request.cmd(Command.HVALS).arg(TENANTS)).map(rows -> {
      List<Tenant> tenants = new ArrayList<>();
      if (rows != null) {
        for (Response row : rows) {
          tenants.add(Tenant.fromJson(new JsonObject(row.toString())));
        }
      }
      return tenants;
    });
  }

  @Override
  public Future<Void> putTenant(Tenant tenant) {
    return send(Request.cmd(Command.HSET).arg(TENANTS).arg(tenant.name()).arg(tenant.toJson().encode())).mapEmpty();
  }

  @Override
  public Future<Boolean> deleteTenant(String name) {
    return send(Request.cmd(Command.HDEL).arg(TENANTS).arg(name)).map(n -> n.toLong() > 0);
  }

  private Future<Response> send(Request request) {
    return guard.call(() -> redis.send(request));
  }
}

package io.switchboard.session;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** Stored responses in this node's memory (the embedded default), each dropped once its TTL has passed. */
final class InMemoryResponseStore implements ResponseStore {
  private record Entry(JsonObject record, long expiresAt) {
  }

  private final Vertx vertx;
  private final long ttlMillis;
  private final Map<String, Entry> entries = new HashMap<>();
  private final long sweepTimer;

  InMemoryResponseStore(Vertx vertx, Duration ttl) {
    this.vertx = vertx;
    this.ttlMillis = ttl.toMillis();
    this.sweepTimer = vertx.setPeriodic(Math.max(1_000, Math.min(60_000, ttlMillis)), id -> {
      long now = System.currentTimeMillis();
      entries.values().removeIf(entry -> entry.expiresAt <= now);
    });
  }

  private static String key(String tenant, String responseId) {
    return tenant + '\n' + responseId;
  }

  @Override
  public Future<JsonObject> get(String tenant, String responseId) {
    Entry entry = entries.get(key(tenant, responseId));
    return Future.succeededFuture(entry == null || entry.expiresAt <= System.currentTimeMillis() ? null
      : entry.record);
  }

  @Override
  public Future<Void> put(String tenant, String responseId, JsonObject record) {
    entries.put(key(tenant, responseId), new Entry(record, System.currentTimeMillis() + ttlMillis));
    return Future.succeededFuture();
  }

  @Override
  public Future<Boolean> delete(String tenant, String responseId) {
    Entry removed = entries.remove(key(tenant, responseId));
    return Future.succeededFuture(removed != null && removed.expiresAt > System.currentTimeMillis());
  }

  @Override
  public Future<Void> close() {
    vertx.cancelTimer(sweepTimer);
    return Future.succeededFuture();
  }
}

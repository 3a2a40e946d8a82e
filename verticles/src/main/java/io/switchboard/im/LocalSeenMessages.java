package io.switchboard.im;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.LocalMap;

/**
 * Seen messages in this node's memory, shared by its connection verticle instances (a re-sent callback may reach
 * another one). Ids are kept in one map per {@link SeenMessages#TTL_MILLIS} period; a lookup checks the current and
 * the previous period, and the period before that is dropped whole, so no timer sweeps and memory stays bounded.
 */
final class LocalSeenMessages implements SeenMessages {
  private static final String PREFIX = "switchboard.im.seen.";

  private final Vertx vertx;
  private final long ttlMillis;
  private long droppedBefore;

  LocalSeenMessages(Vertx vertx, long ttlMillis) {
    this.vertx = vertx;
    this.ttlMillis = ttlMillis;
  }

  @Override
  public Future<Boolean> firstSight(String channel, String id) {
    return Future.succeededFuture(claim(channel + ":" + id));
  }

  boolean claim(String key) {
    long period = System.currentTimeMillis() / ttlMillis;
    if (droppedBefore < period - 1) {
      vertx.sharedData().getLocalMap(PREFIX + (period - 2)).close();
      droppedBefore = period - 1;
    }
    LocalMap<String, Boolean> current = vertx.sharedData().getLocalMap(PREFIX + period);
    boolean fresh = current.putIfAbsent(key, Boolean.TRUE) == null;
    return fresh && !vertx.sharedData().<String, Boolean>getLocalMap(PREFIX + (period - 1)).containsKey(key);
  }
}

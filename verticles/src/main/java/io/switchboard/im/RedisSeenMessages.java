package io.switchboard.im;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.session.RedisConversationStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Seen messages in Redis, shared by the whole cluster: {@code SET key 1 NX PX ttl} claims a message id atomically,
 * so of two nodes given the same callback only one answers it. While Redis cannot be reached, this node's memory
 * stands in (re-sends to the same node are still recognised) rather than leaving questions unanswered.
 */
final class RedisSeenMessages implements SeenMessages {
  private static final Logger LOG = LoggerFactory.getLogger(RedisSeenMessages.class);
  private static final String PREFIX = "switchboard:im:seen:";
  private static final long WARN_EVERY_MILLIS = 10_000;

  private final Redis redis;
  private final long ttlMillis;
  private final LocalSeenMessages fallback;
  private final Counter unavailable;
  private long lastWarning;

  RedisSeenMessages(Vertx vertx, String redisUrl, long ttlMillis, MeterRegistry registry) {
    this.redis = Redis.createClient(vertx, RedisConversationStore.options(redisUrl));
    this.ttlMillis = ttlMillis;
    this.fallback = new LocalSeenMessages(vertx, ttlMillis);
    this.unavailable = registry.counter("switchboard.im.dedup.unavailable");
  }

  @Override
  public Future<Boolean> firstSight(String channel, String id) {
    return redis.send(Request.cmd(Command.SET).arg(key(channel, id)).arg("1").arg("NX").arg("PX").arg(ttlMillis))
      .map(reply -> reply != null) // nil: the key was there, the message was seen
      .recover(failure -> {
        unavailable.increment();
        long now = System.currentTimeMillis();
        if (now - lastWarning > WARN_EVERY_MILLIS) {
          lastWarning = now;
          LOG.warn("im: Redis unreachable for re-sent callback detection, using this node's memory meanwhile ({})",
            failure.getClass().getSimpleName());
        }
        return Future.succeededFuture(fallback.claim(channel + ":" + id));
      });
  }

  /** The key that marks message {@code id} of {@code channel} as taken (also by {@link RedisImWork}'s offer). */
  static String key(String channel, String id) {
    return PREFIX + channel + ":" + (id.length() <= 200 ? id : sha256(id));
  }

  private static String sha256(String id) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  void close() {
    redis.close();
  }
}

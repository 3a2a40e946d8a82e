package io.switchboard.cache;

import io.switchboard.session.RedisConversationStore;
import io.switchboard.session.RedisGuard;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.List;

/**
 * The cache's Redis layer, shared by every node: entries under {@code sb:cache:...} with their TTL, and for
 * single-flight a claim per key under {@code sb:cache-lock:...}: a node that finds neither takes the claim
 * ({@code SET NX PX}) and calls the model; the others poll until the entry appears, the claim goes (its holder failed:
 * one of them takes it over), or the claim says {@value #PASS} (the answer was not storable: each asks on its own).
 * A claim is renewed while its holder works and lapses by itself when its node dies. Calls fail fast through a
 * {@link RedisGuard}: a cache that cannot reach Redis serves from its local layer and calls the model.
 */
final class SharedLayer {
  static final String PASS = "pass";
  private static final String RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then "
    + "return redis.call('del', KEYS[1]) else return 0 end";
  private static final String RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then "
    + "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
  private static final String HAND_OVER = "if redis.call('get', KEYS[1]) == ARGV[1] then "
    + "return redis.call('set', KEYS[1], 'pass', 'PX', ARGV[2]) else return 0 end";
  /** The entry if stored; else the claim, taken when free (ARGV[1] is then returned as its holder), or its holder. */
  private static final String LOOK_OR_CLAIM = "local v = redis.call('get', KEYS[1]) if v then return {v} end "
    + "if redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {false, ARGV[1]} end "
    + "return {false, redis.call('get', KEYS[2])}";
  private static final int SCAN_COUNT = 1_000;

  /** What a poll found: the entry's bytes, and who holds the claim (null: nobody). */
  record Poll(Buffer value, String claim) {
  }

  private final Redis redis;
  private final RedisGuard guard;

  SharedLayer(Vertx vertx, String url) {
    this.redis = Redis.createClient(vertx, RedisConversationStore.options(url));
    this.guard = RedisConversationStore.guard(vertx, "response cache", redis);
  }

  /**
   * One round trip, atomic: the stored entry; or, when there is none, the claim on computing it — taken by
   * {@code token} when free (the poll's claim is then {@code token}), else who holds it.
   */
  Future<Poll> lookOrClaim(CacheKey key, String token, long leaseMillis) {
    return send(Request.cmd(Command.EVAL).arg(LOOK_OR_CLAIM).arg(2).arg(key.id()).arg(key.lockId()).arg(token)
      .arg(leaseMillis)).map(response -> {
        Response claim = response.size() > 1 ? response.get(1) : null;
        return new Poll(bytes(response.get(0)), claim == null ? null : claim.toString());
      });
  }

  Future<Poll> poll(CacheKey key) {
    return send(Request.cmd(Command.MGET).arg(key.id()).arg(key.lockId())).map(response -> {
      Response claim = response.get(1);
      return new Poll(bytes(response.get(0)), claim == null ? null : claim.toString());
    });
  }

  /** Stores the entry and gives the claim up, in one round trip. */
  Future<Void> put(CacheKey key, Buffer value, long ttlMillis, String token) {
    Request set = Request.cmd(Command.SET).arg(key.id()).arg(value).arg("PX").arg(ttlMillis);
    if (token == null) {
      return send(set).mapEmpty();
    }
    return guard.call(() -> redis.batch(List.of(set, script(RELEASE, key, token)))).mapEmpty();
  }

  /** The holder failed: the claim goes, and a waiting node takes it over. */
  Future<Void> release(CacheKey key, String token) {
    return send(script(RELEASE, key, token)).mapEmpty();
  }

  Future<Void> renew(CacheKey key, String token, long leaseMillis) {
    return send(script(RENEW, key, token).arg(leaseMillis)).mapEmpty();
  }

  /** The answer could not be stored: the nodes waiting stop waiting and ask the model themselves. */
  Future<Void> handOver(CacheKey key, String token, long passMillis) {
    return send(script(HAND_OVER, key, token).arg(passMillis)).mapEmpty();
  }

  /** Removes every entry matching the SCAN pattern; the count removed. */
  Future<Long> flush(String pattern) {
    return scan("0", pattern, 0);
  }

  private Future<Long> scan(String cursor, String pattern, long removed) {
    return send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(SCAN_COUNT))
      .compose(page -> {
        String next = page.get(0).toString();
        Response keys = page.get(1);
        Future<Long> deleted = Future.succeededFuture(0L);
        if (keys.size() > 0) {
          Request unlink = Request.cmd(Command.UNLINK);
          for (Response key : keys) {
            unlink.arg(key.toString());
          }
          deleted = send(unlink).map(Response::toLong);
        }
        return deleted.compose(n -> next.equals("0") ? Future.succeededFuture(removed + n)
          : scan(next, pattern, removed + n));
      });
  }

  Future<Void> close() {
    return redis.close();
  }

  private static Request script(String script, CacheKey key, String token) {
    return Request.cmd(Command.EVAL).arg(script).arg(1).arg(key.lockId()).arg(token);
  }

  private Future<Response> send(Request request) {
    return guard.call(() -> redis.send(request));
  }

  private static Buffer bytes(Response response) {
    return response == null ? null : response.toBuffer();
  }
}

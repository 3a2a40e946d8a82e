package io.switchboard.session;

import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ConversationIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Conversations in Redis, shared by every node. Layout:
 * <ul>
 *   <li>{@code sb:conv:<tenant>:<conversationId>} — a LIST of compact JSON messages, oldest first, with an idle TTL;</li>
 *   <li>{@code sb:convs:<tenant>} — a sorted set of the tenant's conversation ids scored by last use (epoch ms).</li>
 * </ul>
 * Every operation is one pipelined batch, so one network round trip. Appends from several nodes at once are all kept:
 * each is a single RPUSH, so one append's messages stay together and nothing is overwritten.
 * When Redis is down, operations fail at once; when it stops answering, within {@link #SILENCE}, and then at once
 * while a {@link RedisGuard} keeps calls away from it; a slow one, within {@link #OPERATION_TIMEOUT}. The pooled client connects again once Redis is back.
 */
public final class RedisConversationStore implements ConversationStore {
  static final Duration CONNECT_TIMEOUT = Duration.ofMillis(500);
  static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(1);
  /** Redis silent this long with a call waiting: calls fail at once until it answers again (see {@link RedisGuard}). */
  static final Duration SILENCE = Duration.ofMillis(400);
  static final Duration IDLE_TIMEOUT = Duration.ofMinutes(1);
  private static final Logger LOG = LoggerFactory.getLogger(RedisConversationStore.class);

  private final Redis redis;
  private final RedisGuard guard;
  private final long ttlMillis;
  private final int maxMessages;

  public RedisConversationStore(Vertx vertx, String connectionString, Duration ttl, int maxMessages) {
    this(vertx, options(connectionString), ttl, maxMessages);
  }

  public RedisConversationStore(Vertx vertx, RedisOptions options, Duration ttl, int maxMessages) {
    if (ttl.toMillis() < 1) {
      throw new IllegalArgumentException("ttl must be at least 1 ms");
    }
    if (maxMessages < 1) {
      throw new IllegalArgumentException("maxMessages must be at least 1");
    }
    this.redis = Redis.createClient(vertx, options);
    this.guard = guard(vertx, "conversations", redis);
    this.ttlMillis = ttl.toMillis();
    this.maxMessages = maxMessages;
  }

  /**
   * Client options that fail fast. Each operation in flight holds one pooled connection, so 32 connections and 1,024
   * waiting operations absorb a Redis slowdown at thousands of turns a second; beyond that, operations fail at once
   * instead of queueing without bound.
   */
  public static RedisOptions options(String connectionString) {
    RedisOptions options = new RedisOptions()
      .setConnectionString(connectionString)
      .setMaxPoolSize(32)
      .setMaxPoolWaiting(1024)
      .setMaxWaitingHandlers(1024);
    options.getNetClientOptions()
      .setConnectTimeout((int) CONNECT_TIMEOUT.toMillis())
      // a server that accepted but went silent (hung, or gone behind a partition) would keep its connections, and
      // their pool slots, forever: close any connection with no traffic for a minute
      .setIdleTimeout((int) IDLE_TIMEOUT.toSeconds())
      .setIdleTimeoutUnit(TimeUnit.SECONDS)
      .setTcpKeepAlive(true)
      .setTcpNoDelay(true);
    return options;
  }

  @Override
  public Future<List<ChatMessage>> load(String tenant, String conversationId) {
    return checkIds(tenant, conversationId).compose(v -> {
      String key = conversationKey(tenant, conversationId);
      String index = indexKey(tenant);
      long now = System.currentTimeMillis();
      // refresh the index entry only of a conversation still alive: expired entries go first, then XX updates only
      // what is left, so loading an expired conversation does not bring it back into list()
      return batch(
        Request.cmd(Command.LRANGE).arg(key).arg(0).arg(-1),
        Request.cmd(Command.PEXPIRE).arg(key).arg(ttlMillis),
        pruneExpired(index, now),
        Request.cmd(Command.ZADD).arg(index).arg("XX").arg(now).arg(conversationId),
        Request.cmd(Command.PEXPIRE).arg(index).arg(ttlMillis));
    }).map(responses -> decode(responses.get(0)));
  }

  @Override
  public Future<Void> append(String tenant, String conversationId, List<ChatMessage> messages) {
    return checkIds(tenant, conversationId).compose(v -> {
      if (messages.isEmpty()) {
        return Future.succeededFuture();
      }
      String key = conversationKey(tenant, conversationId);
      String index = indexKey(tenant);
      long now = System.currentTimeMillis();
      Request push = Request.cmd(Command.RPUSH).arg(key);
      for (ChatMessage message : messages) {
        push.arg(encode(message));
      }
      return batch(
        push,
        Request.cmd(Command.LTRIM).arg(key).arg(-maxMessages).arg(-1),
        Request.cmd(Command.PEXPIRE).arg(key).arg(ttlMillis),
        Request.cmd(Command.ZADD).arg(index).arg(now).arg(conversationId),
        // keeps the index as small as the live set even when list() is never called
        pruneExpired(index, now),
        Request.cmd(Command.PEXPIRE).arg(index).arg(ttlMillis)).mapEmpty();
    });
  }

  @Override
  public Future<List<String>> list(String tenant) {
    return checkIds(tenant, null).compose(v -> {
      String index = indexKey(tenant);
      return batch(
        pruneExpired(index, System.currentTimeMillis()),
        Request.cmd(Command.ZREVRANGE).arg(index).arg(0).arg(-1));
    }).map(responses -> {
      List<String> ids = new ArrayList<>();
      for (Response id : responses.get(1)) {
        ids.add(id.toString());
      }
      return ids;
    });
  }

  @Override
  public Future<Boolean> delete(String tenant, String conversationId) {
    return checkIds(tenant, conversationId).compose(v -> batch(
        Request.cmd(Command.DEL).arg(conversationKey(tenant, conversationId)),
        Request.cmd(Command.ZREM).arg(indexKey(tenant)).arg(conversationId)))
      .map(responses -> responses.get(0).toInteger() == 1);
  }

  @Override
  public Future<Void> close() {
    return redis.close();
  }

  static String conversationKey(String tenant, String conversationId) {
    return "sb:conv:" + tenant + ':' + conversationId;
  }

  static String indexKey(String tenant) {
    return "sb:convs:" + tenant;
  }

  /** Removes the index entries of conversations idle longer than the TTL, whose lists Redis has expired. */
  private Request pruneExpired(String index, long now) {
    // scores come from each node's clock: a skew of s between nodes moves the cut-off by s
    return Request.cmd(Command.ZREMRANGEBYSCORE).arg(index).arg("-inf").arg("(" + (now - ttlMillis));
  }

  /** One write, one read: the client sends the whole batch in a single I/O operation. */
  private Future<List<Response>> batch(Request... requests) {
    return guard.call(() -> redis.batch(List.of(requests)));
  }

  /** The guard every Redis client of the gateway uses (the same silence and deadline). */
  public static RedisGuard guard(Vertx vertx, String name, Redis redis) {
    return new RedisGuard(vertx, name, SILENCE.toMillis(), OPERATION_TIMEOUT.toMillis(),
      () -> redis.send(Request.cmd(Command.PING)));
  }

  /**
   * A guard with a shorter deadline, for calls on a turn's hot path (the limit check): a call Redis has not answered
   * within {@code deadlineMillis} fails, and Redis answering nothing for most of that opens the breaker.
   */
  public static RedisGuard guard(Vertx vertx, String name, Redis redis, long deadlineMillis) {
    long deadline = Math.max(2, deadlineMillis);
    return new RedisGuard(vertx, name, Math.min(SILENCE.toMillis(), deadline * 4 / 5), deadline,
      () -> redis.send(Request.cmd(Command.PING)));
  }

  static String encode(ChatMessage message) {
    return message.json().encode(); // the whole OpenAI message: parts, tool calls and results included
  }

  private static List<ChatMessage> decode(Response stored) {
    List<ChatMessage> messages = new ArrayList<>(stored.size());
    for (Response entry : stored) {
      try {
        messages.add(new ChatMessage(new JsonObject(entry.toString())));
      } catch (RuntimeException unreadable) {
        // one bad entry (written by hand or by a future version) should not cost the whole conversation
        LOG.warn("skipping an unreadable stored message: {}", unreadable.getMessage());
      }
    }
    return messages;
  }

  private static Future<Void> checkIds(String tenant, String conversationId) {
    // the id pattern has no ':', so neither id can reach into another tenant's keys
    return ConversationIds.isValid(tenant) && (conversationId == null || ConversationIds.isValid(conversationId))
      ? Future.succeededFuture()
      : Future.failedFuture(new IllegalArgumentException("tenant and conversation id must be 1-128 of A-Z a-z 0-9 . _ -"));
  }
}

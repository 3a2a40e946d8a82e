package io.switchboard.session;

import io.switchboard.bus.ChatMessage;
import io.switchboard.testing.RedisServer;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RedisConversationStoreTest extends ConversationStoreContract {
  private static RedisServer redisServer;

  @BeforeAll
  static void startRedis() {
    redisServer = RedisServer.launch();
  }

  @AfterAll
  static void stopRedis() {
    redisServer.close();
  }

  @Override
  protected ConversationStore newStore(Vertx vertx, Duration ttl, int maxMessages) {
    return new RedisConversationStore(vertx, redisServer.url(), ttl, maxMessages);
  }

  @Override
  protected boolean sharedAcrossNodes() {
    return true;
  }

  @Test
  void storesCompactJsonInATenantScopedListWithAnIdleTtl() {
    ConversationStore store = open(Duration.ofSeconds(60), 100);
    loop.call(() -> store.append(tenant, "c-1", List.of(user("hi"), new ChatMessage("user", "yo", "bob"))));

    Redis raw = rawClient();
    String key = "sb:conv:" + tenant + ":c-1";
    Response stored = loop.call(() -> raw.send(Request.cmd(Command.LRANGE).arg(key).arg(0).arg(-1)));
    assertEquals("{\"role\":\"user\",\"content\":\"hi\"}", stored.get(0).toString());
    assertEquals("{\"role\":\"user\",\"content\":\"yo\",\"name\":\"bob\"}", stored.get(1).toString());

    long ttlMillis = loop.call(() -> raw.send(Request.cmd(Command.PTTL).arg(key))).toLong();
    assertTrue(ttlMillis > 50_000 && ttlMillis <= 60_000, "PTTL " + ttlMillis);
    assertNotNull(loop.call(() -> raw.send(Request.cmd(Command.ZSCORE).arg("sb:convs:" + tenant).arg("c-1"))));
  }

  @Test
  void skipsAStoredEntryItCannotRead() {
    ConversationStore store = open();
    loop.call(() -> store.append(tenant, "c-1", List.of(user("before"))));
    Redis raw = rawClient();
    loop.call(() -> raw.send(Request.cmd(Command.RPUSH).arg("sb:conv:" + tenant + ":c-1").arg("not json")));
    loop.call(() -> store.append(tenant, "c-1", List.of(user("after"))));

    assertEquals(List.of(user("before"), user("after")), loop.call(() -> store.load(tenant, "c-1")));
  }

  private Redis rawClient() {
    return loop.create(() -> Redis.createClient(vertx, redisServer.url()));
  }
}

package io.switchboard.session;

import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Vertx;

import java.time.Duration;

/** The stores the configuration asks for. */
public final class ConversationStores {
  private ConversationStores() {
  }

  public static ConversationStore create(Vertx vertx, SwitchboardConfig.Session session) {
    Duration ttl = Duration.ofSeconds(session.ttlSeconds());
    return switch (session.store()) {
      case "redis" -> new RedisConversationStore(vertx, session.redisUrl(), ttl, session.maxMessages());
      default -> new InMemoryConversationStore(vertx, ttl, session.maxMessages());
    };
  }

  /** Stored {@code /v1/responses} answers, kept as long as conversations are. */
  public static ResponseStore responses(Vertx vertx, SwitchboardConfig.Session session) {
    Duration ttl = Duration.ofSeconds(session.ttlSeconds());
    return session.store().equals("redis") ? new RedisResponseStore(vertx, session.redisUrl(), ttl)
      : new InMemoryResponseStore(vertx, ttl);
  }

  public static IdentityStore identities(Vertx vertx, SwitchboardConfig.Session session) {
    return session.store().equals("redis") ? new RedisIdentityStore(vertx, session.redisUrl())
      : new InMemoryIdentityStore();
  }
}

package io.switchboard.session;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class InMemoryConversationStoreTest extends ConversationStoreContract {

  @Override
  protected ConversationStore newStore(Vertx vertx, Duration ttl, int maxMessages) {
    return new InMemoryConversationStore(vertx, ttl, maxMessages);
  }

  @Override
  protected boolean sharedAcrossNodes() {
    return false;
  }

  @Test
  void expiredConversationsAreSweptWithoutBeingRead() throws InterruptedException {
    InMemoryConversationStore store = (InMemoryConversationStore) open(Duration.ofSeconds(1), 10);
    loop.call(() -> store.append(tenant, "a", List.of(user("x"))));
    loop.call(() -> store.append(otherTenant, "b", List.of(user("y"))));
    assertEquals(2, loop.call(() -> Future.succeededFuture(store.size())));

    // the sweep runs every second; by 2.5 s both have been idle past the TTL at some sweep
    Thread.sleep(2_500);

    assertEquals(0, loop.call(() -> Future.succeededFuture(store.size())));
  }
}

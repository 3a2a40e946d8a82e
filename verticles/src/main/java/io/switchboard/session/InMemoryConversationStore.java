package io.switchboard.session;

import io.switchboard.bus.ChatMessage;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Placeholder in-memory store (to be replaced by the full implementation). */
public final class InMemoryConversationStore implements ConversationStore {
  private final Map<String, List<ChatMessage>> conversations = new HashMap<>();
  private final int maxMessages;

  public InMemoryConversationStore(Vertx vertx, Duration ttl, int maxMessages) {
    this.maxMessages = maxMessages;
  }

  private static String key(String tenant, String id) {
    return tenant + '\u0000' + id;
  }

  @Override
  public Future<List<ChatMessage>> load(String tenant, String conversationId) {
    return Future.succeededFuture(List.copyOf(conversations.getOrDefault(key(tenant, conversationId), List.of())));
  }

  @Override
  public Future<Void> append(String tenant, String conversationId, List<ChatMessage> messages) {
    List<ChatMessage> list = conversations.computeIfAbsent(key(tenant, conversationId), k -> new ArrayList<>());
    list.addAll(messages);
    while (list.size() > maxMessages) {
      list.remove(0);
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<List<String>> list(String tenant) {
    return Future.succeededFuture(List.of());
  }

  @Override
  public Future<Boolean> delete(String tenant, String conversationId) {
    return Future.succeededFuture(conversations.remove(key(tenant, conversationId)) != null);
  }

  @Override
  public Future<Void> close() {
    return Future.succeededFuture();
  }
}

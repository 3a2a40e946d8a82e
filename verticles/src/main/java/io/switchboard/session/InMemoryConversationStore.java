package io.switchboard.session;

import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ConversationIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Conversations kept in this node's memory: the embedded default when no Redis is configured. An idle conversation is
 * forgotten after the TTL; each conversation keeps at most {@code maxMessages}, dropping the oldest.
 * Not thread-safe: create it on the event loop that will call it (its sweep timer runs there too).
 */
public final class InMemoryConversationStore implements ConversationStore {
  private static final long MIN_SWEEP_MILLIS = 1_000;
  private static final long MAX_SWEEP_MILLIS = 60_000;

  private record Key(String tenant, String conversationId) {
  }

  private static final class Conversation {
    final ArrayDeque<ChatMessage> messages = new ArrayDeque<>();
    long lastUsedNanos;
  }

  // access order: every use moves a conversation to the tail, so the head is always the least recently used
  private final LinkedHashMap<Key, Conversation> conversations = new LinkedHashMap<>(64, 0.75f, true);
  private final Vertx vertx;
  private final long ttlNanos;
  private final int maxMessages;
  private final long sweepTimer;

  public InMemoryConversationStore(Vertx vertx, Duration ttl, int maxMessages) {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl must be positive");
    }
    if (maxMessages < 1) {
      throw new IllegalArgumentException("maxMessages must be at least 1");
    }
    this.vertx = vertx;
    this.ttlNanos = ttl.toNanos();
    this.maxMessages = maxMessages;
    long sweepMillis = Math.max(MIN_SWEEP_MILLIS, Math.min(MAX_SWEEP_MILLIS, ttl.toMillis()));
    this.sweepTimer = vertx.setPeriodic(sweepMillis, id -> sweep());
  }

  @Override
  public Future<List<ChatMessage>> load(String tenant, String conversationId) {
    return checkIds(tenant, conversationId).map(v -> {
      Conversation conversation = live(new Key(tenant, conversationId));
      if (conversation == null) {
        return List.of();
      }
      conversation.lastUsedNanos = System.nanoTime();
      return List.copyOf(conversation.messages);
    });
  }

  @Override
  public Future<Void> append(String tenant, String conversationId, List<ChatMessage> messages) {
    return checkIds(tenant, conversationId).map(v -> {
      if (messages.isEmpty()) {
        return null;
      }
      Key key = new Key(tenant, conversationId);
      Conversation conversation = live(key);
      if (conversation == null) {
        conversation = new Conversation();
        conversations.put(key, conversation);
      }
      conversation.messages.addAll(messages);
      while (conversation.messages.size() > maxMessages) {
        conversation.messages.removeFirst();
      }
      conversation.lastUsedNanos = System.nanoTime();
      return null;
    });
  }

  @Override
  public Future<List<String>> list(String tenant) {
    return checkIds(tenant, null).map(v -> {
      long now = System.nanoTime();
      List<String> ids = new ArrayList<>();
      // iterating does not count as use, so the access order is untouched
      for (Map.Entry<Key, Conversation> entry : conversations.entrySet()) {
        if (entry.getKey().tenant().equals(tenant) && !expired(entry.getValue(), now)) {
          ids.add(entry.getKey().conversationId());
        }
      }
      return reversed(ids);
    });
  }

  @Override
  public Future<Boolean> delete(String tenant, String conversationId) {
    return checkIds(tenant, conversationId).map(v -> {
      Conversation removed = conversations.remove(new Key(tenant, conversationId));
      return removed != null && !expired(removed, System.nanoTime());
    });
  }

  @Override
  public Future<Void> close() {
    vertx.cancelTimer(sweepTimer);
    conversations.clear();
    return Future.succeededFuture();
  }

  /** Conversations held, expired or not: what the sweep frees. */
  int size() {
    return conversations.size();
  }

  void sweep() {
    long now = System.nanoTime();
    Iterator<Conversation> oldestFirst = conversations.values().iterator();
    while (oldestFirst.hasNext() && expired(oldestFirst.next(), now)) {
      oldestFirst.remove();
    }
  }

  private Conversation live(Key key) {
    Conversation conversation = conversations.get(key);
    if (conversation != null && expired(conversation, System.nanoTime())) {
      conversations.remove(key);
      return null;
    }
    return conversation;
  }

  private boolean expired(Conversation conversation, long now) {
    return now - conversation.lastUsedNanos >= ttlNanos;
  }

  private static Future<Void> checkIds(String tenant, String conversationId) {
    return ConversationIds.isValid(tenant) && (conversationId == null || ConversationIds.isValid(conversationId))
      ? Future.succeededFuture()
      : Future.failedFuture(new IllegalArgumentException("tenant and conversation id must be 1-128 of A-Z a-z 0-9 . _ -"));
  }

  private static List<String> reversed(List<String> ids) {
    List<String> newestFirst = new ArrayList<>(ids.size());
    for (int i = ids.size() - 1; i >= 0; i--) {
      newestFirst.add(ids.get(i));
    }
    return newestFirst;
  }
}

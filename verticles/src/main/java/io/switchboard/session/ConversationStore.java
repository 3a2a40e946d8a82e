package io.switchboard.session;

import io.switchboard.bus.ChatMessage;
import io.vertx.core.Future;

import java.util.List;

/**
 * Where conversation turns live. Keys are (tenant, conversation id): one tenant never sees another's.
 * Implementations are non-blocking and called from the session verticle's event loop only.
 */
public interface ConversationStore {

  /** The stored turns, oldest first; an empty list for an unknown conversation. Refreshes the idle TTL. */
  Future<List<ChatMessage>> load(String tenant, String conversationId);

  /** Adds turns at the end, atomically with respect to concurrent appends; refreshes the idle TTL. */
  Future<Void> append(String tenant, String conversationId, List<ChatMessage> messages);

  /** Ids of the tenant's live conversations. */
  Future<List<String>> list(String tenant);

  /** Removes a conversation; true when it existed. */
  Future<Boolean> delete(String tenant, String conversationId);

  Future<Void> close();
}

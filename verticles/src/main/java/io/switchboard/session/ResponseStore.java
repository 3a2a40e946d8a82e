package io.switchboard.session;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * Stored answers of {@code /v1/responses}: each one's response object and the conversation it ended, so that
 * {@code previous_response_id} can carry a conversation on. Keys are (tenant, response id): one tenant never sees
 * another's. Entries expire after the session TTL. Non-blocking, called from the session verticle's event loop only.
 */
public interface ResponseStore {

  /** The stored record, or null when there is none (never stored, expired, deleted, or another tenant's). */
  Future<JsonObject> get(String tenant, String responseId);

  Future<Void> put(String tenant, String responseId, JsonObject record);

  /** True when it existed. */
  Future<Boolean> delete(String tenant, String responseId);

  Future<Void> close();
}

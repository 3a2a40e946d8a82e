package io.switchboard.connection;

import io.switchboard.bus.ChatResult;
import io.vertx.core.json.JsonObject;

/** The OpenAI wire shapes Switchboard itself writes (answers themselves come as the upstream wrote them). */
final class OpenAiJson {
  private OpenAiJson() {
  }

  /** The turn's usage as the upstream reported it (details included), or counts of zero when it said nothing. */
  static JsonObject usage(ChatResult result) {
    return result.usage() != null ? result.usage() : new JsonObject().put("prompt_tokens", 0)
      .put("completion_tokens", 0).put("total_tokens", 0);
  }
}

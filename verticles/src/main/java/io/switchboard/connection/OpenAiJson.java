package io.switchboard.connection;

import io.switchboard.bus.ChatResult;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/** The OpenAI wire shapes Switchboard itself writes (answers themselves come as the upstream wrote them). */
public final class OpenAiJson {
  private OpenAiJson() {
  }


  /** The completion a result carries; one written from its message when an upstream gave none (never expected). */
  static Buffer completion(String requestId, String model, ChatResult result) {
    if (result.completion() != null) {
      return result.completion();
    }
    return new JsonObject().put("id", ChatResult.completionId(requestId)).put("object", "chat.completion")
      .put("created", System.currentTimeMillis() / 1000).put("model", model)
      .put("choices", new io.vertx.core.json.JsonArray().add(new JsonObject().put("index", 0)
        .put("message", result.message()).putNull("logprobs").put("finish_reason", result.finishReason())))
      .put("usage", usage(result)).toBuffer();
  }

  /** The turn's usage as the upstream reported it (details included), or counts of zero when it said nothing. */
  static JsonObject usage(ChatResult result) {
    return result.usage() != null ? result.usage() : new JsonObject().put("prompt_tokens", 0)
      .put("completion_tokens", 0).put("total_tokens", 0);
  }
}

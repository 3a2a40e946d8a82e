package io.switchboard.connection;

import io.switchboard.bus.ChatResult;
import io.switchboard.json.JsonText;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** The OpenAI wire shapes Switchboard answers in. */
public final class OpenAiJson {
  private OpenAiJson() {
  }

  static String completionId(String requestId) {
    return "chatcmpl-" + requestId;
  }

  static JsonObject completion(String requestId, String model, ChatResult result) {
    return new JsonObject()
      .put("id", completionId(requestId))
      .put("object", "chat.completion")
      .put("created", System.currentTimeMillis() / 1000)
      .put("model", model)
      .put("choices", new JsonArray().add(new JsonObject()
        .put("index", 0)
        .put("message", new JsonObject().put("role", "assistant").put("content", result.content())
          .putNull("refusal"))
        .putNull("logprobs")
        .put("finish_reason", result.finishReason())))
      .put("usage", usage(result));
  }

  static JsonObject usage(ChatResult result) {
    return new JsonObject().put("prompt_tokens", result.promptTokens())
      .put("completion_tokens", result.completionTokens()).put("total_tokens", result.totalTokens());
  }

  /** One server-sent event carrying a piece of text: the per-chunk work of every stream (see perf/jmh). */
  public static String deltaEvent(String prefix, String text, boolean first) {
    StringBuilder event = new StringBuilder(prefix.length() + text.length() + 96).append(prefix);
    event.append(first ? "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":"
      : "{\"index\":0,\"delta\":{\"content\":");
    JsonText.appendQuoted(event, text);
    return event.append("},\"logprobs\":null,\"finish_reason\":null}]}\n\n").toString();
  }

  /** Everything of a chunk before its delta; the same for every chunk of one stream. */
  public static String chunkPrefix(String requestId, String model) {
    StringBuilder prefix = new StringBuilder("data: {\"id\":\"").append(completionId(requestId))
      .append("\",\"object\":\"chat.completion.chunk\",\"created\":").append(System.currentTimeMillis() / 1000)
      .append(",\"model\":");
    JsonText.appendQuoted(prefix, model);
    return prefix.append(",\"choices\":[").toString();
  }
}

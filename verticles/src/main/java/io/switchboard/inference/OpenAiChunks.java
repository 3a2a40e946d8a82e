package io.switchboard.inference;

import io.switchboard.bus.ChatRequest;
import io.switchboard.json.JsonText;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * OpenAI's answer shapes for a turn answered in another protocol (Anthropic's Messages, a bridge worker's
 * messages): the translation writes {@code chat.completion.chunk}s and {@code chat.completion}s with the turn's id
 * and public model, so every channel downstream reads one format.
 */
final class OpenAiChunks {
  private final String id;
  private final String model;
  private final long created = System.currentTimeMillis() / 1000;

  /** Everything of a text delta's event before its text, made once per stream (text deltas are most chunks). */
  private String textPrefix;

  OpenAiChunks(ChatRequest request) {
    this.id = Upstream.completionId(request);
    this.model = request.model();
  }

  /** A chunk adding {@code field} text (content, reasoning_content), written without building a JSON tree. */
  Buffer text(String field, String text) {
    if (textPrefix == null) {
      StringBuilder prefix = new StringBuilder("data: {\"id\":");
      JsonText.appendQuoted(prefix, id);
      prefix.append(",\"object\":\"chat.completion.chunk\",\"created\":").append(created).append(",\"model\":");
      JsonText.appendQuoted(prefix, model);
      textPrefix = prefix.append(",\"choices\":[{\"index\":0,\"delta\":{").toString();
    }
    StringBuilder event = new StringBuilder(textPrefix.length() + field.length() + text.length() + 64)
      .append(textPrefix);
    JsonText.appendQuoted(event, field);
    event.append(':');
    JsonText.appendQuoted(event, text);
    return Buffer.buffer(event.append("},\"logprobs\":null,\"finish_reason\":null}]}\n\n").toString());
  }

  private JsonObject chunk() {
    return new JsonObject().put("id", id).put("object", "chat.completion.chunk").put("created", created)
      .put("model", model);
  }

  /** A chunk with one choice (its delta, and the finish reason once known, else null), as its stream event. */
  Buffer delta(JsonObject delta, String finishReason) {
    return io.switchboard.bus.StreamChunk.event(chunk().put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("delta", delta)
      .putNull("logprobs").put("finish_reason", finishReason))).toBuffer());
  }

  /** The usage chunk (no choices, the turn's usage), as its stream event. */
  Buffer usage(JsonObject usage) {
    return io.switchboard.bus.StreamChunk.event(chunk().put("choices", new JsonArray()).put("usage", usage).toBuffer());
  }

  /** A whole {@code chat.completion}. */
  Buffer completion(JsonObject message, String finishReason, JsonObject usage) {
    JsonObject completion = new JsonObject().put("id", id).put("object", "chat.completion").put("created", created)
      .put("model", model)
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("message", message)
        .putNull("logprobs").put("finish_reason", finishReason)));
    if (usage != null) {
      completion.put("usage", usage);
    }
    return completion.toBuffer();
  }

  /** OpenAI's usage object from prompt and completion counts. */
  static JsonObject usage(int prompt, int completion) {
    return new JsonObject().put("prompt_tokens", prompt).put("completion_tokens", completion)
      .put("total_tokens", prompt + completion);
  }
}

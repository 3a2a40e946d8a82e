package io.switchboard.inference;

import io.switchboard.bus.StreamChunk;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * A translated provider's stream (Anthropic, Bedrock, Gemini) as the {@code chat.completion.chunk}s OpenAI would
 * have sent: the role chunk once, before the first delta; text, reasoning and tool call deltas in OpenAI's shapes;
 * the finish and usage chunks; every chunk counted. A provider's reader says only when each is due.
 */
abstract class TranslatedStream implements StreamRelay.Reader {
  private final OpenAiChunks shapes;
  private final Upstream.Chunks out;
  private int chunks;
  private boolean roleSent;

  TranslatedStream(OpenAiChunks shapes, Upstream.Chunks out) {
    this.shapes = shapes;
    this.out = out;
  }

  @Override
  public final int chunks() {
    return chunks;
  }

  /** The role chunk, content "" before text and null before a tool call or reasoning, as OpenAI streams them. */
  final void role(boolean text) {
    if (!roleSent) {
      roleSent = true;
      send(shapes.delta(new JsonObject().put("role", "assistant").put("content", text ? "" : null), null), "", 0);
    }
  }

  final void sendText(String text) {
    send(shapes.text("content", text), text, 0);
  }

  final void sendReasoning(String text) {
    send(shapes.text("reasoning_content", text), "", StreamChunk.OTHER);
  }

  /** A tool call's first delta: its index, id and name, and the first piece of its arguments. */
  final void sendToolCallStart(int index, String id, String name, String arguments) {
    send(shapes.delta(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", index)
      .put("id", id).put("type", "function").put("function", new JsonObject().put("name", name)
        .put("arguments", arguments)))), null), "", StreamChunk.TOOL_CALLS);
  }

  /** A later piece of a tool call's arguments. */
  final void sendToolCallArguments(int index, String fragment) {
    send(shapes.delta(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", index)
      .put("function", new JsonObject().put("arguments", fragment)))), null), "", StreamChunk.TOOL_CALLS);
  }

  final void sendFinish(String finishReason) {
    send(shapes.delta(new JsonObject(), finishReason), "", 0);
  }

  final void sendUsage(JsonObject usage) {
    send(shapes.usage(usage), "", StreamChunk.USAGE_ONLY);
  }

  private void send(Buffer chunk, String text, int flags) {
    chunks++;
    out.chunk(chunk, text, flags);
  }
}

package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.chat.StreamSink;
import io.switchboard.vertx.WriteQueues;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * A stream whose client reads typed events ({@code event: <type>} then {@code data: <json>}) rather than relayed
 * {@code chat.completion.chunk}s: the Responses API's and Anthropic's Messages API's. The chunks every provider's
 * stream arrives as (OpenAI's, or a translation into them) are read here into blocks, in the order the client
 * must see them: a text block opens, grows and closes; a tool call opens with its id and name, grows by argument
 * fragments and closes; a new block closes the one before. Subclasses say how each of those looks to their client.
 * The events one chunk stands for go out in one write.
 */
abstract class TypedEventSink extends StreamSink {
  private static final byte[] EVENT = "event: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DATA = "\ndata: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

  private final HttpServerResponse response;
  private final FlowGate gate;
  /** What the chunk being read stands for, written at its end; null between chunks. */
  private Buffer pending;
  private boolean begun;
  /** The block open now: -1 none, else its place in the answer (0, 1, ...). */
  private int openBlock = -1;
  private boolean openIsText;
  /** The open text block is a refusal (OpenAI's {@code refusal} deltas), not content. */
  private boolean openIsRefusal;
  private int blocks;
  private final StringBuilder blockText = new StringBuilder();
  /** OpenAI's tool call index to the call's block; a call's arguments so far, id and name. */
  private final Map<Integer, ToolCall> calls = new HashMap<>();

  /** One tool call as it streams. */
  static final class ToolCall {
    final int block;
    final String id;
    final String name;
    final StringBuilder arguments = new StringBuilder();

    ToolCall(int block, String id, String name) {
      this.block = block;
      this.id = id;
      this.name = name;
    }
  }

  TypedEventSink(HttpServerResponse response, FlowGate gate) {
    this.response = response;
    this.gate = gate;
    WriteQueues.link(response); // an HTTP/2 client's stream: as SseTurn's
  }

  /** The first events of the stream (the answer's envelope), before any block. */
  protected abstract void begin();

  /** @param refusal the block is the model's refusal rather than its content */
  protected abstract void textOpened(int block, boolean refusal);

  protected abstract void textDelta(int block, String delta, boolean refusal);

  protected abstract void textClosed(int block, String text, boolean refusal);

  protected abstract void toolOpened(int block, ToolCall call);

  protected abstract void toolDelta(int block, ToolCall call, String fragment);

  protected abstract void toolClosed(int block, ToolCall call);

  /** The last events: the answer's end with its usage and finish reason. */
  protected abstract void finish(ChatResult result);

  /** A failure after the stream began, as the client's error event. */
  protected abstract void errorEvent(ApiError error);

  @Override
  public final boolean started() {
    return begun;
  }

  /** Queues one event of the chunk being read. */
  protected final void event(String type, JsonObject data) {
    if (pending == null) {
      pending = Buffer.buffer(256);
    }
    pending.appendBytes(EVENT).appendString(type).appendBytes(DATA).appendBuffer(data.toBuffer()).appendBytes(END);
  }

  @Override
  protected final void writeChunk(StreamChunk chunk) {
    if (response.closed()) {
      return;
    }
    if (!begun && chunk.deployment() != null && !response.headWritten()) {
      response.putHeader("x-switchboard-deployment", chunk.deployment());
    }
    beginIfNeeded();
    if (!chunk.has(StreamChunk.USAGE_ONLY)) {
      read(new JsonObject(chunk.json()));
    }
    flush(false);
  }

  private void read(JsonObject chunk) {
    JsonArray choices = chunk.getJsonArray("choices");
    if (choices == null || choices.isEmpty() || !(choices.getValue(0) instanceof JsonObject choice)
      || !(choice.getValue("delta") instanceof JsonObject delta)) {
      return;
    }
    text(delta.getValue("content"), false);
    text(delta.getValue("refusal"), true);
    if (delta.getValue("tool_calls") instanceof JsonArray toolCalls) {
      for (Object raw : toolCalls) {
        if (raw instanceof JsonObject call) {
          toolCall(call);
        }
      }
    }
  }

  private void text(Object value, boolean refusal) {
    if (!(value instanceof String text) || text.isEmpty()) {
      return;
    }
    if (openBlock < 0 || !openIsText || openIsRefusal != refusal) {
      closeOpen();
      openBlock = blocks++;
      openIsText = true;
      openIsRefusal = refusal;
      textOpened(openBlock, refusal);
    }
    blockText.append(text);
    textDelta(openBlock, text, refusal);
  }

  private void toolCall(JsonObject delta) {
    int index = delta.getInteger("index", 0);
    JsonObject function = delta.getJsonObject("function", new JsonObject());
    ToolCall call = calls.get(index);
    if (call == null) {
      closeOpen();
      call = new ToolCall(blocks++, delta.getString("id", "call_" + index), function.getString("name", ""));
      calls.put(index, call);
      openBlock = call.block;
      openIsText = false;
      toolOpened(call.block, call);
    }
    String fragment = function.getString("arguments");
    if (fragment != null && !fragment.isEmpty()) {
      call.arguments.append(fragment);
      toolDelta(call.block, call, fragment);
    }
  }

  private void closeOpen() {
    if (openBlock < 0) {
      return;
    }
    if (openIsText) {
      textClosed(openBlock, blockText.toString(), openIsRefusal);
      blockText.setLength(0);
    } else {
      for (ToolCall call : calls.values()) {
        if (call.block == openBlock) {
          toolClosed(openBlock, call);
        }
      }
    }
    openBlock = -1;
  }

  private void beginIfNeeded() {
    if (!begun) {
      begun = true;
      SseTurn.head(response, cache());
      begin();
    }
  }

  private void flush(boolean last) {
    Buffer out = pending;
    pending = null;
    if (last) {
      response.end(out == null ? Buffer.buffer() : out);
    } else if (out != null) {
      response.write(out);
      gate.wrote();
    }
  }

  @Override
  protected final void writeEnd(ChatResult result) {
    if (response.closed()) {
      return;
    }
    beginIfNeeded();
    closeOpen();
    finish(result);
    flush(true);
  }

  @Override
  public final void error(ApiError error) {
    if (response.closed()) {
      return;
    }
    beginIfNeeded();
    errorEvent(error);
    flush(true);
  }
}

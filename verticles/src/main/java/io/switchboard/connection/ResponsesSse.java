package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.function.BiConsumer;

/**
 * One streamed {@code /v1/responses} answer as the Responses API's typed events, each with its
 * {@code sequence_number}: {@code response.created}, {@code response.in_progress}, then per output item
 * {@code response.output_item.added}, for text {@code response.content_part.added},
 * {@code response.output_text.delta}..., {@code response.output_text.done} (a refusal: {@code response.refusal.delta}...,
 * {@code response.refusal.done}), {@code response.content_part.done}, for
 * a function call {@code response.function_call_arguments.delta}..., {@code response.function_call_arguments.done},
 * then {@code response.output_item.done}; last {@code response.completed} (or {@code response.incomplete}) with the
 * whole response and its usage. A failure after the start is an {@code error} event.
 */
final class ResponsesSse extends TypedEventSink {
  private final String responseId;
  private final long createdAt;
  private final ResponsesRequest request;
  private final BiConsumer<JsonObject, JsonObject> completed;
  private final JsonArray output = new JsonArray();
  private int sequence;

  /**
   * @param completed hears the finished response and the assistant message, as the last event goes out (so that a
   *                  store of it is on its way before the client can ask to continue from it)
   */
  ResponsesSse(HttpServerResponse response, FlowGate gate, String responseId, long createdAt,
               ResponsesRequest request, BiConsumer<JsonObject, JsonObject> completed) {
    super(response, gate);
    this.responseId = responseId;
    this.createdAt = createdAt;
    this.request = request;
    this.completed = completed;
  }

  private void send(String type, JsonObject data) {
    event(type, data.put("type", type).put("sequence_number", sequence++));
  }

  private JsonObject ofItem(int block) {
    return new JsonObject().put("output_index", block);
  }

  @Override
  protected void begin() {
    JsonObject response = ResponseObjects.response(responseId, createdAt, request, new JsonArray(), null);
    send("response.created", new JsonObject().put("response", response));
    send("response.in_progress", new JsonObject().put("response", response));
  }

  /** The part a text block is: output_text, or the model's refusal. */
  private static JsonObject part(String text, boolean refusal) {
    return refusal ? new JsonObject().put("type", "refusal").put("refusal", text) : ResponseObjects.textPart(text);
  }

  @Override
  protected void textOpened(int block, boolean refusal) {
    String itemId = ResponseObjects.messageId(responseId);
    send("response.output_item.added", ofItem(block)
      .put("item", ResponseObjects.messageItem(responseId, "in_progress", new JsonArray())));
    send("response.content_part.added", ofItem(block).put("item_id", itemId).put("content_index", 0)
      .put("part", part("", refusal)));
  }

  @Override
  protected void textDelta(int block, String delta, boolean refusal) {
    JsonObject event = ofItem(block).put("item_id", ResponseObjects.messageId(responseId)).put("content_index", 0)
      .put("delta", delta);
    if (refusal) {
      send("response.refusal.delta", event);
    } else {
      send("response.output_text.delta", event.put("logprobs", new JsonArray()));
    }
  }

  @Override
  protected void textClosed(int block, String text, boolean refusal) {
    String itemId = ResponseObjects.messageId(responseId);
    JsonObject part = part(text, refusal);
    JsonObject done = ofItem(block).put("item_id", itemId).put("content_index", 0);
    if (refusal) {
      send("response.refusal.done", done.put("refusal", text));
    } else {
      send("response.output_text.done", done.put("text", text).put("logprobs", new JsonArray()));
    }
    send("response.content_part.done", ofItem(block).put("item_id", itemId).put("content_index", 0)
      .put("part", part));
    JsonObject item = ResponseObjects.messageItem(responseId, "completed", new JsonArray().add(part));
    output.add(item);
    send("response.output_item.done", ofItem(block).put("item", item));
  }

  @Override
  protected void toolOpened(int block, ToolCall call) {
    send("response.output_item.added", ofItem(block)
      .put("item", ResponseObjects.callItem(call.id, call.name, "", "in_progress")));
  }

  @Override
  protected void toolDelta(int block, ToolCall call, String fragment) {
    send("response.function_call_arguments.delta", ofItem(block).put("item_id", ResponseObjects.callItemId(call.id))
      .put("delta", fragment));
  }

  @Override
  protected void toolClosed(int block, ToolCall call) {
    String arguments = call.arguments.toString();
    send("response.function_call_arguments.done", ofItem(block).put("item_id", ResponseObjects.callItemId(call.id))
      .put("name", call.name).put("arguments", arguments));
    JsonObject item = ResponseObjects.callItem(call.id, call.name, arguments, "completed");
    output.add(item);
    send("response.output_item.done", ofItem(block).put("item", item));
  }

  @Override
  protected void finish(ChatResult result) {
    if (output.isEmpty()) { // an empty answer is still one (empty) message, as the whole answer has
      textOpened(0, false);
      textClosed(0, "", false);
    }
    JsonObject response = ResponseObjects.response(responseId, createdAt, request, output, result);
    completed.accept(response, finalMessage(result));
    send("completed".equals(response.getString("status")) ? "response.completed" : "response.incomplete",
      new JsonObject().put("response", response));
  }

  @Override
  protected void errorEvent(ApiError error) {
    send("error", new JsonObject().put("code", error.code()).put("message", error.message())
      .put("param", error.param()));
  }
}

package io.switchboard.inference;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Puts a streamed assistant message back together from its deltas, the way the OpenAI SDKs do: text fields are
 * concatenated, tool calls are merged by index (id, type and name from their first delta, argument fragments
 * appended). Memory stores the result; a stream's chunks themselves are relayed untouched.
 */
final class MessageAssembler {
  private StringBuilder content;
  private final TreeMap<Integer, ToolCall> toolCalls = new TreeMap<>();
  private ToolCall functionCall;
  private final Map<String, StringBuilder> texts = new LinkedHashMap<>(2);

  private static final class ToolCall {
    String id;
    String type;
    String name;
    final StringBuilder arguments = new StringBuilder();

    JsonObject function() {
      return new JsonObject().put("name", name).put("arguments", arguments.toString());
    }
  }

  void content(String text) {
    if (content == null) {
      content = new StringBuilder();
    }
    content.append(text);
  }

  /** A text field other than content (refusal, reasoning_content, reasoning): appended; other values are skipped. */
  void other(String field, JsonParser json, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_STRING) {
      texts.computeIfAbsent(field, k -> new StringBuilder()).append(json.getText());
    } else {
      json.skipChildren();
    }
  }

  /** A text field other than content, given directly by a translated protocol (Anthropic's thinking deltas). */
  void text(String field, String fragment) {
    texts.computeIfAbsent(field, k -> new StringBuilder()).append(fragment);
  }

  /**
   * One tool call fragment given directly by a translated protocol: the call's index, its id and name on its first
   * fragment (null after), and a piece of its arguments.
   */
  void toolCall(int index, String id, String name, String arguments) {
    ToolCall fragment = new ToolCall();
    fragment.id = id;
    fragment.type = id == null ? null : "function";
    fragment.name = name;
    if (arguments != null) {
      fragment.arguments.append(arguments);
    }
    merge(toolCalls.computeIfAbsent(index, k -> new ToolCall()), fragment);
  }

  /** {@code delta.tool_calls}: an array of fragments, each naming the call it belongs to by index. */
  void toolCalls(JsonParser json, JsonToken value) throws IOException {
    if (value != JsonToken.START_ARRAY) {
      json.skipChildren();
      return;
    }
    while (json.nextToken() == JsonToken.START_OBJECT) {
      int index = toolCalls.isEmpty() ? 0 : toolCalls.lastKey();
      ToolCall fragment = new ToolCall();
      while (json.nextToken() == JsonToken.FIELD_NAME) {
        String field = json.currentName();
        JsonToken inner = json.nextToken();
        switch (field) {
          case "index" -> index = inner == JsonToken.VALUE_NUMBER_INT ? json.getIntValue() : index;
          case "id" -> fragment.id = inner == JsonToken.VALUE_STRING ? json.getText() : null;
          case "type" -> fragment.type = inner == JsonToken.VALUE_STRING ? json.getText() : null;
          case "function" -> readFunction(json, inner, fragment);
          default -> json.skipChildren();
        }
      }
      merge(toolCalls.computeIfAbsent(index, k -> new ToolCall()), fragment);
    }
  }

  /** The legacy {@code delta.function_call}. */
  void functionCall(JsonParser json, JsonToken value) throws IOException {
    ToolCall fragment = new ToolCall();
    readFunction(json, value, fragment);
    if (functionCall == null) {
      functionCall = new ToolCall();
    }
    merge(functionCall, fragment);
  }

  private static void readFunction(JsonParser json, JsonToken value, ToolCall into) throws IOException {
    if (value != JsonToken.START_OBJECT) {
      json.skipChildren();
      return;
    }
    while (json.nextToken() == JsonToken.FIELD_NAME) {
      String field = json.currentName();
      JsonToken inner = json.nextToken();
      if (field.equals("name") && inner == JsonToken.VALUE_STRING) {
        into.name = json.getText();
      } else if (field.equals("arguments") && inner == JsonToken.VALUE_STRING) {
        into.arguments.append(json.getText());
      } else {
        json.skipChildren();
      }
    }
  }

  private static void merge(ToolCall call, ToolCall fragment) {
    if (fragment.id != null) {
      call.id = fragment.id;
    }
    if (fragment.type != null) {
      call.type = fragment.type;
    }
    if (fragment.name != null) {
      call.name = call.name == null ? fragment.name : call.name + fragment.name;
    }
    call.arguments.append(fragment.arguments);
  }

  boolean hasToolCalls() {
    return !toolCalls.isEmpty() || functionCall != null;
  }

  /** The whole assistant message so far, in the shape of a non-streamed answer's {@code choices[0].message}. */
  JsonObject toJson() {
    JsonObject message = new JsonObject().put("role", "assistant");
    message.put("content", content != null ? content.toString() : hasToolCalls() ? null : "");
    texts.forEach((field, text) -> message.put(field, text.toString()));
    if (!toolCalls.isEmpty()) {
      JsonArray calls = new JsonArray();
      toolCalls.values().forEach(call -> calls.add(new JsonObject().put("id", call.id)
        .put("type", call.type == null ? "function" : call.type).put("function", call.function())));
      message.put("tool_calls", calls);
    }
    if (functionCall != null) {
      message.put("function_call", functionCall.function());
    }
    return message;
  }
}

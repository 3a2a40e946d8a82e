package io.switchboard.connection;

import io.switchboard.chat.ChatCompletionRequest;
import io.switchboard.chat.InvalidRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A client's {@code POST /v1/responses} body, translated to the Chat Completions turn every provider is reached with:
 * {@code input} (a string, or items: messages with input_text, input_image, input_file and input_audio parts,
 * function_call and function_call_output) becomes messages, {@code instructions} a system message first, function
 * {@code tools}, {@code tool_choice}, {@code text.format}, {@code reasoning.effort} and {@code max_output_tokens}
 * their Chat Completions names. What Chat Completions cannot say (built-in tools, background runs, stored prompts,
 * conversations) is a 400 naming the field, never silently dropped.
 *
 * @param body     the request as the client wrote it (what the response object echoes)
 * @param messages the new input as chat messages, without the instructions
 */
record ResponsesRequest(JsonObject body, String model, List<JsonObject> messages, String instructions, boolean stream,
                        boolean store, String previousResponseId, JsonObject chatOptions) {

  /** Fields read and translated here. */
  private static final Set<String> OWN = Set.of("model", "input", "instructions", "stream", "store",
    "previous_response_id", "tools", "tool_choice", "max_output_tokens", "text", "reasoning", "include",
    "truncation", "stream_options", "metadata", "background");
  /** Chat Completions parameters of the same name and meaning. */
  private static final Set<String> SAME = Set.of("temperature", "top_p", "parallel_tool_calls", "user",
    "service_tier", "prompt_cache_key", "safety_identifier", "top_logprobs");

  static ResponsesRequest parse(JsonObject body) {
    if (!(body.getValue("model") instanceof String model) || model.isBlank()) {
      throw InvalidRequest.of("'model' is required and must be a string.", "model");
    }
    JsonObject options = new JsonObject();
    for (String key : body.fieldNames()) {
      if (SAME.contains(key)) {
        options.put(key, body.getValue(key));
      } else if (!OWN.contains(key)) {
        throw InvalidRequest.of("'" + key + "' is not supported by this gateway's /v1/responses.", key);
      }
    }
    if (Boolean.TRUE.equals(body.getValue("background"))) {
      throw InvalidRequest.of("Background responses are not supported by this gateway.", "background");
    }
    if (options.getValue("top_logprobs") != null) {
      options.put("logprobs", true);
    }
    Object instructions = body.getValue("instructions");
    if (instructions != null && !(instructions instanceof String)) {
      throw InvalidRequest.of("'instructions' must be a string.", "instructions");
    }
    Object stream = body.getValue("stream", false);
    Object store = body.getValue("store", true);
    if (!(stream instanceof Boolean) || !(store instanceof Boolean)) {
      throw InvalidRequest.of("'" + (stream instanceof Boolean ? "store" : "stream") + "' must be a boolean.",
        stream instanceof Boolean ? "store" : "stream");
    }
    Object previous = body.getValue("previous_response_id");
    if (previous != null && !(previous instanceof String)) {
      throw InvalidRequest.of("'previous_response_id' must be a string.", "previous_response_id");
    }
    Object max = body.getValue("max_output_tokens");
    if (max != null) {
      if (!(max instanceof Integer count) || count < 16) {
        throw InvalidRequest.of("'max_output_tokens' must be an integer of at least 16.", "max_output_tokens");
      }
      options.put("max_completion_tokens", count);
    }
    tools(body, options);
    text(body.getValue("text"), options);
    if (body.getValue("reasoning") instanceof JsonObject reasoning && reasoning.getValue("effort") instanceof String e) {
      options.put("reasoning_effort", e);
    }
    return new ResponsesRequest(body, model, input(body.getValue("input")), (String) instructions, (Boolean) stream,
      (Boolean) store, (String) previous, options);
  }

  /** The Chat Completions request: instructions, then the stored conversation, then the new input. */
  ChatCompletionRequest chat(List<JsonObject> previous) {
    JsonArray messages = new JsonArray();
    if (instructions != null && !instructions.isEmpty()) {
      messages.add(new JsonObject().put("role", "system").put("content", instructions));
    }
    previous.forEach(messages::add);
    this.messages.forEach(messages::add);
    JsonObject chat = chatOptions.copy().put("model", model).put("messages", messages).put("stream", stream);
    return ChatCompletionRequest.parse(chat);
  }

  private static void tools(JsonObject body, JsonObject options) {
    Object tools = body.getValue("tools");
    if (tools != null) {
      if (!(tools instanceof JsonArray list)) {
        throw InvalidRequest.of("'tools' must be an array.", "tools");
      }
      JsonArray functions = new JsonArray();
      for (int i = 0; i < list.size(); i++) {
        String at = "tools[" + i + "]";
        if (!(list.getValue(i) instanceof JsonObject tool) || !"function".equals(tool.getValue("type"))) {
          throw InvalidRequest.of(at + ": only function tools are supported by this gateway (no built-in tools).",
            at + ".type");
        }
        if (!(tool.getValue("name") instanceof String name)) {
          throw InvalidRequest.of(at + ".name is required.", at + ".name");
        }
        JsonObject function = new JsonObject().put("name", name);
        for (String key : List.of("description", "parameters", "strict")) {
          if (tool.getValue(key) != null) {
            function.put(key, tool.getValue(key));
          }
        }
        functions.add(new JsonObject().put("type", "function").put("function", function));
      }
      if (!functions.isEmpty()) {
        options.put("tools", functions);
      }
    }
    Object choice = body.getValue("tool_choice");
    if (choice instanceof String mode && Set.of("auto", "none", "required").contains(mode)) {
      options.put("tool_choice", mode);
    } else if (choice instanceof JsonObject named && "function".equals(named.getValue("type"))
      && named.getValue("name") instanceof String name) {
      options.put("tool_choice", new JsonObject().put("type", "function")
        .put("function", new JsonObject().put("name", name)));
    } else if (choice != null) {
      throw InvalidRequest.of("'tool_choice' must be auto, none, required or {type: function, name}.", "tool_choice");
    }
  }

  /** {@code text.format} as response_format; {@code text.verbosity} as verbosity. */
  private static void text(Object text, JsonObject options) {
    if (text == null) {
      return;
    }
    if (!(text instanceof JsonObject t)) {
      throw InvalidRequest.of("'text' must be an object.", "text");
    }
    if (t.getValue("verbosity") instanceof String verbosity) {
      options.put("verbosity", verbosity);
    }
    if (!(t.getValue("format") instanceof JsonObject format)) {
      return;
    }
    switch (String.valueOf(format.getValue("type"))) {
      case "text" -> {
      }
      case "json_object" -> options.put("response_format", new JsonObject().put("type", "json_object"));
      case "json_schema" -> {
        if (!(format.getValue("name") instanceof String) || !(format.getValue("schema") instanceof JsonObject)) {
          throw InvalidRequest.of("text.format json_schema needs a string 'name' and an object 'schema'.",
            "text.format");
        }
        JsonObject schema = format.copy();
        schema.remove("type");
        options.put("response_format", new JsonObject().put("type", "json_schema").put("json_schema", schema));
      }
      default -> throw InvalidRequest.of("text.format.type must be text, json_object or json_schema.",
        "text.format.type");
    }
  }

  /** {@code input} as chat messages: consecutive function calls share one assistant message, as Chat wants. */
  static List<JsonObject> input(Object input) {
    List<JsonObject> messages = new ArrayList<>();
    if (input instanceof String text) {
      messages.add(new JsonObject().put("role", "user").put("content", text));
      return messages;
    }
    if (!(input instanceof JsonArray items) || items.isEmpty()) {
      throw InvalidRequest.of("'input' is required: a string or a non-empty array of input items.", "input");
    }
    for (int i = 0; i < items.size(); i++) {
      String at = "input[" + i + "]";
      if (!(items.getValue(i) instanceof JsonObject item)) {
        throw InvalidRequest.of(at + " must be an object.", at);
      }
      String type = item.getValue("type") instanceof String t ? t : item.containsKey("role") ? "message" : "";
      switch (type) {
        case "message" -> messages.add(message(item, at));
        case "function_call" -> {
          if (!(item.getValue("call_id") instanceof String callId) || !(item.getValue("name") instanceof String name)
            || !(item.getValue("arguments") instanceof String arguments)) {
            throw InvalidRequest.of(at + " needs string call_id, name and arguments.", at);
          }
          JsonObject call = new JsonObject().put("id", callId).put("type", "function")
            .put("function", new JsonObject().put("name", name).put("arguments", arguments));
          JsonObject last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
          if (last != null && "assistant".equals(last.getString("role"))) {
            JsonArray calls = last.getJsonArray("tool_calls");
            if (calls == null) {
              last.put("tool_calls", calls = new JsonArray());
            }
            calls.add(call);
          } else {
            messages.add(new JsonObject().put("role", "assistant").putNull("content")
              .put("tool_calls", new JsonArray().add(call)));
          }
        }
        case "function_call_output" -> {
          if (!(item.getValue("call_id") instanceof String callId)) {
            throw InvalidRequest.of(at + ".call_id is required.", at + ".call_id");
          }
          Object output = item.getValue("output");
          String text = output instanceof String s ? s : output instanceof JsonArray parts ? texts(parts, at + ".output")
            : null;
          if (text == null) {
            throw InvalidRequest.of(at + ".output must be a string or an array of input_text parts.", at + ".output");
          }
          messages.add(new JsonObject().put("role", "tool").put("tool_call_id", callId).put("content", text));
        }
        case "reasoning" -> {
          // a reasoning model's own item, handed back: Chat Completions has no place for it
        }
        default -> throw InvalidRequest.of(at + ".type '" + type + "' is not supported by this gateway.",
          at + ".type");
      }
    }
    return messages;
  }

  private static String texts(JsonArray parts, String at) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < parts.size(); i++) {
      if (!(parts.getValue(i) instanceof JsonObject part) || !"input_text".equals(part.getValue("type"))) {
        throw InvalidRequest.of(at + "[" + i + "]: a function call's output can only hold input_text here.",
          at + "[" + i + "].type");
      }
      text.append(part.getString("text", ""));
    }
    return text.toString();
  }

  private static JsonObject message(JsonObject item, String at) {
    Object role = item.getValue("role");
    if (!(role instanceof String r) || !Set.of("user", "assistant", "system", "developer").contains(r)) {
      throw InvalidRequest.of(at + ".role must be user, assistant, system or developer.", at + ".role");
    }
    Object content = item.getValue("content");
    if (content instanceof String text) {
      return new JsonObject().put("role", r).put("content", text);
    }
    if (!(content instanceof JsonArray parts)) {
      throw InvalidRequest.of(at + ".content must be a string or an array of content parts.", at + ".content");
    }
    if (r.equals("assistant")) {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < parts.size(); i++) {
        if (parts.getValue(i) instanceof JsonObject part && part.getValue("text") instanceof String t) {
          text.append(t);
        } else if (parts.getValue(i) instanceof JsonObject part && part.getValue("refusal") instanceof String t) {
          text.append(t);
        } else {
          throw InvalidRequest.of(at + ".content[" + i + "] must be output_text or refusal.", at + ".content[" + i + "]");
        }
      }
      return new JsonObject().put("role", r).put("content", text.toString());
    }
    JsonArray chatParts = new JsonArray();
    for (int i = 0; i < parts.size(); i++) {
      String partAt = at + ".content[" + i + "]";
      if (!(parts.getValue(i) instanceof JsonObject part) || !(part.getValue("type") instanceof String type)) {
        throw InvalidRequest.of(partAt + " must be an object with a string 'type'.", partAt + ".type");
      }
      chatParts.add(switch (type) {
        case "input_text" -> new JsonObject().put("type", "text").put("text", part.getString("text", ""));
        case "input_image" -> {
          if (!(part.getValue("image_url") instanceof String url)) {
            throw InvalidRequest.of(partAt + ".image_url is required (a URL or a data URL; file ids are not "
              + "supported here).", partAt + ".image_url");
          }
          JsonObject image = new JsonObject().put("url", url);
          if (part.getValue("detail") instanceof String detail) {
            image.put("detail", detail);
          }
          yield new JsonObject().put("type", "image_url").put("image_url", image);
        }
        case "input_file" -> {
          JsonObject file = new JsonObject();
          for (String key : List.of("file_data", "file_id", "filename")) {
            if (part.getValue(key) instanceof String value) {
              file.put(key, value);
            }
          }
          yield new JsonObject().put("type", "file").put("file", file);
        }
        case "input_audio" -> new JsonObject().put("type", "input_audio")
          .put("input_audio", part.getJsonObject("input_audio", new JsonObject()));
        default -> throw InvalidRequest.of(partAt + ".type '" + type + "' is not supported here.", partAt + ".type");
      });
    }
    return new JsonObject().put("role", r).put("content", chatParts);
  }
}

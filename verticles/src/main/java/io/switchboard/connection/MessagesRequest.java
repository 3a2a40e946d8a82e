package io.switchboard.connection;

import io.switchboard.chat.ChatCompletionRequest;
import io.switchboard.chat.InvalidRequest;
import io.switchboard.inference.AnthropicShapes;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Set;

/**
 * A client's Anthropic {@code POST /v1/messages} body, translated to the Chat Completions turn every provider is
 * reached with: {@code system} (a string or text blocks) a system message first, each turn's content blocks (text,
 * image by base64 or URL, PDF document, tool_use, tool_result) OpenAI's content parts, tool_calls and tool messages,
 * {@code tools}, {@code tool_choice}, {@code max_tokens} (required, as Anthropic requires it),
 * {@code stop_sequences}, {@code thinking} as a reasoning effort. The mappings both directions share are in
 * {@link AnthropicShapes}. What has no Chat Completions form (server tools, MCP servers, containers, images inside a
 * tool result) is a 400 naming the field.
 */
final class MessagesRequest {
  /** Parameters with the same name and meaning in Chat Completions. */
  private static final Set<String> SAME = Set.of("temperature", "top_p", "top_k", "service_tier");
  private static final Set<String> OWN = Set.of("model", "messages", "system", "max_tokens", "stop_sequences",
    "stream", "tools", "tool_choice", "metadata", "thinking");

  private MessagesRequest() {
  }

  static ChatCompletionRequest parse(JsonObject body) {
    if (!(body.getValue("model") instanceof String model) || model.isBlank()) {
      throw InvalidRequest.of("model: Field required", "model");
    }
    if (!(body.getValue("max_tokens") instanceof Integer maxTokens) || maxTokens < 1) {
      throw InvalidRequest.of("max_tokens: Field required (a positive integer)", "max_tokens");
    }
    JsonObject chat = new JsonObject().put("model", model).put("max_completion_tokens", maxTokens);
    for (String key : body.fieldNames()) {
      if (SAME.contains(key)) {
        chat.put(key, body.getValue(key));
      } else if (!OWN.contains(key)) {
        throw InvalidRequest.of(key + ": is not supported by this gateway's /v1/messages", key);
      }
    }
    Object stream = body.getValue("stream", false);
    if (!(stream instanceof Boolean)) {
      throw InvalidRequest.of("stream: Input should be a valid boolean", "stream");
    }
    chat.put("stream", stream);
    JsonArray messages = new JsonArray();
    system(body.getValue("system"), messages);
    if (!(body.getValue("messages") instanceof JsonArray turns) || turns.isEmpty()) {
      throw InvalidRequest.of("messages: Field required (a non-empty array)", "messages");
    }
    for (int i = 0; i < turns.size(); i++) {
      turn(turns.getValue(i), "messages." + i, messages);
    }
    chat.put("messages", messages);
    if (body.getValue("stop_sequences") instanceof JsonArray stop && !stop.isEmpty()) {
      chat.put("stop", stop);
    }
    if (body.getValue("metadata") instanceof JsonObject metadata && metadata.getValue("user_id") instanceof String user) {
      chat.put("user", user);
    }
    tools(body, chat);
    if (body.getValue("thinking") instanceof JsonObject thinking && "enabled".equals(thinking.getValue("type"))) {
      chat.put("reasoning_effort", AnthropicShapes.reasoningEffort(thinking.getInteger("budget_tokens", 0)));
    }
    return ChatCompletionRequest.parse(chat);
  }

  private static void system(Object system, JsonArray messages) {
    if (system == null) {
      return;
    }
    String text = system instanceof String s ? s : system instanceof JsonArray blocks ? texts(blocks, "system") : null;
    if (text == null) {
      throw InvalidRequest.of("system: Input should be a string or a list of text blocks", "system");
    }
    if (!text.isEmpty()) {
      messages.add(new JsonObject().put("role", "system").put("content", text));
    }
  }

  /** Text blocks joined (a system prompt, a tool result): anything but text is refused. */
  private static String texts(JsonArray blocks, String at) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < blocks.size(); i++) {
      if (!(blocks.getValue(i) instanceof JsonObject block) || !"text".equals(block.getValue("type"))
        || !(block.getValue("text") instanceof String t)) {
        throw InvalidRequest.of(at + "." + i + ": only text blocks are supported here", at + "." + i);
      }
      text.append(text.length() > 0 ? "\n\n" : "").append(t);
    }
    return text.toString();
  }

  private static void turn(Object raw, String at, JsonArray messages) {
    if (!(raw instanceof JsonObject turn) || !(turn.getValue("role") instanceof String role)
      || !Set.of("user", "assistant").contains(role)) {
      throw InvalidRequest.of(at + ".role: Input should be 'user' or 'assistant'", at + ".role");
    }
    Object content = turn.getValue("content");
    if (content instanceof String text) {
      messages.add(new JsonObject().put("role", role).put("content", text));
      return;
    }
    if (!(content instanceof JsonArray blocks)) {
      throw InvalidRequest.of(at + ".content: Input should be a string or a list of content blocks", at + ".content");
    }
    if (role.equals("assistant")) {
      messages.add(assistant(blocks, at + ".content"));
    } else {
      user(blocks, at + ".content", messages);
    }
  }

  /** Tool results become tool messages, first (they answer the calls just before); the rest one user message. */
  private static void user(JsonArray blocks, String at, JsonArray messages) {
    JsonArray parts = new JsonArray();
    for (int i = 0; i < blocks.size(); i++) {
      String blockAt = at + "." + i;
      if (!(blocks.getValue(i) instanceof JsonObject block) || !(block.getValue("type") instanceof String type)) {
        throw InvalidRequest.of(blockAt + ": a content block must be an object with a string 'type'", blockAt);
      }
      switch (type) {
        case "text" -> parts.add(new JsonObject().put("type", "text").put("text", block.getString("text", "")));
        case "image" -> parts.add(new JsonObject().put("type", "image_url").put("image_url",
          new JsonObject().put("url", AnthropicShapes.imageUrl(block.getValue("source"), blockAt))));
        case "document" -> parts.add(document(block, blockAt));
        case "tool_result" -> {
          if (!(block.getValue("tool_use_id") instanceof String id)) {
            throw InvalidRequest.of(blockAt + ".tool_use_id: Field required", blockAt + ".tool_use_id");
          }
          Object result = block.getValue("content", "");
          String text = result instanceof String s ? s : result instanceof JsonArray rb ? texts(rb, blockAt + ".content")
            : null;
          if (text == null) {
            throw InvalidRequest.of(blockAt + ".content: a string or text blocks", blockAt + ".content");
          }
          if (Boolean.TRUE.equals(block.getValue("is_error"))) {
            text = "Error: " + text; // Chat Completions has no error flag on a tool result
          }
          messages.add(new JsonObject().put("role", "tool").put("tool_call_id", id).put("content", text));
        }
        default -> throw InvalidRequest.of(blockAt + ".type: '" + type + "' is not supported in a user turn here",
          blockAt + ".type");
      }
    }
    if (!parts.isEmpty()) {
      boolean oneText = parts.size() == 1 && "text".equals(parts.getJsonObject(0).getString("type"));
      messages.add(new JsonObject().put("role", "user")
        .put("content", oneText ? parts.getJsonObject(0).getString("text") : parts));
    }
  }

  private static JsonObject document(JsonObject block, String at) {
    if (!(block.getValue("source") instanceof JsonObject source) || !"base64".equals(source.getValue("type"))
      || !"application/pdf".equals(source.getValue("media_type")) || !(source.getValue("data") instanceof String data)) {
      throw InvalidRequest.of(at + ".source: only base64 PDF documents are supported here", at + ".source");
    }
    JsonObject file = new JsonObject().put("file_data", "data:application/pdf;base64," + data);
    if (block.getValue("title") instanceof String title) {
      file.put("filename", title);
    }
    return new JsonObject().put("type", "file").put("file", file);
  }

  /** Text blocks are the content, tool_use blocks the tool calls; thinking blocks have no Chat form and are left. */
  private static JsonObject assistant(JsonArray blocks, String at) {
    StringBuilder text = new StringBuilder();
    JsonArray calls = new JsonArray();
    for (int i = 0; i < blocks.size(); i++) {
      String blockAt = at + "." + i;
      if (!(blocks.getValue(i) instanceof JsonObject block) || !(block.getValue("type") instanceof String type)) {
        throw InvalidRequest.of(blockAt + ": a content block must be an object with a string 'type'", blockAt);
      }
      switch (type) {
        case "text" -> text.append(block.getString("text", ""));
        case "tool_use" -> {
          if (!(block.getValue("id") instanceof String id) || !(block.getValue("name") instanceof String name)) {
            throw InvalidRequest.of(blockAt + ": tool_use needs a string id and name", blockAt);
          }
          Object input = block.getValue("input", new JsonObject());
          calls.add(new JsonObject().put("id", id).put("type", "function").put("function", new JsonObject()
            .put("name", name).put("arguments", input instanceof JsonObject o ? o.encode() : String.valueOf(input))));
        }
        case "thinking", "redacted_thinking" -> {
          // the model's own reasoning, handed back: Chat Completions has no place for it
        }
        default -> throw InvalidRequest.of(blockAt + ".type: '" + type + "' is not supported in an assistant turn "
          + "here", blockAt + ".type");
      }
    }
    JsonObject message = new JsonObject().put("role", "assistant");
    if (text.length() > 0 || calls.isEmpty()) {
      message.put("content", text.toString());
    } else {
      message.putNull("content");
    }
    if (!calls.isEmpty()) {
      message.put("tool_calls", calls);
    }
    return message;
  }

  private static void tools(JsonObject body, JsonObject chat) {
    if (body.getValue("tools") != null) {
      if (!(body.getValue("tools") instanceof JsonArray tools)) {
        throw InvalidRequest.of("tools: Input should be a valid list", "tools");
      }
      JsonArray functions = new JsonArray();
      for (int i = 0; i < tools.size(); i++) {
        functions.add(AnthropicShapes.openAiTool(tools.getValue(i), "tools." + i));
      }
      if (!functions.isEmpty()) {
        chat.put("tools", functions);
      }
    }
    Object choice = body.getValue("tool_choice");
    if (choice != null) {
      chat.put("tool_choice", AnthropicShapes.openAiToolChoice(choice));
      if (Boolean.TRUE.equals(((JsonObject) choice).getValue("disable_parallel_tool_use")) && chat.containsKey("tools")) {
        chat.put("parallel_tool_calls", false);
      }
      if (!chat.containsKey("tools")) {
        chat.remove("tool_choice"); // Chat Completions refuses a tool_choice without tools
      }
    }
  }
}

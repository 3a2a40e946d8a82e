package io.switchboard.inference;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What Anthropic's Messages API refuses with a 400 {@code invalid_request_error}, and in its words (the messages are
 * the ones the real API returns, as quoted in its users' bug reports). The fake answers only requests that pass.
 */
final class AnthropicRules {
  private static final Set<String> FIELDS = Set.of("model", "messages", "max_tokens", "system", "metadata",
    "stop_sequences", "stream", "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking", "service_tier");
  private static final Set<String> MEDIA_TYPES = Set.of("image/jpeg", "image/png", "image/gif", "image/webp");
  private static final Set<String> TOOL_FIELDS = Set.of("name", "description", "input_schema", "cache_control", "type");
  private static final Pattern ID = Pattern.compile("^[a-zA-Z0-9_-]+$");
  private static final Pattern TOOL_NAME = Pattern.compile("^[a-zA-Z0-9_-]{1,128}$");

  private AnthropicRules() {
  }

  /** Why Anthropic would refuse this request body, or null when it would take it. */
  static String refusal(JsonObject body) {
    for (String field : body.fieldNames()) {
      if (!FIELDS.contains(field)) {
        return field + ": Extra inputs are not permitted";
      }
    }
    if (!(body.getValue("model") instanceof String)) {
      return "model: Field required";
    }
    if (!(body.getValue("max_tokens") instanceof Integer maxTokens) || maxTokens < 1) {
      return "max_tokens: Field required";
    }
    if (body.getValue("temperature") instanceof Number t && (t.doubleValue() < 0 || t.doubleValue() > 1)) {
      return "temperature: range: 0..1";
    }
    String tools = tools(body);
    if (tools != null) {
      return tools;
    }
    String thinking = thinking(body, maxTokens);
    if (thinking != null) {
      return thinking;
    }
    return messages(body);
  }

  private static String tools(JsonObject body) {
    Set<String> names = new HashSet<>();
    if (body.getValue("tools") != null) {
      if (!(body.getValue("tools") instanceof JsonArray tools)) {
        return "tools: Input should be a valid list";
      }
      for (int i = 0; i < tools.size(); i++) {
        JsonObject tool = tools.getJsonObject(i);
        for (String field : tool.fieldNames()) {
          if (!TOOL_FIELDS.contains(field)) {
            return "tools." + i + ".custom." + field + ": Extra inputs are not permitted";
          }
        }
        if (!(tool.getValue("name") instanceof String name) || !TOOL_NAME.matcher(name).matches()) {
          return "tools." + i + ".custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'";
        }
        if (!(tool.getValue("input_schema") instanceof JsonObject schema)) {
          return "tools." + i + ".custom.input_schema: Field required";
        }
        if (!"object".equals(schema.getValue("type"))) {
          return "tools." + i + ".custom.input_schema.type: Input should be 'object'";
        }
        names.add(name);
      }
    }
    Object rawChoice = body.getValue("tool_choice");
    if (rawChoice == null) {
      return null;
    }
    if (!(rawChoice instanceof JsonObject choice)
      || !Set.of("auto", "any", "tool", "none").contains(String.valueOf(choice.getValue("type")))) {
      return "tool_choice: Input tag '" + (rawChoice instanceof JsonObject c ? c.getValue("type") : rawChoice)
        + "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'";
    }
    if (choice.getString("type").equals("tool") && !names.contains(choice.getString("name"))) {
      return "tool_choice.tool.name: Tool '" + choice.getString("name") + "' not found in tools";
    }
    if (choice.getValue("disable_parallel_tool_use") != null && (choice.getString("type").equals("none")
      || !(choice.getValue("disable_parallel_tool_use") instanceof Boolean))) {
      return "tool_choice." + choice.getString("type") + ".disable_parallel_tool_use: Extra inputs are not permitted";
    }
    return null;
  }

  private static String thinking(JsonObject body, int maxTokens) {
    if (!(body.getValue("thinking") instanceof JsonObject thinking)) {
      return body.getValue("thinking") == null ? null : "thinking: Input should be an object";
    }
    if (!"enabled".equals(thinking.getValue("type"))) {
      return null;
    }
    if (!(thinking.getValue("budget_tokens") instanceof Integer budget) || budget < 1024) {
      return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
    }
    if (maxTokens <= budget) {
      return "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
        + "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size";
    }
    if (body.getValue("temperature") instanceof Number t && t.doubleValue() != 1.0) {
      return "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at "
        + "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility";
    }
    if (body.getValue("top_p") instanceof Number p && p.doubleValue() < 0.95) {
      return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.";
    }
    String forced = body.getValue("tool_choice") instanceof JsonObject choice ? choice.getString("type") : "auto";
    if (forced.equals("any") || forced.equals("tool")) {
      return "Thinking may not be enabled when tool_choice forces tool use.";
    }
    return null;
  }

  private static String messages(JsonObject body) {
    if (!(body.getValue("messages") instanceof JsonArray messages) || messages.isEmpty()) {
      return "messages: Field required";
    }
    boolean usesTools = false;
    String lastRole = null;
    List<String> openCalls = new ArrayList<>(); // tool_use ids of the turn before, awaiting their results
    for (int i = 0; i < messages.size(); i++) {
      String at = "messages." + i;
      JsonObject message = messages.getJsonObject(i);
      String role = message.getString("role");
      if (!"user".equals(role) && !"assistant".equals(role)) {
        return at + ".role: Input should be 'user' or 'assistant'";
      }
      if (i == 0 && !role.equals("user")) {
        return "messages: first message must use the \"user\" role";
      }
      if (role.equals(lastRole)) {
        return "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"" + role
          + "\" roles in a row";
      }
      lastRole = role;
      Object content = message.getValue("content");
      boolean finalAssistant = i == messages.size() - 1 && role.equals("assistant");
      if (content instanceof String text) {
        if (text.isEmpty() && !finalAssistant) {
          return "messages." + i + ": all messages must have non-empty content except for the optional final "
            + "assistant message";
        }
        if (!openCalls.isEmpty()) {
          return unanswered(i - 1, openCalls);
        }
        if (finalAssistant && !text.equals(text.stripTrailing())) {
          return "messages: final assistant content cannot end with trailing whitespace";
        }
        continue;
      }
      if (!(content instanceof JsonArray blocks) || blocks.isEmpty() && !finalAssistant) {
        return "messages." + i + ": all messages must have non-empty content except for the optional final "
          + "assistant message";
      }
      List<String> calls = new ArrayList<>();
      Set<String> answered = new HashSet<>();
      boolean pastResults = false;
      for (int j = 0; j < blocks.size(); j++) {
        String blockAt = at + ".content." + j;
        JsonObject block = blocks.getJsonObject(j);
        String type = String.valueOf(block.getValue("type"));
        if (!type.equals("tool_result")) {
          pastResults = true;
        }
        switch (type) {
          case "text" -> {
            if (!(block.getValue("text") instanceof String text) || text.isEmpty()) {
              return blockAt + ".text: Field required";
            }
            if (text.isBlank()) {
              return "messages: text content blocks must contain non-whitespace text";
            }
            if (finalAssistant && j == blocks.size() - 1 && !text.equals(text.stripTrailing())) {
              return "messages: final assistant content cannot end with trailing whitespace";
            }
          }
          case "image", "document" -> {
            String image = source(block, type, role, blockAt);
            if (image != null) {
              return image;
            }
          }
          case "thinking" -> {
            if (!role.equals("assistant") || !(block.getValue("signature") instanceof String)) {
              return blockAt + ".thinking.signature: Field required";
            }
          }
          case "tool_use" -> {
            usesTools = true;
            if (!role.equals("assistant")) {
              return blockAt + ": tool_use blocks can only be in assistant messages";
            }
            if (!(block.getValue("id") instanceof String id) || !ID.matcher(id).matches()) {
              return blockAt + ".tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'";
            }
            if (!(block.getValue("name") instanceof String)) {
              return blockAt + ".tool_use.name: Field required";
            }
            if (!(block.getValue("input") instanceof JsonObject)) {
              return blockAt + ".tool_use.input: Input should be a valid dictionary";
            }
            calls.add(id);
          }
          case "tool_result" -> {
            usesTools = true;
            String id = String.valueOf(block.getValue("tool_use_id"));
            if (!role.equals("user") || pastResults || !openCalls.contains(id)) {
              return blockAt + ": unexpected `tool_use_id` found in `tool_result` blocks: " + id + ". Each "
                + "`tool_result` block must have a corresponding `tool_use` block in the previous message.";
            }
            Object result = block.getValue("content");
            if (result != null && !(result instanceof String) && !(result instanceof JsonArray)) {
              return blockAt + ".tool_result.content: Input should be a valid list";
            }
            answered.add(id);
          }
          default -> {
            return blockAt + ": Input tag '" + type + "' found using 'type' does not match any of the expected tags";
          }
        }
      }
      if (!answered.containsAll(openCalls)) {
        return unanswered(i - 1, openCalls.stream().filter(id -> !answered.contains(id)).toList());
      }
      openCalls = calls;
    }
    if (usesTools && !(body.getValue("tools") instanceof JsonArray)) {
      return "Requests which include `tool_use` or `tool_result` blocks must define tools.";
    }
    if (body.getValue("thinking") instanceof JsonObject) {
      return thinkingInToolRound(messages);
    }
    return null;
  }

  private static String unanswered(int assistant, List<String> ids) {
    return "messages." + assistant + ": `tool_use` ids were found without `tool_result` blocks immediately after: "
      + String.join(", ", ids) + ". Each `tool_use` block must have a corresponding `tool_result` block in the "
      + "next message.";
  }

  private static String source(JsonObject block, String type, String role, String at) {
    if (!role.equals("user")) {
      return at + ": " + type + " blocks can only be in user messages";
    }
    if (!(block.getValue("source") instanceof JsonObject source)) {
      return at + "." + type + ".source: Field required";
    }
    String sourceType = String.valueOf(source.getValue("type"));
    if (sourceType.equals("base64")) {
      if (type.equals("image") && !MEDIA_TYPES.contains(String.valueOf(source.getValue("media_type")))) {
        return at + ".image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or "
          + "'image/webp'";
      }
      if (type.equals("document") && !"application/pdf".equals(source.getValue("media_type"))) {
        return at + ".document.source.base64.media_type: Input should be 'application/pdf'";
      }
      if (!(source.getValue("data") instanceof String data) || data.isEmpty()) {
        return at + "." + type + ".source.base64.data: Field required";
      }
      return null;
    }
    if (sourceType.equals("url")) {
      return source.getValue("url") instanceof String url && url.startsWith("http") ? null
        : at + "." + type + ".source.url.url: Field required";
    }
    return at + "." + type + ".source: Input tag '" + sourceType + "' found using 'type' does not match any of the "
      + "expected tags: 'base64', 'url'";
  }

  /** With thinking on, the assistant turn whose tool calls are being answered must open with its thinking block. */
  private static String thinkingInToolRound(JsonArray messages) {
    for (int i = messages.size() - 1; i >= 0; i--) {
      JsonObject message = messages.getJsonObject(i);
      if (message.getString("role").equals("assistant")) {
        if (message.getValue("content") instanceof JsonArray blocks && !blocks.isEmpty()
          && blocks.stream().anyMatch(b -> "tool_use".equals(((JsonObject) b).getString("type")))
          && !"thinking".equals(blocks.getJsonObject(0).getString("type"))) {
          return "messages." + i + ".content.0.type: Expected `thinking` or `redacted_thinking`, but found `"
            + blocks.getJsonObject(0).getString("type") + "`. When `thinking` is enabled, a final `assistant` "
            + "message must start with a thinking block.";
        }
        return null;
      }
    }
    return null;
  }
}

package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Objects;
import java.util.Set;

/**
 * One message of a conversation, kept as the OpenAI JSON object it is: content as a string or an array of parts
 * (text, image_url, input_audio, file), assistant {@code tool_calls}, the tool message's {@code tool_call_id},
 * {@code name}, {@code refusal}, {@code audio} and any field added later all travel untouched. The gateway reads
 * the few fields it needs through the accessors. The JSON is never changed after construction: use {@link #with}.
 */
public record ChatMessage(JsonObject json) {
  /** OpenAI's roles; {@code function} is the legacy tool result role, still accepted by the API. */
  public static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool", "function");

  public ChatMessage {
    Objects.requireNonNull(json, "json");
    if (!(json.getValue("role") instanceof String role) || !ROLES.contains(role)) {
      throw new IllegalArgumentException("unknown role '" + json.getValue("role") + "'");
    }
  }

  /** A plain text message. */
  public ChatMessage(String role, String content) {
    this(new JsonObject().put("role", role).put("content", content == null ? "" : content));
  }

  /** A plain text message with the participant's name (none when null). */
  public ChatMessage(String role, String content, String name) {
    this(name == null ? new JsonObject().put("role", role).put("content", content == null ? "" : content)
      : new JsonObject().put("role", role).put("content", content == null ? "" : content).put("name", name));
  }

  public String role() {
    return json.getString("role");
  }

  public String name() {
    return json.getValue("name") instanceof String name ? name : null;
  }

  /** The message's text: its string content, or its text parts joined; "" when it has none (a tool call). */
  public String text() {
    Object content = json.getValue("content");
    if (content instanceof String text) {
      return text;
    }
    if (content instanceof JsonArray parts) {
      StringBuilder text = new StringBuilder();
      for (Object part : parts) {
        if (part instanceof JsonObject p && "text".equals(p.getValue("type")) && p.getValue("text") instanceof String t) {
          text.append(t);
        }
      }
      return text.toString();
    }
    return "";
  }

  /** The content parts when content is an array (null when it is a string or absent). */
  public JsonArray parts() {
    return json.getValue("content") instanceof JsonArray parts ? parts : null;
  }

  /** An assistant message that calls tools (or the legacy single function). */
  public boolean callsTools() {
    return json.getValue("tool_calls") instanceof JsonArray calls && !calls.isEmpty()
      || json.getValue("function_call") instanceof JsonObject;
  }

  /** The answer to a tool call (role tool, or the legacy function role). */
  public boolean isToolResult() {
    String role = role();
    return role.equals("tool") || role.equals("function");
  }

  public boolean isSystem() {
    String role = role();
    return role.equals("system") || role.equals("developer");
  }

  /** A copy with one field set (or removed, when {@code value} is null). */
  public ChatMessage with(String field, Object value) {
    JsonObject copy = json.copy();
    if (value == null) {
      copy.remove(field);
    } else {
      copy.put(field, value);
    }
    return new ChatMessage(copy);
  }

  static void write(Buffer buffer, ChatMessage message) {
    Wire.writeJson(buffer, message.json);
  }

  static ChatMessage read(Wire.Reader reader) {
    return new ChatMessage(reader.readJson());
  }
}

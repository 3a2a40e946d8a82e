package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;
import java.util.Set;

/** One turn of a conversation in OpenAI's roles. */
public record ChatMessage(String role, String content, String name) {
  public static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

  public ChatMessage {
    Objects.requireNonNull(role, "role");
    if (!ROLES.contains(role)) {
      throw new IllegalArgumentException("unknown role '" + role + "'");
    }
    content = content == null ? "" : content;
  }

  public ChatMessage(String role, String content) {
    this(role, content, null);
  }

  public boolean isSystem() {
    return role.equals("system") || role.equals("developer");
  }

  static void write(Buffer buffer, ChatMessage message) {
    Wire.writeString(buffer, message.role);
    Wire.writeString(buffer, message.content);
    Wire.writeString(buffer, message.name);
  }

  static ChatMessage read(Wire.Reader reader) {
    return new ChatMessage(reader.readString(), reader.readString(), reader.readString());
  }
}

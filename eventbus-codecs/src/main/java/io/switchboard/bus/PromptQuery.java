package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.List;
import java.util.Objects;

/**
 * Ask the session verticle for what goes upstream: the conversation's stored turns, then the client's new
 * messages, trimmed to the model's context budget. The reply is a {@link History} holding that prompt.
 *
 * @param contextTokens the token budget of the prompt; 0 for no trimming
 */
public record PromptQuery(String tenant, String conversationId, List<ChatMessage> fresh, int contextTokens) {
  public static final RecordCodec<PromptQuery> CODEC =
    new RecordCodec<>(PromptQuery.class, PromptQuery::write, PromptQuery::read);

  public PromptQuery {
    Objects.requireNonNull(tenant, "tenant");
    ConversationIds.check(conversationId);
    fresh = List.copyOf(fresh);
    if (contextTokens < 0) {
      throw new IllegalArgumentException("contextTokens must not be negative");
    }
  }

  private static void write(Buffer buffer, PromptQuery q) {
    Wire.writeString(buffer, q.tenant);
    Wire.writeString(buffer, q.conversationId);
    Wire.writeList(buffer, q.fresh, ChatMessage::write);
    buffer.appendInt(q.contextTokens);
  }

  private static PromptQuery read(Wire.Reader in) {
    return new PromptQuery(in.readString(), in.readString(), in.readList(ChatMessage::read), in.readInt());
  }
}

package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.List;
import java.util.Objects;

/** Turns to add to the end of a conversation once a chat turn has completed. */
public record HistoryAppend(String tenant, String conversationId, List<ChatMessage> messages) {
  public static final RecordCodec<HistoryAppend> CODEC =
    new RecordCodec<>(HistoryAppend.class, HistoryAppend::write, HistoryAppend::read);

  public HistoryAppend {
    Objects.requireNonNull(tenant, "tenant");
    ConversationIds.check(conversationId);
    messages = List.copyOf(messages);
  }

  private static void write(Buffer buffer, HistoryAppend a) {
    Wire.writeString(buffer, a.tenant);
    Wire.writeString(buffer, a.conversationId);
    Wire.writeList(buffer, a.messages, ChatMessage::write);
  }

  private static HistoryAppend read(Wire.Reader in) {
    return new HistoryAppend(in.readString(), in.readString(), in.readList(ChatMessage::read));
  }
}

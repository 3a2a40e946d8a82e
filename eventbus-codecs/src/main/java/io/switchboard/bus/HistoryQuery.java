package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/** Ask the session verticle for a conversation's earlier turns; the reply is a {@link History}. */
public record HistoryQuery(String tenant, String conversationId) {
  public static final RecordCodec<HistoryQuery> CODEC =
    new RecordCodec<>(HistoryQuery.class, HistoryQuery::write, HistoryQuery::read);

  public HistoryQuery {
    Objects.requireNonNull(tenant, "tenant");
    ConversationIds.check(conversationId);
  }

  private static void write(Buffer buffer, HistoryQuery q) {
    Wire.writeString(buffer, q.tenant);
    Wire.writeString(buffer, q.conversationId);
  }

  private static HistoryQuery read(Wire.Reader in) {
    return new HistoryQuery(in.readString(), in.readString());
  }
}

package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.List;
import java.util.Objects;

/**
 * A chat turn on its way from the connection verticle through routing to an inference proxy.
 *
 * @param options  the client's sampling parameters (temperature, max_tokens, stop, ...) as a JSON
 *                 object text, passed to the upstream untouched; null when none were given
 * @param inbox    where stream chunks go (the requesting connection's per-node inbox); null when not streaming
 * @param timeoutMillis how long the whole turn may take, end to end
 */
public record ChatRequest(String requestId, String tenant, String model, List<ChatMessage> messages,
                          boolean stream, String options, String inbox, long timeoutMillis,
                          String conversationId, int priority) {
  public static final RecordCodec<ChatRequest> CODEC =
    new RecordCodec<>(ChatRequest.class, ChatRequest::write, ChatRequest::read);

  public ChatRequest {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(tenant, "tenant");
    if (model == null || model.isBlank()) {
      throw new IllegalArgumentException("model must not be blank");
    }
    messages = List.copyOf(messages);
    if (messages.isEmpty()) {
      throw new IllegalArgumentException("messages must not be empty");
    }
    if (stream && inbox == null) {
      throw new IllegalArgumentException("a streaming request needs an inbox");
    }
    if (timeoutMillis <= 0) {
      throw new IllegalArgumentException("timeoutMillis must be positive");
    }
  }

  public ChatRequest withMessages(List<ChatMessage> newMessages) {
    return new ChatRequest(requestId, tenant, model, newMessages, stream, options, inbox, timeoutMillis,
      conversationId, priority);
  }

  public ChatRequest withModel(String newModel) {
    return new ChatRequest(requestId, tenant, newModel, messages, stream, options, inbox, timeoutMillis,
      conversationId, priority);
  }

  private static void write(Buffer buffer, ChatRequest r) {
    Wire.writeString(buffer, r.requestId);
    Wire.writeString(buffer, r.tenant);
    Wire.writeString(buffer, r.model);
    Wire.writeList(buffer, r.messages, ChatMessage::write);
    buffer.appendByte((byte) (r.stream ? 1 : 0));
    Wire.writeString(buffer, r.options);
    Wire.writeString(buffer, r.inbox);
    buffer.appendLong(r.timeoutMillis);
    Wire.writeString(buffer, r.conversationId);
    buffer.appendInt(r.priority);
  }

  private static ChatRequest read(Wire.Reader in) {
    return new ChatRequest(in.readString(), in.readString(), in.readString(), in.readList(ChatMessage::read),
      in.readBoolean(), in.readString(), in.readString(), in.readLong(), in.readString(), in.readInt());
  }
}

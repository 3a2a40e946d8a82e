package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Objects;

/**
 * A chat turn on its way from the connection verticle through routing to an inference proxy.
 *
 * @param options  every top-level field of the client's request the gateway does not own (temperature, tools,
 *                 tool_choice, response_format, logprobs, stream_options, metadata, ...), passed to the upstream
 *                 untouched; null when there were none. Never changed after construction
 * @param inbox    where stream chunks go (the requesting connection's per-node inbox); null when not streaming
 * @param timeoutMillis how long the whole turn may take, end to end
 * @param attempt  which try of this turn this is (0 first); routing numbers retries, hedges and failovers
 * @param seqStart the sequence number of this attempt's first chunk: chunks an earlier attempt already
 *                 streamed are not sent again, a continuation goes on from there
 * @param grantAddress when set (hedged streams), ask there before streaming: only one attempt may stream
 * @param controlAddress where the proxy that takes an attempt says which cluster node it runs on, so that
 *                     routing notices at once when that node dies (null: nobody asks)
 * @param routeHeaders the client's request headers that route rules match on (lower-case name → value), only
 *                     those; null when no rule matches a header. Routing reads them; nothing sends them upstream
 */
public record ChatRequest(String requestId, String tenant, String model, List<ChatMessage> messages,
                          boolean stream, JsonObject options, String inbox, long timeoutMillis,
                          String conversationId, int priority, int attempt, int seqStart, String grantAddress,
                          String controlAddress, JsonObject routeHeaders) implements RoutedRequest {
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
    if (attempt < 0 || seqStart < 0) {
      throw new IllegalArgumentException("attempt and seqStart must not be negative");
    }
  }

  /** A first attempt. */
  public ChatRequest(String requestId, String tenant, String model, List<ChatMessage> messages, boolean stream,
                     JsonObject options, String inbox, long timeoutMillis, String conversationId, int priority) {
    this(requestId, tenant, model, messages, stream, options, inbox, timeoutMillis, conversationId, priority, 0, 0,
      null, null, null);
  }

  /** A first attempt with the request headers route rules match on. */
  public ChatRequest withRouteHeaders(JsonObject headers) {
    return new ChatRequest(requestId, tenant, model, messages, stream, options, inbox, timeoutMillis,
      conversationId, priority, attempt, seqStart, grantAddress, controlAddress, headers);
  }

  /** Another try of the same turn, against the given model, with these messages. */
  public ChatRequest retry(String newModel, List<ChatMessage> newMessages, int newAttempt, int newSeqStart,
                           long remainingMillis, String newGrantAddress) {
    return new ChatRequest(requestId, tenant, newModel, newMessages, stream, options, inbox, remainingMillis,
      conversationId, priority, newAttempt, newSeqStart, newGrantAddress, controlAddress, routeHeaders);
  }

  public ChatRequest withControlAddress(String address) {
    return new ChatRequest(requestId, tenant, model, messages, stream, options, inbox, timeoutMillis,
      conversationId, priority, attempt, seqStart, grantAddress, address, routeHeaders);
  }

  private static void write(Buffer buffer, ChatRequest r) {
    Wire.writeString(buffer, r.requestId);
    Wire.writeString(buffer, r.tenant);
    Wire.writeString(buffer, r.model);
    Wire.writeList(buffer, r.messages, ChatMessage::write);
    buffer.appendByte((byte) (r.stream ? 1 : 0));
    Wire.writeJson(buffer, r.options);
    Wire.writeString(buffer, r.inbox);
    buffer.appendLong(r.timeoutMillis);
    Wire.writeString(buffer, r.conversationId);
    buffer.appendInt(r.priority).appendInt(r.attempt).appendInt(r.seqStart);
    Wire.writeString(buffer, r.grantAddress);
    Wire.writeString(buffer, r.controlAddress);
    Wire.writeJson(buffer, r.routeHeaders);
  }

  private static ChatRequest read(Wire.Reader in) {
    return new ChatRequest(in.readString(), in.readString(), in.readString(), in.readList(ChatMessage::read),
      in.readBoolean(), in.readJson(), in.readString(), in.readLong(), in.readString(), in.readInt(), in.readInt(),
      in.readInt(), in.readString(), in.readString(), in.readJson());
  }
}

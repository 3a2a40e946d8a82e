package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.function.Consumer;

/** A deployment served by workers connected through the {@link WorkerBridge}. */
final class BridgeUpstream implements Upstream {
  private static final long ACCEPT_TIMEOUT_MILLIS = 5_000;
  private static final io.vertx.core.buffer.Buffer NO_CHUNK = io.vertx.core.buffer.Buffer.buffer();

  private final Vertx vertx;
  private final Deployment deployment;
  private final WorkerBridge bridge;
  private final String address;
  private long calls;

  BridgeUpstream(Vertx vertx, Deployment deployment, WorkerBridge bridge) {
    this.vertx = vertx;
    this.deployment = deployment;
    this.bridge = bridge;
    this.address = WorkerBridge.WORKER_PREFIX + deployment.upstreamModel();
  }

  @Override
  public Future<ChatResult> call(ChatRequest request, Chunks chunks, CancelSignal cancel) {
    OpenAiChunks shapes = new OpenAiChunks(request);
    // a whole answer only needs the text (and the timers the proxy resets per piece): no chunk is built for it
    Consumer<String> onDelta = request.stream()
      ? text -> chunks.chunk(shapes.text("content", text), text, 0)
      : text -> chunks.chunk(NO_CHUNK, text, 0);
    String callId = request.requestId() + "/" + request.attempt() + "/" + (calls++);
    Promise<ChatResult> result = Promise.promise();
    StringBuilder whole = request.stream() ? null : new StringBuilder();
    Consumer<String> sink = whole == null ? onDelta : text -> {
      whole.append(text);
      onDelta.accept(text);
    };
    bridge.expect(callId, new WorkerBridge.Pending(sink, result, request.requestId(), deployment.id(), new int[1]));
    cancel.whenCancelled(() -> {
      bridge.forget(callId);
      vertx.eventBus().send(address, new JsonObject().put("type", "cancel").put("call_id", callId));
    });
    JsonArray messages = new JsonArray();
    for (ChatMessage message : request.messages()) {
      messages.add(message.json());
    }
    JsonObject call = new JsonObject().put("type", "chat").put("call_id", callId).put("reply_to", bridge.chunksAddress())
      .put("model", deployment.upstreamModel()).put("messages", messages).put("stream", request.stream())
      .put("options", request.options() == null ? new JsonObject() : request.options());
    vertx.eventBus().request(address, call, new DeliveryOptions().setSendTimeout(ACCEPT_TIMEOUT_MILLIS))
      .onFailure(failure -> {
        bridge.forget(callId);
        boolean none = failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS;
        result.tryFail(UpstreamFailure.retryable(none
          ? ApiError.unavailable("No worker is connected for '" + deployment.modelName() + "'.")
          : ApiError.upstreamFailed("The worker did not accept the call.")));
      });
    return result.future().map(r -> {
      JsonObject message = new JsonObject().put("role", "assistant")
        .put("content", whole != null ? whole.toString() : r.content());
      if (whole == null) {
        // the worker's text went out as chunks: the stream ends with the finish reason and usage, as OpenAI's do
        chunks.chunk(shapes.delta(new JsonObject(), r.finishReason()), "", 0);
        chunks.chunk(shapes.usage(r.usage()), "", io.switchboard.bus.StreamChunk.USAGE_ONLY);
        return new ChatResult(r.requestId(), null, message, r.finishReason(), r.usage(), r.chunks() + 2,
          r.deployment(), 0);
      }
      return new ChatResult(r.requestId(), shapes.completion(message, r.finishReason(), r.usage()), message,
        r.finishReason(), r.usage(), 0, r.deployment(), 0);
    });
  }

  @Override
  public Future<Void> close() {
    return Future.succeededFuture();
  }
}

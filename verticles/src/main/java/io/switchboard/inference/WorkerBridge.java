package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.bridge.BridgeEventType;
import io.vertx.ext.bridge.BridgeOptions;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.eventbus.bridge.tcp.BridgeEvent;
import io.vertx.ext.eventbus.bridge.tcp.TcpEventBusBridge;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Inference workers in other languages (a model server on a GPU box, a Python script) over the TCP event
 * bus bridge. A worker registers {@code switchboard.worker.<model>} with the worker token and then serves
 * the calls of deployments with {@code provider: bridge}: each call arrives as a message (acknowledged by a
 * reply), and its text comes back as messages to the calling node's chunk address. Workers can reach no
 * other address.
 */
final class WorkerBridge {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerBridge.class);
  static final String WORKER_PREFIX = "switchboard.worker.";
  static final String CHUNKS_PREFIX = "switchboard.worker.chunks.";

  /** A call waiting for its worker's chunks. */
  record Pending(Consumer<String> onDelta, Promise<ChatResult> result, String requestId, String deployment,
                 int[] chunks) {
  }

  private final Vertx vertx;
  private final String chunksAddress;
  private final Map<String, Pending> pending = new HashMap<>();

  WorkerBridge(Vertx vertx, String nodeId) {
    this.vertx = vertx;
    this.chunksAddress = CHUNKS_PREFIX + nodeId;
  }

  String chunksAddress() {
    return chunksAddress;
  }

  /** Listens for this node's chunks (once, at start-up) and, when configured, opens the TCP bridge. */
  Future<Void> start(SwitchboardConfig.Bridge settings) {
    Future<Void> chunks = vertx.eventBus().<JsonObject>consumer(chunksAddress, this::chunk).completion();
    if (settings.tcpPort() == 0) {
      return chunks;
    }
    byte[] expected = ("Bearer " + settings.workerToken()).getBytes(StandardCharsets.UTF_8);
    BridgeOptions options = new BridgeOptions()
      .addInboundPermitted(new PermittedOptions().setAddressRegex("switchboard\\.worker\\.chunks\\..+"))
      .addOutboundPermitted(new PermittedOptions().setAddressRegex("switchboard\\.worker\\.(?!chunks\\.).+"));
    TcpEventBusBridge bridge = TcpEventBusBridge.create(vertx, options, new io.vertx.core.net.NetServerOptions(),
      event -> authorize(event, expected));
    return Future.all(chunks, bridge.listen(settings.tcpPort(), settings.tcpHost())
      .onSuccess(b -> LOG.info("TCP event bus bridge for workers on {}:{}", settings.tcpHost(), settings.tcpPort())))
      .mapEmpty();
  }

  /** Every frame a worker sends must carry the worker token. */
  private static void authorize(BridgeEvent event, byte[] expected) {
    BridgeEventType type = event.type();
    if (type == BridgeEventType.SEND || type == BridgeEventType.PUBLISH || type == BridgeEventType.REGISTER) {
      JsonObject headers = event.getRawMessage() == null ? null : event.getRawMessage().getJsonObject("headers");
      String presented = headers == null ? null : headers.getString("authorization");
      boolean ok = presented != null && MessageDigest.isEqual(expected, presented.getBytes(StandardCharsets.UTF_8));
      if (!ok) {
        LOG.warn("worker bridge: refused a {} from {} without a valid worker token", type, event.socket().remoteAddress());
      }
      event.complete(ok);
      return;
    }
    event.complete(true);
  }

  void expect(String callId, Pending call) {
    pending.put(callId, call);
  }

  void forget(String callId) {
    pending.remove(callId);
  }

  private void chunk(Message<JsonObject> message) {
    JsonObject body = message.body();
    Pending call = body == null ? null : pending.get(body.getString("call_id"));
    if (call == null) {
      return; // a call that ended (timed out, cancelled) while its worker still talked
    }
    try {
      if (body.containsKey("error")) {
        pending.remove(body.getString("call_id"));
        call.result().tryFail(UpstreamFailure.retryable(ApiError.upstreamFailed("The worker failed: "
          + String.valueOf(body.getValue("error")))));
      } else if (body.getBoolean("done", false)) {
        pending.remove(body.getString("call_id"));
        JsonObject usage = body.getJsonObject("usage", new JsonObject());
        JsonObject answer = new JsonObject().put("role", "assistant").put("content", body.getString("content"));
        // the worker's usage as it sent it (details included); counts it left out are filled in
        int prompt = usage.getInteger("prompt_tokens", 0);
        int completion = usage.getInteger("completion_tokens", call.chunks()[0]);
        JsonObject whole = usage.copy().put("prompt_tokens", prompt).put("completion_tokens", completion)
          .put("total_tokens", usage.getInteger("total_tokens", prompt + completion));
        call.result().tryComplete(new ChatResult(call.requestId(), null, answer,
          body.getString("finish_reason", "stop"), whole, call.chunks()[0], call.deployment(), 0));
      } else {
        String delta = body.getString("delta");
        if (delta != null && !delta.isEmpty()) {
          call.chunks()[0]++;
          call.onDelta().accept(delta);
        }
      }
    } catch (ClassCastException e) {
      pending.remove(body.getString("call_id"));
      call.result().tryFail(HttpFailures.malformed("a message the gateway cannot read"));
    }
  }
}

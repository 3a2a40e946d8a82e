package io.switchboard.connection;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.chat.ChatCompletionRequest;
import io.switchboard.chat.ChatPipeline;
import io.switchboard.chat.InvalidRequest;
import io.switchboard.chat.StreamSink;
import io.switchboard.bus.ConversationIds;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.governance.Caller;
import io.switchboard.governance.Governance;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.bridge.BridgeEventType;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.sockjs.BridgeEvent;
import io.vertx.ext.web.handler.sockjs.SockJSBridgeOptions;
import io.vertx.ext.web.handler.sockjs.SockJSHandler;
import io.vertx.ext.web.handler.sockjs.SockJSSocket;

import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The SockJS event bus bridge at {@code /eventbus}, for browsers and Node. Only three client addresses go
 * in ({@code switchboard.client.auth}, {@code .chat}, {@code .cancel}) and only each socket's own stream
 * address comes out. A socket authenticates with its API key first; the bridge then stamps its tenant on
 * every message it sends (whatever the client wrote there), and lets it listen on its own stream only.
 */
final class ClientBridge {
  static final String AUTH = "switchboard.client.auth";
  static final String CHAT = "switchboard.client.chat";
  static final String CANCEL = "switchboard.client.cancel";
  static final String STREAM_PREFIX = "switchboard.client.stream.";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** What a socket proved at sign-in. */
  private record Client(Caller tenant, String stream) {
  }

  private final Vertx vertx;
  private final Governance governance;
  private final ChatPipeline pipeline;
  private final SwitchboardConfig.Server settings;
  private final ChatRules rules;
  private final Map<SockJSSocket, Client> clients = new HashMap<>();
  /** stream address → the caller that signed in for it; the node's, as any instance may get a socket's chats */
  private final Map<String, Caller> callers;
  /** request id → tenant, for the turns this instance streams to bridge clients */
  private final Map<String, String> turns = new HashMap<>();

  ClientBridge(Vertx vertx, Governance governance, ChatPipeline pipeline, SwitchboardConfig.Server settings,
               ChatRules rules) {
    this.vertx = vertx;
    this.governance = governance;
    this.callers = governance.bridgeCallers();
    this.pipeline = pipeline;
    this.settings = settings;
    this.rules = rules;
  }

  Future<Void> mount(Router router) {
    SockJSBridgeOptions options = new SockJSBridgeOptions()
      .addInboundPermitted(new PermittedOptions().setAddress(AUTH))
      .addInboundPermitted(new PermittedOptions().setAddress(CHAT))
      .addInboundPermitted(new PermittedOptions().setAddress(CANCEL))
      .addOutboundPermitted(new PermittedOptions().setAddressRegex(STREAM_PREFIX.replace(".", "\\.") + "[0-9a-f]{32}"));
    SockJsFallbacks.mount(router, "/eventbus", settings.maxBodyBytes());
    router.route("/eventbus/*").subRouter(SockJSHandler.create(vertx).bridge(options, this::event));
    var bus = vertx.eventBus();
    return Future.all(List.of(
      bus.<JsonObject>localConsumer(AUTH, m -> m.reply(new JsonObject().put("tenant", m.headers().get("x-tenant"))
        .put("stream_address", m.headers().get("x-stream")))).completion(),
      bus.<JsonObject>localConsumer(CHAT, this::chat).completion(),
      bus.<JsonObject>localConsumer(CANCEL, this::cancel).completion())).mapEmpty();
  }

  private void event(BridgeEvent event) {
    BridgeEventType type = event.type();
    if (type == BridgeEventType.SOCKET_CLOSED) {
      Client gone = clients.remove(event.socket());
      if (gone != null) {
        callers.remove(gone.stream());
      }
      event.complete(true);
      return;
    }
    if (type == BridgeEventType.SEND || type == BridgeEventType.PUBLISH) {
      JsonObject raw = event.getRawMessage();
      Client client = clients.get(event.socket());
      if (AUTH.equals(raw.getString("address"))) {
        JsonObject headers = raw.getJsonObject("headers", new JsonObject());
        governance.authenticate(headers.getString("authorization")).onComplete(outcome -> {
          Caller caller = outcome.succeeded() ? outcome.result() : null;
          if (caller == null) {
            event.complete(false);
            return;
          }
          Client signedIn = new Client(caller, STREAM_PREFIX + HexFormat.of().formatHex(randomBytes()));
          Client before = clients.put(event.socket(), signedIn);
          if (before != null) {
            callers.remove(before.stream());
          }
          callers.put(signedIn.stream(), caller);
          pass(event, raw, signedIn);
        });
        return;
      }
      if (client == null) {
        event.complete(false); // not signed in
        return;
      }
      pass(event, raw, client);
      return;
    }
    if (type == BridgeEventType.REGISTER) {
      Client client = clients.get(event.socket());
      event.complete(client != null && client.stream().equals(event.getRawMessage().getString("address")));
      return;
    }
    event.complete(true);
  }

  /** The tenant comes from the socket's sign-in, never from what the client wrote. */
  private static void pass(BridgeEvent event, JsonObject raw, Client client) {
    event.setRawMessage(raw.put("headers", new JsonObject().put("x-tenant", client.tenant().tenant())
      .put("x-priority", String.valueOf(client.tenant().priority())).put("x-stream", client.stream())));
    event.complete(true);
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  private void chat(Message<JsonObject> message) {
    String tenant = message.headers().get("x-tenant");
    String stream = message.headers().get("x-stream");
    JsonObject body = message.body() == null ? new JsonObject() : message.body();
    ChatCompletionRequest chat;
    Object conversation = body.getValue("conversation_id");
    try {
      if (conversation != null && !(conversation instanceof String c && ConversationIds.isValid(c))) {
        throw InvalidRequest.of("conversation_id must be 1-128 characters of A-Z a-z 0-9 . _ -.", "conversation_id");
      }
      chat = ChatCompletionRequest.parse(WebSocketChat.chatBody(body));
    } catch (InvalidRequest e) {
      message.fail(e.error().status(), e.error().toJson().encode());
      return;
    }
    ApiError refusal = rules.refusal(chat.model());
    if (refusal != null) {
      refusal.failReply(message);
      return;
    }
    String requestId = ConnectionVerticle.newRequestId();
    String conversationId = (String) conversation;
    turns.put(requestId, tenant);
    message.reply(new JsonObject().put("request_id", requestId).put("conversation_id", conversationId));
    BridgeTurn turn = new BridgeTurn(stream, requestId);
    Caller caller = callers.getOrDefault(stream, Caller.tenantOnly(tenant,
      Integer.parseInt(message.headers().get("x-priority"))));
    pipeline.turn(new ChatPipeline.ChatTurn(requestId, caller, chat, conversationId, settings.requestTimeoutMillis()),
      turn, ChatPipeline.Channel.SOCKJS).onComplete(outcome -> {
      if (turns.remove(requestId) != null && outcome.failed()) {
        turn.error(ApiError.from(outcome.cause()));
      }
    });
  }

  /** Cancels are published to every instance; the one streaming the turn, for that tenant, acts. */
  private void cancel(Message<JsonObject> message) {
    String requestId = message.body() == null ? null : message.body().getString("request_id");
    if (requestId != null && message.headers().get("x-tenant").equals(turns.get(requestId))) {
      turns.remove(requestId);
      pipeline.cancel(requestId, "client cancelled");
    }
  }

  /** An answer streamed to a bridge client's own address: text deltas (with the whole chunk when it has more). */
  private final class BridgeTurn extends StreamSink {
    private final String address;
    private final String requestId;
    private boolean started;

    BridgeTurn(String address, String requestId) {
      this.address = address;
      this.requestId = requestId;
    }

    @Override
    public boolean started() {
      return started;
    }

    @Override
    protected void writeChunk(StreamChunk chunk) {
      if (chunk.has(StreamChunk.USAGE_ONLY) || chunk.plain() && chunk.text().isEmpty()) {
        return; // usage comes with done; a role or finish chunk has nothing to show
      }
      started = true;
      JsonObject delta = new JsonObject().put("type", "delta").put("request_id", requestId).put("text", chunk.text());
      if (!chunk.plain()) {
        delta.put("chunk", new JsonObject(chunk.json()));
      }
      vertx.eventBus().send(address, delta);
    }

    @Override
    protected void writeEnd(ChatResult result) {
      vertx.eventBus().send(address, new JsonObject().put("type", "done").put("request_id", requestId)
        .put("finish_reason", result.finishReason()).put("usage", OpenAiJson.usage(result))
        .put("message", finalMessage(result)));
    }

    @Override
    public void error(ApiError error) {
      vertx.eventBus().send(address, new JsonObject().put("type", "error").put("request_id", requestId)
        .put("error", error.toJson().getJsonObject("error")));
    }
  }
}

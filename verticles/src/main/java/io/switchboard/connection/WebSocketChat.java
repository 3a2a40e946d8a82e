package io.switchboard.connection;

import io.micrometer.core.instrument.Counter;
import io.switchboard.bus.ApiError;
import io.switchboard.chat.ChatCompletionRequest;
import io.switchboard.chat.ChatPipeline;
import io.switchboard.chat.InvalidRequest;
import io.switchboard.bus.ConversationIds;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.governance.Caller;
import io.switchboard.governance.Governance;
import io.vertx.core.Vertx;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One chat WebSocket: authenticate, then any number of conversations at once, each answer streamed as it is
 * generated. The protocol (JSON text messages) is in the README under "WebSocket chat".
 */
final class WebSocketChat {
  static final int MAX_TURNS = 8;
  static final short CLOSE_UNAUTHORIZED = 4401;
  static final short CLOSE_TOO_SLOW = 4409;
  static final short CLOSE_IDLE = 4408;
  /** The node (or its connection verticle) is going: reconnect, and another instance or node answers. */
  static final short CLOSE_RESTART = 1012;

  private final Vertx vertx;
  private final ServerWebSocket socket;
  private final Governance governance;
  private final ChatPipeline pipeline;
  private final SwitchboardConfig.Server settings;
  private final FlowGate gate;
  private final ChatRules rules;
  private final WebSocketFrames frames;
  /** client turn id → request id */
  private final Map<String, String> turns = new HashMap<>(4);
  private Caller tenant;
  private boolean signingIn;
  /** The server is shutting down: the socket closes with {@link #CLOSE_RESTART} once its turns have finished. */
  private boolean draining;
  /** The 1012 went out: a turn arriving now crossed it and is not taken (the client sends it again elsewhere). */
  private boolean closing;
  long lastHeard = System.currentTimeMillis();

  WebSocketChat(Vertx vertx, ServerWebSocket socket, Governance governance, ChatPipeline pipeline,
                SwitchboardConfig.Server settings, Caller preAuthenticated, ChatRules rules, Counter pauses,
                Consumer<WebSocketChat> onClosed) {
    this.vertx = vertx;
    this.socket = socket;
    this.governance = governance;
    this.pipeline = pipeline;
    this.settings = settings;
    this.tenant = preAuthenticated;
    this.rules = rules;
    this.frames = new WebSocketFrames(socket);
    this.gate = new FlowGate(vertx, socket, settings.slowClientTimeoutMillis(), pauses, () -> {
      closed(); // stop every answer now; the close frame waits behind what is already queued
      socket.close(CLOSE_TOO_SLOW, "client too slow: it stayed behind the stream for "
        + settings.slowClientTimeoutMillis() + " ms");
    });
    socket.setWriteQueueMaxSize(256 * 1024);
    socket.textMessageHandler(this::received);
    socket.frameHandler(frame -> {
      lastHeard = System.currentTimeMillis();
      frames.check(frame);
    });
    socket.exceptionHandler(frames::failed);
    socket.shutdownHandler(v -> {
      draining = true;
      closeIfDrained();
    });
    socket.closeHandler(v -> {
      closed();
      onClosed.accept(this);
    });
    if (tenant != null) {
      send(new JsonObject().put("type", "ready").put("tenant", tenant.tenant()));
    }
  }

  ServerWebSocket socket() {
    return socket;
  }

  private void received(String text) {
    if (frames.refused() || closing) {
      return; // its frames broke the protocol, or the node is going: the socket is closing with the reason
    }
    lastHeard = System.currentTimeMillis();
    JsonObject message;
    try {
      message = new JsonObject(text);
    } catch (DecodeException e) {
      error(null, ApiError.badRequest("Every message must be a JSON object.", null));
      return;
    }
    String type = message.getValue("type") instanceof String t ? t : "";
    if (tenant == null && signingIn) {
      error(null, ApiError.badRequest("Wait for 'ready' before sending more: the key is being checked.", "type"));
      return;
    }
    if (tenant == null && !type.equals("auth")) {
      socket.close(CLOSE_UNAUTHORIZED, "authenticate first: {\"type\":\"auth\",\"api_key\":\"...\"}");
      return;
    }
    switch (type) {
      case "auth" -> authenticate(message);
      case "chat" -> chat(message);
      case "cancel" -> cancel(message.getValue("id") instanceof String id ? id : null);
      case "ping" -> send(new JsonObject().put("type", "pong"));
      default -> error(null, ApiError.badRequest("Unknown message type '" + type
        + "'; expected auth, chat, cancel or ping.", "type"));
    }
  }

  private void authenticate(JsonObject message) {
    if (tenant != null) {
      return; // signed in already (Authorization header, or auth off): one ready per socket
    }
    if (signingIn) {
      return;
    }
    signingIn = true;
    Object key = message.getValue("api_key");
    governance.authenticate(key instanceof String k ? "Bearer " + k : null).onComplete(outcome -> {
      signingIn = false;
      Caller who = outcome.succeeded() ? outcome.result() : null;
      if (who == null) {
        socket.close(CLOSE_UNAUTHORIZED, outcome.failed() ? "key store unavailable" : "invalid api key");
        return;
      }
      tenant = who;
      send(new JsonObject().put("type", "ready").put("tenant", who.tenant()));
    });
  }

  private void chat(JsonObject message) {
    Object rawId = message.getValue("id");
    if (!(rawId instanceof String id) || id.isEmpty() || id.length() > 64) {
      error(null, ApiError.badRequest("A chat message needs an 'id' of 1-64 characters.", "id"));
      return;
    }
    if (turns.containsKey(id)) {
      error(id, ApiError.badRequest("An answer with this id is still streaming.", "id"));
      return;
    }
    if (turns.size() >= MAX_TURNS) {
      error(id, new ApiError(429, "rate_limit_error", "too_many_turns",
        "At most " + MAX_TURNS + " answers may stream at once on one connection.", null));
      return;
    }
    Object conversation = message.getValue("conversation_id");
    if (conversation != null && !(conversation instanceof String c && ConversationIds.isValid(c))) {
      error(id, ApiError.badRequest("conversation_id must be 1-128 characters of A-Z a-z 0-9 . _ -.",
        "conversation_id"));
      return;
    }
    ChatCompletionRequest chat;
    try {
      chat = ChatCompletionRequest.parse(chatBody(message));
    } catch (InvalidRequest e) {
      error(id, e.error());
      return;
    }
    ApiError refusal = rules.refusal(chat.model());
    if (refusal != null) {
      error(id, refusal); // before any started: the turn never began
      return;
    }
    String conversationId = conversation != null ? (String) conversation
      : "conv-" + ConnectionVerticle.newRequestId().substring(4);
    String requestId = ConnectionVerticle.newRequestId();
    turns.put(id, requestId);
    WebSocketTurn turn = new WebSocketTurn(socket, gate, id, requestId, conversationId);
    gate.add(requestId);
    pipeline.turn(new ChatPipeline.ChatTurn(requestId, tenant, chat, conversationId,
      settings.requestTimeoutMillis()), turn, ChatPipeline.Channel.WEBSOCKET).onComplete(outcome -> {
      if (!requestId.equals(turns.get(id))) {
        return; // cancelled: the client was told already
      }
      end(id, requestId);
      if (outcome.failed()) {
        turn.error(ApiError.from(outcome.cause()));
      }
    });
  }

  /**
   * The chat message as a Chat Completions body: {@code message} (text) or {@code messages} (OpenAI messages: content
   * parts, tool calls, tool results), with {@code options} (temperature, tools, tool_choice, ...) at the top level.
   */
  static JsonObject chatBody(JsonObject message) {
    JsonObject body = new JsonObject();
    if (message.getValue("options") instanceof JsonObject options) {
      options.forEach(e -> body.put(e.getKey(), e.getValue()));
    }
    body.put("model", message.getValue("model")).put("stream", true)
      .put("messages", message.getValue("message") instanceof String text
        ? new JsonArray().add(ChatPipeline.userText(text)) : message.getValue("messages"));
    return body;
  }

  private void cancel(String id) {
    String requestId = id == null ? null : turns.get(id);
    if (requestId == null) {
      error(id, ApiError.notFound("No answer with this id is streaming."));
      return;
    }
    end(id, requestId); // first: the turn's own end must not answer for a cancelled turn
    pipeline.cancel(requestId, "client cancelled");
    send(new JsonObject().put("type", "cancelled").put("id", id));
  }

  private void end(String id, String requestId) {
    turns.remove(id, requestId);
    gate.remove(requestId);
    closeIfDrained();
  }

  private void closeIfDrained() {
    if (draining && turns.isEmpty() && !closing) {
      closing = true;
      socket.close(CLOSE_RESTART, "service restart: reconnect");
    }
  }

  private void closed() {
    for (Map.Entry<String, String> turn : Map.copyOf(turns).entrySet()) {
      end(turn.getKey(), turn.getValue());
      pipeline.cancel(turn.getValue(), "client disconnected");
    }
  }

  /** Called by the verticle's sweep: pings a quiet client, and lets go of one silent past the idle timeout. */
  void sweep(long nowMillis, long idleTimeoutMillis) {
    long quiet = nowMillis - lastHeard;
    if (quiet > idleTimeoutMillis && turns.isEmpty()) {
      socket.close(CLOSE_IDLE, "idle timeout");
    } else if (quiet > idleTimeoutMillis / 3 && !socket.isClosed()) {
      socket.writePing(io.vertx.core.buffer.Buffer.buffer());
    }
  }

  private void error(String id, ApiError error) {
    send(new JsonObject().put("type", "error").put("id", id).put("error", error.toJson().getJsonObject("error")));
  }

  private void send(JsonObject message) {
    if (!socket.isClosed()) {
      socket.writeTextMessage(message.encode());
    }
  }
}

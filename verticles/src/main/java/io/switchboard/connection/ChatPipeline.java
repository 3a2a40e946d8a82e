package io.switchboard.connection;

import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.History;
import io.switchboard.bus.HistoryAppend;
import io.switchboard.bus.HistoryQuery;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.eventbus.PreferLocal;
import io.switchboard.routing.Continuation;
import io.switchboard.session.HistoryTrimmer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The steps every channel (HTTP API, WebSocket, IM webhooks) takes for a chat turn: earlier turns from
 * the session verticle, the turn through routing, and the new turns stored afterwards without delaying the
 * answer. Memory is best effort: when it is out of reach the turn goes on without it.
 */
public final class ChatPipeline {
  private static final Logger LOG = LoggerFactory.getLogger(ChatPipeline.class);
  private static final long SESSION_TIMEOUT_MILLIS = 2_000;
  private static final long BUS_MARGIN_MILLIS = 5_000;
  /** How long the end of a stream waits for chunks still on their way from another node. */
  private static final long LOST_CHUNK_WAIT_MILLIS = 2_000;
  /** How many times one stream may be carried over from a node that died. */
  private static final int MAX_RESCUES = 2;

  /** A conversation's earlier turns, and whether memory could be reached at all. */
  public record Memory(List<ChatMessage> history, boolean available) {
    static final Memory NONE = new Memory(List.of(), true);
  }

  private final Vertx vertx;
  private final MeterRegistry registry;
  private final SwitchboardConfig config;
  private final HistoryTrimmer trimmer = HistoryTrimmer.o200k();

  public ChatPipeline(Vertx vertx, MeterRegistry registry, SwitchboardConfig config) {
    this.vertx = vertx;
    this.registry = registry;
    this.config = config;
  }

  /** Loads the tokenizer's vocabulary (about half a second, once) off the event loop. */
  public Future<Void> warmUp() {
    return vertx.executeBlocking(() -> trimmer.count(List.of(new ChatMessage("user", "warm up")))).mapEmpty();
  }

  /**
   * What goes upstream: the stored turns, then the new ones, trimmed to the model's context budget (the
   * system prompt and the newest turn are always kept). A request without memory is sent as the client wrote it.
   */
  public List<ChatMessage> prompt(String model, List<ChatMessage> history, List<ChatMessage> fresh) {
    if (history.isEmpty()) {
      return fresh;
    }
    return trimmer.trim(withHistory(history, fresh), config.route(model).contextTokens());
  }

  /** Never fails: without memory, an empty history that says it was unavailable. */
  public Future<Memory> memory(String requestId, String tenant, String conversationId) {
    if (conversationId == null) {
      return Future.succeededFuture(Memory.NONE);
    }
    return PreferLocal.<History>request(vertx.eventBus(), Addresses.SESSION_LOAD,
        new HistoryQuery(tenant, conversationId), SESSION_TIMEOUT_MILLIS)
      .map(reply -> new Memory(reply.body().messages(), true))
      .otherwise(failure -> {
        LOG.warn("request {}: conversation memory unavailable, serving without it ({})", requestId,
          ApiError.from(failure).message());
        registry.counter("switchboard.session.unavailable").increment();
        return new Memory(List.of(), false);
      });
  }

  /** Stored turns first; a system prompt in the new request replaces any stored one. */
  public static List<ChatMessage> withHistory(List<ChatMessage> history, List<ChatMessage> fresh) {
    if (history.isEmpty()) {
      return fresh;
    }
    boolean freshSystem = fresh.stream().anyMatch(ChatMessage::isSystem);
    List<ChatMessage> all = new ArrayList<>(history.size() + fresh.size());
    for (ChatMessage message : history) {
      if (!(freshSystem && message.isSystem())) {
        all.add(message);
      }
    }
    all.addAll(fresh);
    return all;
  }

  public Future<ChatResult> route(ChatRequest request) {
    return PreferLocal.<ChatResult>request(vertx.eventBus(), Addresses.ROUTING_CHAT, request,
      request.timeoutMillis() + BUS_MARGIN_MILLIS).map(reply -> reply.body());
  }

  /** How a streamed turn ended: its status, and a failure the client has not been shown yet (else null). */
  interface StreamEnd {
    void ended(int status, Throwable unshown);
  }

  /**
   * Runs a streaming turn into {@code sink}. Routing's reply ends the turn; the sink writes the end once every
   * chunk has arrived, or reports chunks lost on the way. The answer is remembered after it went out.
   */
  void stream(ChatRequest request, List<ChatMessage> fresh, StreamSink sink, StreamEnd end) {
    stream(request, request, fresh, sink, end, System.currentTimeMillis() + request.timeoutMillis(), 0);
  }

  private void stream(ChatRequest original, ChatRequest request, List<ChatMessage> fresh, StreamSink sink,
                      StreamEnd end, long deadline, int rescues) {
    route(request).onComplete(outcome -> {
      if (outcome.failed()) {
        long remaining = deadline - System.currentTimeMillis();
        if ("node_lost".equals(ApiError.from(outcome.cause()).code()) && rescues < MAX_RESCUES && remaining > 0) {
          // the node streaming this answer died: go on elsewhere from what the client already has
          registry.counter("switchboard.stream.rescued").increment();
          int delivered = sink.delivered();
          List<ChatMessage> messages = delivered == 0 ? original.messages()
            : Continuation.of(original.messages(), sink.answer());
          stream(original, original.retry(original.model(), messages, 0, delivered, remaining, null), fresh, sink,
            end, deadline, rescues + 1);
          return;
        }
        end.ended(ApiError.from(outcome.cause()).status(), outcome.cause());
        return;
      }
      boolean ended = sink.finish(outcome.result(), () -> {
        remember(original, fresh, sink.answer());
        end.ended(200, null);
      });
      if (!ended) {
        vertx.setTimer(LOST_CHUNK_WAIT_MILLIS, t -> {
          if (sink.giveUpWaiting()) {
            end.ended(502, null);
          }
        });
      }
    });
  }

  /** Stores the client's new messages and the answer, after the answer went out. */
  public void remember(ChatRequest request, List<ChatMessage> fresh, String answer) {
    if (request.conversationId() == null || answer == null) {
      return;
    }
    List<ChatMessage> turn = new ArrayList<>(fresh);
    turn.add(new ChatMessage("assistant", answer));
    PreferLocal.request(vertx.eventBus(), Addresses.SESSION_APPEND,
        new HistoryAppend(request.tenant(), request.conversationId(), turn), SESSION_TIMEOUT_MILLIS)
      .onFailure(failure -> {
        LOG.warn("request {}: the turn could not be stored in conversation {} ({})", request.requestId(),
          request.conversationId(), ApiError.from(failure).message());
        registry.counter("switchboard.session.append.failed").increment();
      });
  }
}

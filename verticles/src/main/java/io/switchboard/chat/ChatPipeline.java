package io.switchboard.chat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.CancelTurn;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.History;
import io.switchboard.bus.HistoryAppend;
import io.switchboard.bus.PromptQuery;
import io.switchboard.bus.StreamBurst;
import io.switchboard.bus.StreamChunk;
import io.switchboard.bus.StreamProgress;
import io.switchboard.cache.CacheKey;
import io.switchboard.cache.CachedAnswer;
import io.switchboard.cache.ResponseCache;
import io.switchboard.config.LiveConfig;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.eventbus.PreferLocal;
import io.switchboard.governance.Admission;
import io.switchboard.governance.Caller;
import io.switchboard.governance.Governance;
import io.switchboard.governance.RateLimits;
import io.switchboard.governance.Spend;
import io.switchboard.overload.NodeLoad;
import io.switchboard.governance.TurnRecord;
import io.switchboard.guardrails.Guardrails;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The one way every channel (HTTP API, WebSocket, SockJS bridge, IM webhooks) runs a chat turn: the prompt from the
 * session verticle (stored turns + the new ones, trimmed), the turn through routing, the answer streamed into a
 * {@link StreamSink} as its chunks reach this instance's inbox, and the new turns stored afterwards without delaying
 * the answer. Memory is best effort: when it is out of reach the turn goes on without it. One per connection
 * verticle instance, used on its event loop.
 */
public final class ChatPipeline {
  private static final Logger LOG = LoggerFactory.getLogger(ChatPipeline.class);
  private static final long SESSION_TIMEOUT_MILLIS = 2_000;
  private static final long BUS_MARGIN_MILLIS = 5_000;
  /** How long a stream routing saw end may wait for its last chunks, still on their way from another node. */
  private static final long LOST_END_WAIT_MILLIS = 2_000;

  /**
   * A chat turn as a channel asks for it.
   *
   * @param caller       who the turn acts for (its key, tenant and priority)
   * @param cacheControl the client's {@code cache-control} header ({@code no-cache}: a fresh answer, stored;
   *                     {@code no-store}: not cached at all); null when none
   * @param limits       hears the key's and tenant's rate-limit state once the turn is admitted or refused (the HTTP
   *                     channel writes it as headers); null when nobody listens
   */
  public record ChatTurn(String requestId, Caller caller, ChatCompletionRequest chat, String conversationId,
                         long timeoutMillis, String cacheControl, Consumer<RateLimits> limits,
                         JsonObject routeHeaders) {
    public ChatTurn {
      caller = caller == null ? Caller.ANONYMOUS : caller;
    }

    /** The same turn asking with other messages (as the input guardrails redacted them). */
    public ChatTurn withMessages(List<ChatMessage> messages) {
      return new ChatTurn(requestId, caller, new ChatCompletionRequest(chat.model(), messages, chat.stream(),
        chat.includeUsage(), chat.options()), conversationId, timeoutMillis, cacheControl, limits, routeHeaders);
    }

    public ChatTurn(String requestId, Caller caller, ChatCompletionRequest chat, String conversationId,
                    long timeoutMillis) {
      this(requestId, caller, chat, conversationId, timeoutMillis, null, null, null);
    }

    /** A turn for a tenant alone (an IM channel). */
    public ChatTurn(String requestId, String tenant, int priority, ChatCompletionRequest chat, String conversationId,
                    long timeoutMillis) {
      this(requestId, Caller.tenantOnly(tenant, priority), chat, conversationId, timeoutMillis);
    }

    public String tenant() {
      return caller.tenant();
    }

    public int priority() {
      return caller.priority();
    }
  }

  /**
   * A finished turn: its result, whether memory was used (on, local, unavailable, off), and what the response cache
   * did (hit, miss, bypass). A hit's result is the stored answer (its usage is the original call's): no model was
   * called for it, and spend must count it as a hit.
   */
  public record Answer(ChatResult result, String memory, String cache) {
    public boolean cacheHit() {
      return cache.equals(HIT);
    }
  }

  /** Where a turn came from, its metrics' {@code channel} tag. The web chat page speaks the WebSocket channel. */
  public enum Channel {
    HTTP, WEBSOCKET, SOCKJS, IM;

    private final String tag = name().toLowerCase(java.util.Locale.ROOT);

    String tag() {
      return tag;
    }
  }

  public static final String HIT = "hit";
  public static final String MISS = "miss";
  public static final String BYPASS = "bypass";

  private final NodeLoad load;
  private final Vertx vertx;
  private final MeterRegistry registry;
  private final LiveConfig config;
  private final String inbox;
  private final ResponseCache cache;
  private final Governance governance;
  private final Spend spend;
  /** Built on the configuration of the last turn that asked: a reload builds them anew (see {@link #guardrails()}). */
  private Guardrails guardrails;
  private final Map<String, StreamSink> streams = new HashMap<>();
  private final TurnMeters meters;
  /** Made at start-up so the alert on it sees 0, not nothing, until memory first fails. */
  private final Counter memoryUnavailable;
  /** What memory is when it answers: "on" (shared by the cluster) or "local" (this node's own, when allowed). */
  private final String remembered;

  /**
   * @param inbox this instance's stream inbox ({@link Addresses#inbox}); null for a pipeline that never streams
   * @param cache the node's response cache; null when no route caches
   * @param governance the node's keys and limits; null when turns are not admitted (tests of the pipeline alone)
   * @param spend the node's spend log and token metrics
   * @param load  the node's overload level: under overload, a route's overload_skips are gone without
   */
  public ChatPipeline(Vertx vertx, MeterRegistry registry, SwitchboardConfig config, String inbox,
                      ResponseCache cache, Governance governance, Spend spend, NodeLoad load) {
    this(vertx, registry, new LiveConfig(config), inbox, cache, governance, spend, load);
  }

  /** @param config the node's configuration now: routes (cache, context budget) are read as each turn needs them */
  public ChatPipeline(Vertx vertx, MeterRegistry registry, LiveConfig config, String inbox,
                      ResponseCache cache, Governance governance, Spend spend, NodeLoad load) {
    this.vertx = vertx;
    this.load = load;
    this.governance = governance;
    this.registry = registry;
    this.config = config;
    this.inbox = inbox;
    this.cache = cache;
    this.spend = spend;
    this.guardrails = new Guardrails(vertx, registry, config.get());
    this.remembered = config.get().session().localInCluster(config.get().cluster()) ? "local" : "on";
    this.meters = new TurnMeters(registry, config.get());
    this.memoryUnavailable = registry.counter("switchboard.session.unavailable");
  }

  /** Listens on the inbox (once, at start-up): stream chunks and ends in, progress questions answered. */
  public Future<Void> start() {
    return vertx.eventBus().<Object>consumer(inbox, this::inbox).completion();
  }

  private void inbox(Message<Object> message) {
    if (message.body() instanceof StreamChunk chunk) {
      StreamSink sink = streams.get(chunk.requestId());
      if (sink != null) {
        sink.accept(chunk);
      }
    } else if (message.body() instanceof StreamBurst burst) {
      StreamSink sink = streams.get(burst.requestId());
      for (int i = 0; sink != null && i < burst.chunks().size(); i++) {
        sink.accept(burst.chunks().get(i));
        sink = streams.get(burst.requestId()); // a chunk may end the stream (a guardrail), or the client may leave
      }
    } else if (message.body() instanceof StreamProgress query) {
      StreamSink sink = streams.get(query.requestId());
      message.reply(sink == null ? new StreamProgress(query.requestId(), 0, "", true, false)
        : new StreamProgress(query.requestId(), sink.delivered(), sink.progressText(), sink.ended(),
          sink.continuable()));
    }
  }

  /**
   * What the response cache will do for this turn before it runs: {@code bypass} when it is not asked (the route
   * keeps no cache, the client said no-cache or no-store, several choices), else {@code miss} until a hit is served.
   */
  public String cacheState(ChatTurn turn) {
    return cache != null && ResponseCache.use(config.get().route(turn.chat().model()).cache(), turn.cacheControl(),
      turn.chat().options()) == ResponseCache.Use.READ_WRITE ? MISS : BYPASS;
  }

  /**
   * Runs one turn. Without a sink the answer comes whole in the result; with one it streams into the sink, and the
   * future completes once its end was written. A failure is what the client should be told; for a stream, the
   * sink's {@link StreamSink#started()} says whether that must be an error event. With the route's cache on, the
   * prompt (memory included) is looked up first: a hit is served without routing, a miss runs as the one turn
   * asking for that prompt while identical ones wait for its answer.
   */
  public Future<Answer> turn(ChatTurn turn, StreamSink sink, Channel channel) {
    long started = System.nanoTime();
    TurnMeters.Meters measured = meters.follow(config.get()).of(channel, turn.chat().model());
    if (sink != null) {
      sink.onFirstChunk(() -> measured.firstChunk(System.nanoTime() - started));
    }
    Future<Answer> answer = governance == null ? admitted(turn, sink)
      : governance.admit(turn.caller(), turn.chat().model(), turn.chat().messages(), turn.chat().options(),
        turn.limits()).compose(admission -> settled(admission, admitted(turn, sink)));
    return answer.onComplete(outcome -> {
      if (outcome.succeeded()) {
        measured.succeeded(System.nanoTime() - started);
      } else {
        measured.failed(ApiError.from(outcome.cause()), System.nanoTime() - started);
      }
      spent(turn, started, outcome);
    });
  }

  /** The turn's real usage and cost go to its limits and budgets once it ends (off the answer's path). */
  private Future<Answer> settled(Admission admission, Future<Answer> answer) {
    return answer.andThen(outcome -> governance.settle(admission, outcome.succeeded() ? outcome.result().result()
      : null, outcome.succeeded() && outcome.result().cacheHit()));
  }

  /**
   * The client's new messages through the input guardrails first: a refused turn goes no further; a redacted one
   * goes upstream, into the cache key and into memory as redacted (personal data is neither sent nor kept).
   */
  private Future<Answer> admitted(ChatTurn turn, StreamSink sink) {
    ChatCompletionRequest chat = turn.chat();
    return guardrails().input(turn.requestId(), turn.tenant(), chat.model(), chat.messages()).compose(messages ->
      guarded(messages == chat.messages() ? turn : turn.withMessages(messages), sink));
  }

  private Future<Answer> guarded(ChatTurn turn, StreamSink sink) {
    ChatCompletionRequest chat = turn.chat();
    boolean streaming = sink != null;
    return prompt(turn).compose(prompt -> {
      ChatRequest request = new ChatRequest(turn.requestId(), turn.tenant(), chat.model(), prompt.messages(),
        streaming, chat.options(), streaming ? inbox : null, turn.timeoutMillis(), turn.conversationId(),
        turn.priority()).withRouteHeaders(turn.routeHeaders());
      SwitchboardConfig.RouteCache policy = cache == null ? null : config.get().route(chat.model()).cache();
      ResponseCache.Use use = ResponseCache.use(policy, turn.cacheControl(), chat.options());
      if (use == ResponseCache.Use.OFF) {
        if (policy != null) {
          cache.bypassed();
        }
        return routed(turn, request, prompt, sink, null, BYPASS);
      }
      CacheKey key = CacheKey.of(turn.tenant(), chat.model(), prompt.messages(), chat.options());
      if (use == ResponseCache.Use.WRITE_ONLY) {
        cache.bypassed();
        return routed(turn, request, prompt, sink, cache.alone(key, policy), BYPASS);
      }
      return cache.lookup(key, policy, System.currentTimeMillis() + turn.timeoutMillis()).compose(lookup ->
        lookup.hit() != null ? Future.succeededFuture(replay(turn, request, prompt, sink, lookup.hit()))
          : leading(turn, request, prompt, sink, lookup.flight()));
    });
  }

  /** The turn's spend-log row and token metrics: once per turn, answered or not; a hit called no model. */
  private void spent(ChatTurn turn, long startedNanos, AsyncResult<Answer> outcome) {
    long latency = (System.nanoTime() - startedNanos) / 1_000_000;
    String keyId = turn.caller().keyId(); // who the turn acts for
    String keyAlias = turn.caller().keyAlias();
    if (outcome.succeeded()) {
      boolean hit = outcome.result().cacheHit();
      ChatResult result = outcome.result().result();
      JsonObject usage = hit ? null : result.usage();
      String deployment = hit ? null : result.deployment();
      spend.record(new TurnRecord(Instant.now(), turn.requestId(), keyId, keyAlias, turn.tenant(), turn.chat().model(),
        deployment, usage, spend.prices().costUsd(deployment, null, usage), latency, 200, hit, null));
    } else {
      ApiError error = ApiError.from(outcome.cause());
      spend.record(new TurnRecord(Instant.now(), turn.requestId(), keyId, keyAlias, turn.tenant(), turn.chat().model(),
        null, null, 0, latency, error.status(), false, TurnRecord.refusal(error)));
    }
  }

  /**
   * A miss this turn leads: whatever goes wrong before routing has it (a throw included) fails the flight at once,
   * so the turns waiting for it ask again instead of waiting out their deadline.
   */
  private Future<Answer> leading(ChatTurn turn, ChatRequest request, Prompt prompt, StreamSink sink,
                                 ResponseCache.Flight flight) {
    try {
      return routed(turn, request, prompt, sink, flight, MISS);
    } catch (RuntimeException e) {
      flight.failed();
      throw e;
    }
  }

  /** A hit: the stored answer, whole or as its stream, without routing; the turn is remembered as any other. */
  private Answer replay(ChatTurn turn, ChatRequest request, Prompt prompt, StreamSink sink, CachedAnswer hit) {
    ChatResult result;
    if (sink == null) {
      result = hit.result(turn.requestId());
    } else {
      sink.memory(prompt.memory());
      sink.cache(HIT);
      List<StreamChunk> chunks = hit.replay(turn.requestId(), turn.chat().model());
      for (StreamChunk chunk : chunks) {
        sink.accept(chunk);
      }
      result = chunks.get(chunks.size() - 1).end();
    }
    remember(request, turn.chat().messages(), sink == null ? result.assistantMessage()
      : new ChatMessage(sink.finalMessage(result)));
    return new Answer(result, prompt.memory(), HIT);
  }

  /** The turn through routing; a flight, when there is one, is given the answer to store (or told it failed). */
  private Future<Answer> routed(ChatTurn turn, ChatRequest request, Prompt prompt, StreamSink sink,
                                ResponseCache.Flight flight, String cacheState) {
    List<ChatMessage> fresh = turn.chat().messages();
    if (sink == null) {
      // the answer through the output guardrails before anything (the cache included) sees it
      Future<ChatResult> routed = route(request).compose(result -> guardrails().output(turn.requestId(), turn.tenant(),
        turn.chat().model(), result));
      if (flight != null) {
        routed.onComplete(outcome -> {
          if (outcome.failed()) {
            flight.failed();
          } else {
            flight.offer(outcome.result().completion() == null || skipsFill(request) ? null
              : CachedAnswer.whole(outcome.result(), flight.expiresAt()));
          }
        });
      }
      return routed.map(result -> {
        remember(request, fresh, result.assistantMessage());
        return new Answer(result, prompt.memory(), cacheState);
      });
    }
    Future<ChatResult> routed = route(request);
    sink.memory(prompt.memory());
    sink.cache(cacheState);
    sink.guard(guardrails().stream(turn.requestId(), turn.tenant(), turn.chat().model()));
    if (flight != null) {
      sink.record(flight.maxBytes());
    }
    streams.put(turn.requestId(), sink);
    // a stream ends with its last chunk, in the inbox; routing's reply says the turn failed, or that the end was
    // sent: an end lost between nodes (its node died right after) fails the stream instead of leaving it open
    routed.onComplete(outcome -> {
      if (outcome.failed()) {
        sink.fail(outcome.cause());
      } else if (!sink.ended()) {
        vertx.setTimer(LOST_END_WAIT_MILLIS, t -> {
          if (!sink.ending()) { // an end being vetted by a moderation model is not lost
            sink.fail(ApiError.upstreamFailed("The end of the answer was lost between gateway nodes.").toException());
          }
        });
      }
    });
    return sink.done()
      .onComplete(ended -> {
        streams.remove(turn.requestId());
        if (flight != null && ended.failed()) {
          flight.failed();
        }
        if (ended.failed() && Guardrails.isViolation(ApiError.from(ended.cause()))) {
          // a guardrail ended the answer: the upstream call stops too
          vertx.eventBus().publish(Addresses.TURN_CANCEL, new CancelTurn(turn.requestId(), CancelTurn.ALL,
            "content policy"));
        }
      })
      .map(result -> {
        JsonObject message = sink.finalMessage(result);
        if (flight != null) {
          // a stream a fallback carried on, or one too big to keep, is served but not stored
          flight.offer(sink.recorded() == null || sink.attempts() > 1 || skipsFill(request) ? null
            : CachedAnswer.streamed(sink.recorded(), result, message, flight.expiresAt()));
        }
        remember(request, fresh, new ChatMessage(message));
        return new Answer(result, prompt.memory(), cacheState);
      });
  }

  /** The guardrails of the configuration now: one reference comparison a turn, a rebuild after a reload. */
  private Guardrails guardrails() {
    return guardrails = guardrails.on(config.get());
  }

  /** The client went away or asked to stop: the upstream call stops wherever it runs, the sink hears no more. */
  public void cancel(String requestId, String reason) {
    StreamSink sink = streams.remove(requestId);
    if (sink != null) {
      sink.fail(ApiError.cancelled(reason).toException());
    }
    vertx.eventBus().publish(Addresses.TURN_CANCEL, new CancelTurn(requestId, CancelTurn.ALL, reason));
  }

  private record Prompt(List<ChatMessage> messages, String memory) {
  }

  /** The messages to send upstream; never fails: without memory, the client's own messages. */
  private Future<Prompt> prompt(ChatTurn turn) {
    List<ChatMessage> fresh = turn.chat().messages();
    if (turn.conversationId() == null) {
      return Future.succeededFuture(new Prompt(fresh, "off"));
    }
    int budget = config.get().route(turn.chat().model()).contextTokens();
    return PreferLocal.<History>request(vertx.eventBus(), Addresses.SESSION_PROMPT,
        new PromptQuery(turn.tenant(), turn.conversationId(), fresh, budget), SESSION_TIMEOUT_MILLIS)
      .map(reply -> new Prompt(reply.body().messages(), remembered))
      .otherwise(failure -> {
        LOG.warn("request {}: conversation memory unavailable, serving without it ({})", turn.requestId(),
          ApiError.from(failure).message());
        memoryUnavailable.increment();
        return new Prompt(fresh, "unavailable");
      });
  }

  private Future<ChatResult> route(ChatRequest request) {
    return PreferLocal.<ChatResult>request(vertx.eventBus(), Addresses.ROUTING_CHAT, request,
      request.timeoutMillis() + BUS_MARGIN_MILLIS).map(Message::body);
  }

  /** Under overload, an answer is served but not stored in the cache (lookups go on: a hit spares the model). */
  private boolean skipsFill(ChatRequest request) {
    if (config.get().route(request.model()).skips(SwitchboardConfig.Route.CACHE_FILL, load.level())) {
      load.skipped(SwitchboardConfig.Route.CACHE_FILL);
      return true;
    }
    return false;
  }

  /** Stores the client's new messages and the answer, after the answer went out. */
  private void remember(ChatRequest request, List<ChatMessage> fresh, ChatMessage answer) {
    if (request.conversationId() == null) {
      return;
    }
    if (config.get().route(request.model()).skips(SwitchboardConfig.Route.MEMORY_WRITE, load.level())) {
      load.skipped(SwitchboardConfig.Route.MEMORY_WRITE);
      return;
    }
    List<ChatMessage> turn = new ArrayList<>(fresh.size() + 1);
    turn.addAll(fresh);
    turn.add(answer);
    PreferLocal.request(vertx.eventBus(), Addresses.SESSION_APPEND,
        new HistoryAppend(request.tenant(), request.conversationId(), turn), SESSION_TIMEOUT_MILLIS)
      .onFailure(failure -> {
        LOG.warn("request {}: the turn could not be stored in conversation {} ({})", request.requestId(),
          request.conversationId(), ApiError.from(failure).message());
        registry.counter("switchboard.session.append.failed").increment();
      });
  }

  /** A text message from a user, as the IM channels and simple WebSocket chats send it. */
  public static JsonObject userText(String text) {
    return new JsonObject().put("role", "user").put("content", text);
  }
}

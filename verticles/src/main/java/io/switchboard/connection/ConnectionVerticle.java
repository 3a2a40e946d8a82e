package io.switchboard.connection;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.BusFailure;
import io.switchboard.bus.ConversationIds;
import io.switchboard.bus.ModelCatalog;
import io.switchboard.cache.ResponseCache;
import io.switchboard.config.LiveConfig;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.eventbus.PreferLocal;
import io.switchboard.im.ImWebhooks;
import io.switchboard.chat.ChatCompletionRequest;
import io.switchboard.chat.ChatPipeline;
import io.switchboard.chat.InvalidRequest;
import io.switchboard.governance.Caller;
import io.switchboard.governance.RateLimits;
import io.switchboard.governance.Governance;
import io.switchboard.governance.Spend;
import io.switchboard.json.JsonText;
import io.switchboard.overload.NodeLoad;
import io.switchboard.vertx.WriteQueues;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.StaticHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HexFormat;
import java.util.regex.Pattern;
import java.util.concurrent.ThreadLocalRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.HashSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The public door: the OpenAI-compatible HTTP API (with OpenAI's Responses API and Anthropic's Messages API as
 * translations onto the same chat turn). Reads and checks requests, loads conversation memory,
 * hands turns to routing, and writes answers back (SSE for streams, whose chunks arrive at this instance's
 * inbox, registered once at start-up). Stateless apart from the turns in flight.
 */
public final class ConnectionVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectionVerticle.class);
  private static final Logger ACCESS = LoggerFactory.getLogger("switchboard.access");
  static final String REQUEST_ID = "x-request-id";
  /*
   * Header names (and fixed values) written on every answer, made once as ASCII strings: Vert.x then reuses their
   * hash and copies their bytes as they are, where a String is hashed and encoded char by char on every response.
   */
  private static final CharSequence REQUEST_ID_HEADER = HttpHeaders.createOptimized(REQUEST_ID);
  static final CharSequence CONVERSATION_ID = HttpHeaders.createOptimized("x-conversation-id");
  static final CharSequence MEMORY = HttpHeaders.createOptimized("x-switchboard-memory");
  static final CharSequence CACHE = HttpHeaders.createOptimized("x-switchboard-cache");
  static final CharSequence DEPLOYMENT = HttpHeaders.createOptimized("x-switchboard-deployment");
  /** The routing context's {@link Caller}, put there by {@link #authenticate}. */
  static final String CALLER = "caller";
  private static final long MODELS_TIMEOUT_MILLIS = 2_000;
  /** How long a connection verticle going away keeps serving its keep-alive connections, each a last time. */
  private static final long KEEP_ALIVE_HANDOVER_MILLIS = 1_000;
  private static final HexFormat HEX = HexFormat.of();
  private static final Pattern CLIENT_REQUEST_ID = Pattern.compile("[A-Za-z0-9._:\\-]+");

  private final NodeLoad load;
  private final SwitchboardConfig config;
  private final LiveConfig live;
  private final SwitchboardConfig.Server settings;
  private final Governance governance;
  private final ChatRules rules;
  private final String inbox;
  private final MeterRegistry registry;
  private final ResponseCache cache;
  private final Spend spend;
  /** The paths whose requests are chat turns, counted as {@code switchboard.chat.requests}. */
  private static final Set<String> CHAT_PATHS = Set.of("/v1/chat/completions", "/v1/responses", "/v1/messages");
  /** Meters made once per (model, status, path), then found by their tags, not searched in the registry. */
  private final Map<RequestKey, Timer> chatTimers = new HashMap<>();
  private final Map<RequestKey, Timer> httpTimers = new HashMap<>();
  /** The routes' fixed paths, for requests an error handler answers. */
  private final Set<String> paths = new HashSet<>();
  private ChatPipeline pipeline;
  /** The IM bots and their work queue, closed when this instance stops; null without IM channels. */
  private ImWebhooks imWebhooks;
  private Counter streamPauses;
  private final Set<WebSocketChat> sockets = new HashSet<>();
  /** One for every socket, not a closure each. */
  private final Consumer<WebSocketChat> forgetSocket = sockets::remove;
  private HttpServer server;
  /** The server is shutting down (a redeploy, the node's SIGTERM): responses close their connection. */
  private boolean draining;

  /**
   * Writes an admitted or refused request's {@code x-ratelimit-*} headers, as every door sends them: only while the
   * head is unwritten (a stream that began keeps its head).
   */
  static Consumer<RateLimits> rateLimitHeaders(HttpServerResponse response) {
    return limits -> {
      if (!response.headWritten()) {
        limits.forEach(response::putHeader);
      }
    };
  }

  /**
   * @param cache the node's response cache, shared by its instances; null when no route caches
   * @param spend the node's spend log and token metrics, shared by its instances
   * @param load  the node's overload level
   */
  public ConnectionVerticle(SwitchboardConfig config, String nodeId, int instance, MeterRegistry registry,
                            ResponseCache cache, Governance governance, Spend spend, NodeLoad load) {
    this(new LiveConfig(config), nodeId, instance, registry, cache, governance, spend, load);
  }

  /**
   * @param live the node's configuration now: served models and routes follow a reload; what the server, bridges
   *             and IM webhooks were started with changes by redeploying this verticle
   */
  public ConnectionVerticle(LiveConfig live, String nodeId, int instance, MeterRegistry registry,
                            ResponseCache cache, Governance governance, Spend spend, NodeLoad load) {
    this.live = live;
    this.config = live.get();
    this.load = load;
    this.settings = config.server();
    this.governance = governance;
    this.rules = new ChatRules(live);
    this.inbox = Addresses.inbox(nodeId, instance);
    this.registry = registry;
    this.cache = cache;
    this.spend = spend;
  }

  @Override
  public Future<?> start() {
    pipeline = new ChatPipeline(vertx, registry, live, inbox, cache, governance, spend, load);
    streamPauses = Counter.builder("switchboard.stream.paused")
      .description("Times a slow client made a stream stop reading its upstream").register(registry);
    Router router = Router.router(vertx);
    router.route().handler(this::assignRequestId);
    router.post("/v1/chat/completions")
      .handler(BodyHandler.create(false).setBodyLimit(settings.maxBodyBytes()))
      .handler(this::authenticate)
      .handler(this::chat);
    new EmbeddingsApi(vertx, registry, settings, this::fail, this::record, governance).mount(router, this::authenticate);
    new TranscriptionsApi(vertx, registry, settings, this::fail, this::record, governance)
      .mount(router, this::authenticate);
    TranslatedTurns translated = new TranslatedTurns(vertx, pipeline, settings, rules, streamPauses, this::record);
    new ResponsesApi(vertx, settings, translated, this::fail, (ctx, body) -> respondJson(ctx, 200, body))
      .mount(router, this::authenticate);
    new MessagesApi(settings, translated, governance, this::respondJson).mount(router);
    router.get("/v1/models").handler(this::authenticate).handler(this::models);
    router.get("/v1/key/info").handler(this::authenticate).handler(this::keyInfo);
    router.get("/v1/ws").handler(this::webSocket);
    new ConversationApi(vertx, this::fail, (ctx, body) -> respondJson(ctx, 200, body)).mount(router, this::authenticate);
    router.get("/v1/models/:model").handler(this::authenticate).handler(this::models);
    // the web chat page, from the jar: nothing is fetched from the internet
    router.get("/").handler(StaticHandler.create("webroot").setIndexPage("index.html").setCachingEnabled(false));
    router.getWithRegex("/(app\\.js|app\\.css|vendor/[\\w.-]+\\.js)").handler(StaticHandler.create("webroot"));
    Future<Void> bridge = config.bridge().sockJs()
      ? new ClientBridge(vertx, governance, pipeline, settings, rules).mount(router)
      : Future.succeededFuture();
    Future<ImWebhooks> im = config.imChannels().isEmpty() ? Future.succeededFuture()
      : ImWebhooks.mount(vertx, router, pipeline, config, registry).onSuccess(mounted -> imWebhooks = mounted);
    router.getRoutes().forEach(route -> {
      if (route.getPath() != null) {
        paths.add(route.getPath());
      }
    });
    HttpGuards.jsonErrors(router, this::fail);
    router.errorHandler(413, ctx -> fail(ctx, ApiError.payloadTooLarge(settings.maxBodyBytes())));
    router.errorHandler(500, ctx -> {
      LOG.error("request {} failed inside the gateway", ctx.get(REQUEST_ID), ctx.failure());
      fail(ctx, ApiError.internal());
    });

    HttpServerOptions options = new HttpServerOptions().setTcpNoDelay(true).setIdleTimeout(600)
      .setWebSocketClosingTimeout(10)
      .setIdleTimeoutUnit(TimeUnit.SECONDS)
      // Vert.x's default is on: a browser's socket would keep a zlib pair (~108 KB) open, and every HTTP/1 connection
      // would pass through the extension handler (perf/results/2026-12-03-websocket-deflate.sh)
      .setPerMessageWebSocketCompressionSupported(settings.webSocketCompression())
      .setPerFrameWebSocketCompressionSupported(settings.webSocketCompression())
      .setMaxWebSocketMessageSize(settings.maxBodyBytes() > Integer.MAX_VALUE ? Integer.MAX_VALUE
        : (int) settings.maxBodyBytes());
    server = HttpGuards.protect(vertx.createHttpServer(options), options, settings.port(),
      settings.headerReadTimeoutMillis(), settings.idleTimeoutMillis());
    // shutting down: a keep-alive connection is not closed under a request its client may be sending, but after the
    // next response, which says Connection: close (or by its idle timeout, or at the end of the drain)
    server.connectionHandler(connection -> {
      // a linked write queue instead of the 4 KB array each connection holds open; not strict thread mode, which
      // would drop it too: vertx-web's SockJS fallbacks write a session's heartbeat on the loop that made the session,
      // to a poll that may have come in on another instance's
      WriteQueues.link(connection);
      connection.shutdownHandler(v -> draining = true);
    });
    // and from the node's SIGTERM on, while the load balancer takes it out: clients reconnect, through the balancer
    Future<Void> drainOrder = vertx.eventBus().localConsumer(Addresses.NODE_DRAINING, message -> draining = true)
      .completion();
    long sweepEvery = Math.max(1_000, settings.webSocketIdleTimeoutMillis() / 6);
    vertx.setPeriodic(sweepEvery, t -> {
      long now = System.currentTimeMillis();
      for (WebSocketChat chat : List.copyOf(sockets)) {
        chat.sweep(now, settings.webSocketIdleTimeoutMillis());
      }
    });
    return Future.all(pipeline.start(), im, bridge, drainOrder)
      .compose(x -> server.requestHandler(router).listen(settings.port(), settings.host()));
  }

  private void webSocket(RoutingContext ctx) {
    ApiError refusal = HttpGuards.webSocketRefusal(ctx.request());
    if (refusal != null) {
      fail(ctx, refusal);
      return;
    }
    String authorization = ctx.request().getHeader("authorization");
    if (authorization == null && governance.authEnabled()) {
      upgrade(ctx, null); // signs in with its first message
      return;
    }
    ctx.request().pause(); // an admin-API key may be looked up in Redis first
    governance.authenticate(authorization).onComplete(outcome -> {
      ctx.request().resume();
      if (outcome.failed()) {
        fail(ctx, outcome.cause());
      } else if (outcome.result() == null) {
        fail(ctx, ApiError.invalidApiKey("Incorrect API key provided."));
      } else {
        upgrade(ctx, outcome.result());
      }
    });
  }

  private void upgrade(RoutingContext ctx, Caller preAuthenticated) {
    HttpConnection upgraded = ctx.request().connection();
    ctx.request().toWebSocket().onSuccess(socket -> {
      WebSocketFootprint.trim(upgraded);
      sockets.add(new WebSocketChat(vertx, socket, governance, pipeline, settings, preAuthenticated, rules,
        streamPauses, forgetSocket));
    }).onFailure(failure -> fail(ctx, ApiError.badRequest("The WebSocket handshake failed.", null)));
  }

  /** Lets requests in flight finish (streams included) before the server goes. */
  @Override
  public Future<?> stop() {
    // keep-alive connections in use are handed over first: each closes after its next response (Connection: close),
    // so few are left idle for the shutdown to close under a client that is just sending on one
    boolean handedOver = draining;
    draining = true;
    return (handedOver ? Future.succeededFuture() : vertx.timer(KEEP_ALIVE_HANDOVER_MILLIS))
      .compose(v -> server.shutdown(30, TimeUnit.SECONDS))
      .eventually(() -> imWebhooks != null ? imWebhooks.close() : Future.succeededFuture());
  }

  private void assignRequestId(RoutingContext ctx) {
    String given = ctx.request().getHeader(REQUEST_ID);
    String id = given != null && given.length() <= 128 && CLIENT_REQUEST_ID.matcher(given).matches() ? given : newRequestId();
    ctx.put(REQUEST_ID, id);
    ctx.put("startNanos", System.nanoTime());
    io.switchboard.logging.TurnLogContext.enter(id, ctx.request().getHeader("traceparent"));
    ctx.response().putHeader(REQUEST_ID_HEADER, id);
    if (draining && ctx.request().version() != io.vertx.core.http.HttpVersion.HTTP_2) {
      ctx.response().putHeader("connection", "close");
    }
    ctx.next();
  }

  /** 96 random bits: unique enough to find a request in the logs; not a secret, so no SecureRandom lock. */
  static String newRequestId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "req_" + HEX.toHexDigits(random.nextLong()) + HEX.toHexDigits(random.nextInt());
  }

  private void authenticate(RoutingContext ctx) {
    String authorization = ctx.request().getHeader("authorization");
    governance.authenticate(authorization).onComplete(outcome -> {
      if (outcome.failed()) {
        fail(ctx, outcome.cause());
      } else if (outcome.result() == null) {
        fail(ctx, ApiError.invalidApiKey(authorization == null
          ? "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
          : "Incorrect API key provided, or it was revoked or has expired."));
      } else {
        ctx.put(CALLER, outcome.result());
        ctx.next();
      }
    });
  }

  /** {@code GET /v1/key/info}: the key's own limits, what remains of them, and its spend this period. */
  private void keyInfo(RoutingContext ctx) {
    governance.keyInfo(ctx.get(CALLER))
      .onSuccess(info -> respondJson(ctx, 200, info))
      .onFailure(failure -> fail(ctx, failure));
  }

  private void models(RoutingContext ctx) {
    String wanted = ctx.pathParam("model");
    Caller caller = ctx.get(CALLER);
    PreferLocal.<ModelCatalog>request(vertx.eventBus(), Addresses.ROUTING_MODELS, "", MODELS_TIMEOUT_MILLIS)
      .onSuccess(reply -> {
        JsonArray data = new JsonArray();
        for (ModelCatalog.Model model : reply.body().models()) {
          if (!governance.allows(caller, model.id())) {
            continue; // only what the caller may use
          }
          JsonObject json = new JsonObject().put("id", model.id()).put("object", "model")
            .put("created", model.created()).put("owned_by", model.ownedBy());
          if (model.id().equals(wanted)) {
            respondJson(ctx, 200, json);
            return;
          }
          data.add(json);
        }
        if (wanted != null) {
          fail(ctx, ApiError.modelNotFound(wanted));
        } else {
          respondJson(ctx, 200, new JsonObject().put("object", "list").put("data", data));
        }
      })
      .onFailure(failure -> fail(ctx, ApiError.from(failure)));
  }

  private void chat(RoutingContext ctx) {
    ChatCompletionRequest chat;
    String conversationId = ctx.request().getHeader(CONVERSATION_ID);
    try {
      JsonObject body;
      try {
        body = ctx.body().asJsonObject();
      } catch (DecodeException | ClassCastException e) {
        throw InvalidRequest.of("We could not parse the JSON body of your request: it must be a JSON object.", null);
      }
      if (body == null) {
        throw InvalidRequest.of("The request body is empty; it must be a JSON object.", null);
      }
      chat = ChatCompletionRequest.parse(body);
      if (conversationId != null && !ConversationIds.isValid(conversationId)) {
        throw InvalidRequest.of("The x-conversation-id header must be 1-128 characters of A-Z a-z 0-9 . _ -.",
          CONVERSATION_ID.toString());
      }
    } catch (InvalidRequest e) {
      fail(ctx, e.error());
      return;
    }
    ApiError refusal = rules.refusal(chat.model());
    if (refusal != null) {
      ctx.put("model", ChatRules.echoed(chat.model()));
      fail(ctx, refusal);
      return;
    }
    ctx.put("model", chat.model());
    Caller caller = ctx.get(CALLER);
    String requestId = ctx.get(REQUEST_ID);
    if (conversationId != null) {
      ctx.response().putHeader(CONVERSATION_ID, conversationId);
    }
    HttpServerResponse response = ctx.response();
    ChatPipeline.ChatTurn turn = new ChatPipeline.ChatTurn(requestId, caller, chat, conversationId,
      settings.requestTimeoutMillis(), ctx.request().getHeader("cache-control"), rateLimitHeaders(response),
      rules.routeHeaders(ctx.request()));
    // what an error says too; a hit says so when it is served
    ctx.response().putHeader(CACHE, pipeline.cacheState(turn));
    if (chat.stream()) {
      stream(ctx, turn);
    } else {
      complete(ctx, turn);
    }
  }

  /** The upstream's completion as it wrote it, with the gateway's id and the public model name. */
  private void complete(RoutingContext ctx, ChatPipeline.ChatTurn turn) {
    pipeline.turn(turn, null, ChatPipeline.Channel.HTTP)
      .onSuccess(answer -> {
        HttpServerResponse response = ctx.response();
        if (response.ended() || response.closed()) {
          return;
        }
        if (turn.conversationId() != null) {
          response.putHeader(MEMORY, answer.memory());
        }
        response.putHeader(CACHE, answer.cache())
          .putHeader(DEPLOYMENT, String.valueOf(answer.result().deployment()))
          .putHeader(HttpHeaders.CONTENT_TYPE, JsonText.MEDIA_TYPE)
          .end(OpenAiJson.completion(turn.requestId(), turn.chat().model(), answer.result()));
        record(ctx, 200);
      })
      .onFailure(failure -> fail(ctx, failure));
  }

  private void stream(RoutingContext ctx, ChatPipeline.ChatTurn turn) {
    String requestId = turn.requestId();
    FlowGate gate = new FlowGate(vertx, ctx.response(), settings.slowClientTimeoutMillis(), streamPauses, () -> {
      LOG.info("request {}: client too slow, dropping its stream", requestId);
      ctx.response().reset();
    });
    gate.add(requestId);
    SseTurn sink = new SseTurn(ctx.response(), gate, turn.chat().includeUsage(), turn.conversationId() != null);
    ctx.response().closeHandler(v -> {
      if (!sink.ended()) {
        // the client left mid-answer: stop the upstream call wherever it runs
        pipeline.cancel(requestId, "client disconnected");
        record(ctx, 499);
      }
    });
    pipeline.turn(turn, sink, ChatPipeline.Channel.HTTP).onComplete(outcome -> {
      if (outcome.succeeded()) {
        record(ctx, 200);
      } else if (ctx.response().closed()) {
        return; // counted as 499 when the client left
      } else if (sink.started()) {
        sink.error(ApiError.from(outcome.cause()));
        record(ctx, ApiError.from(outcome.cause()).status());
      } else {
        fail(ctx, outcome.cause());
      }
    });
  }

  private void respondJson(RoutingContext ctx, int status, JsonObject body) {
    HttpServerResponse response = ctx.response();
    if (response.ended() || response.closed()) {
      return;
    }
    response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JsonText.MEDIA_TYPE).end(body.toBuffer());
    record(ctx, status);
  }

  /** A failed turn: its error, and Retry-After when the gateway or the upstream asked clients to wait. */
  private void fail(RoutingContext ctx, Throwable failure) {
    BusFailure details = BusFailure.from(failure);
    if (details.retryAfterSeconds() > 0) {
      ctx.response().putHeader("retry-after", String.valueOf(details.retryAfterSeconds()));
    }
    fail(ctx, details.error());
  }

  private void fail(RoutingContext ctx, ApiError error) {
    HttpServerResponse response = ctx.response();
    if (response.headWritten()) {
      response.reset();
      return;
    }
    if (error.status() == 401) {
      response.putHeader("www-authenticate", "Bearer");
    }
    respondJson(ctx, error.status(), error.toJson());
  }

  private void record(RoutingContext ctx, int status) {
    Long start = ctx.get("startNanos");
    long nanos = start == null ? 0 : System.nanoTime() - start;
    String model = ctx.get("model");
    String path = ctx.currentRoute() != null && ctx.currentRoute().getPath() != null ? ctx.currentRoute().getPath()
      // an error handler (a 413 from the body limit) runs outside the route: the path names it when it is one of ours
      : paths.contains(ctx.normalizedPath()) ? ctx.normalizedPath() : "unmatched";
    Timer timer;
    if (CHAT_PATHS.contains(path)) {
      // only models routing accepted become tags, so clients cannot grow the metric's cardinality
      String modelTag = model != null && (status == 200 || status == 429 || status >= 502) ? model : "none";
      timer = chatTimers.computeIfAbsent(new RequestKey(modelTag, status, path), key ->
        Timer.builder("switchboard.chat.requests")
          .description("Chat requests (chat completions, responses, messages) by model, status and path")
          .tag("model", key.model()).tag("status", String.valueOf(status)).tag("path", path).register(registry));
    } else {
      timer = httpTimers.computeIfAbsent(new RequestKey("", status, path), key ->
        Timer.builder("switchboard.http.requests")
          .description("Other client requests on the API port by status and path (unmatched: no such route)")
          .tag("status", String.valueOf(status)).tag("path", path).register(registry));
    }
    timer.record(nanos, TimeUnit.NANOSECONDS);
    if (ACCESS.isInfoEnabled()) {
      String id = ctx.get(REQUEST_ID);
      if (ctx.request() instanceof io.vertx.core.internal.http.HttpServerRequestInternal request
        && request.context() != io.vertx.core.Vertx.currentContext()) {
        // a stream ends on its inbox's context: the line is logged on the request's own, with its ids (and span)
        request.context().dispatch(() -> ACCESS.info("{} {} {} {} model={} ms={}", id, ctx.request().method(),
          ctx.normalizedPath(), status, model, nanos / 1_000_000));
      } else {
        ACCESS.info("{} {} {} {} model={} ms={}", id, ctx.request().method(), ctx.normalizedPath(), status, model,
          nanos / 1_000_000);
      }
    }
  }

  /** A request meter's tags. */
  private record RequestKey(String model, int status, String path) {
  }

}

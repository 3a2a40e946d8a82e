package io.switchboard.monitoring;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.connection.HttpGuards;
import io.switchboard.control.ControlAdmin;
import io.switchboard.control.NodeControl;
import io.switchboard.eventbus.PreferLocal;
import io.switchboard.governance.Governance;
import io.switchboard.governance.KeysAdmin;
import io.switchboard.governance.OperatorConsole;
import io.switchboard.governance.Spend;
import io.switchboard.governance.UsageApi;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import io.switchboard.session.RedisConversationStore;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.util.stream.Collectors;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.concurrent.TimeUnit;

/**
 * The operator's window on a node, on the management port: {@code /metrics} (Prometheus: Vert.x's own
 * metrics and Switchboard's), {@code /health} (the process is alive) and {@code /ready} (it takes traffic, and what it
 * depends on answers: a routing verticle, Redis).
 */
public final class MonitoringVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(MonitoringVerticle.class);
  private static final long READY_PROBE_MILLIS = 1_000;
  private final SwitchboardConfig config;
  private final String nodeId;
  private final PrometheusMeterRegistry registry;
  private final Governance governance;
  private final Spend spend;
  private final NodeControl control;
  private HttpServer server;
  /** One client per Redis the node's memory, limits or cache use, for /ready. */
  private final List<Redis> redisClients = new ArrayList<>();
  /** Turns are refused without Redis (governance.on_redis_down: closed): /ready fails with it. */
  private final boolean redisRequired;

  /** @param spend the node's spend log, for {@code /admin/usage} */
  public MonitoringVerticle(SwitchboardConfig config, String nodeId, PrometheusMeterRegistry registry,
                            Governance governance, Spend spend) {
    this(config, nodeId, registry, governance, spend, null);
  }

  /** @param control the node's reloads, weights and redeploys, for their admin API; null: none */
  public MonitoringVerticle(SwitchboardConfig config, String nodeId, PrometheusMeterRegistry registry,
                            Governance governance, Spend spend, NodeControl control) {
    this.control = control;
    this.config = config;
    this.nodeId = nodeId;
    this.registry = registry;
    this.governance = governance;
    this.spend = spend;
    this.redisRequired = config.governance().store().equals("redis")
      && config.governance().onRedisDown().equals("closed");
  }

  @Override
  public Future<?> start() {
    for (String url : redisUrls(config)) {
      redisClients.add(Redis.createClient(vertx, RedisConversationStore.options(url)));
    }
    Router router = Router.router(vertx);
    router.get("/metrics").handler(ctx -> ctx.response()
      .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
      .end(registry.scrape()));
    router.get("/health").handler(this::health);
    router.get("/ready").handler(this::ready);
    OperatorConsole.mount(router);
    router.route("/admin/*").handler(this::authorizeAdmin);
    router.get("/admin/routes").handler(this::routes);
    router.post("/admin/models/:model/degrade").handler(BodyHandler.create(false).setBodyLimit(4096))
      .handler(this::degrade);
    router.delete("/admin/models/:model/degrade").handler(this::degrade);
    router.delete("/admin/cache").handler(this::flushCache);
    new KeysAdmin(governance).mount(router);
    router.get("/admin/usage").handler(new UsageApi(spend)::usage);
    if (control != null) {
      new ControlAdmin(control).mount(router);
    }
    HttpGuards.jsonErrors(router, MonitoringVerticle::error);
    router.errorHandler(500, ctx -> {
      LOG.error("management request {} {} failed", ctx.request().method(), HttpGuards.path(ctx), ctx.failure());
      error(ctx, ApiError.internal());
    });
    // scrapes and probes are not traces
    // no WebSockets here: without Vert.x's default compression, no connection passes the WebSocket extension handler
    HttpServerOptions options = new HttpServerOptions().setTracingPolicy(io.vertx.core.tracing.TracingPolicy.IGNORE)
      .setPerMessageWebSocketCompressionSupported(false).setPerFrameWebSocketCompressionSupported(false);
    server = HttpGuards.protect(vertx.createHttpServer(options), options, config.management().port(),
      config.management().headerReadTimeoutMillis(),
      config.management().idleTimeoutMillis());
    Future<String> probes = vertx.deployVerticle(() -> new EventLoopDelay(registry),
      new io.vertx.core.DeploymentOptions().setInstances(config.server().eventLoopCount()));
    return probes.compose(id -> server.requestHandler(router).listen(config.management().port(),
      config.management().host()));
  }

  @Override
  public Future<?> stop() {
    redisClients.forEach(Redis::close);
    return server.shutdown(5, TimeUnit.SECONDS);
  }

  /** The Redis servers this node depends on: for conversations, for limits, for the shared cache layer. */
  static Set<String> redisUrls(SwitchboardConfig config) {
    Set<String> urls = new java.util.LinkedHashSet<>();
    if (config.session().store().equals("redis")) {
      urls.add(config.session().redisUrl());
    }
    if (config.governance().store().equals("redis")) {
      urls.add(config.governance().redisUrl());
    }
    if (config.cache().store().equals("redis") && config.caches()) {
      urls.add(config.cache().redisUrl());
    }
    return urls;
  }

  /** The process is alive and its event loop answers: restart it when this fails. */
  private void health(RoutingContext ctx) {
    json(ctx, 200, new JsonObject().put("status", "UP").put("node", nodeId).put("clustered", vertx.isClustered())
      .put("verticles", new JsonArray(config.verticles().stream().sorted().toList())));
  }

  /**
   * The node takes traffic: every verticle is deployed (this one is last) and, when it serves clients, a routing
   * verticle answers on the event bus. Take it out of the load balancer while this is 503.
   */
  private void ready(RoutingContext ctx) {
    JsonObject body = new JsonObject()
      .put("node", nodeId)
      .put("clustered", vertx.isClustered())
      .put("verticles", new JsonArray(config.verticles().stream().sorted().toList()));
    if (control != null && control.draining()) {
      json(ctx, 503, body.put("status", "DRAINING").put("reason", "the node is shutting down"));
      return;
    }
    Future<Void> routing = !config.runs("connection") ? Future.succeededFuture()
      : PreferLocal.request(vertx.eventBus(), Addresses.ROUTING_MODELS, "", READY_PROBE_MILLIS)
        .<Void>mapEmpty().recover(failure -> Future.failedFuture(
          "no routing verticle answered within " + READY_PROBE_MILLIS + " ms"));
    Future<Void> redis = redisReachable();
    Future.join(routing, redis).onComplete(all -> {
      if (!redisClients.isEmpty()) {
        body.put("redis", redis.succeeded() ? "reachable" : "unreachable");
      }
      if (routing.failed()) {
        json(ctx, 503, body.put("status", "NOT_READY").put("reason", routing.cause().getMessage()));
      } else if (redis.failed() && redisRequired) {
        json(ctx, 503, body.put("status", "NOT_READY").put("reason", "Redis did not answer within "
          + READY_PROBE_MILLIS + " ms, and governance.on_redis_down is closed: turns are refused without it"));
      } else {
        // without Redis, turns are served without memory and with per-node limits: degraded, still taking traffic
        json(ctx, 200, body.put("status", "READY").put("degraded", redis.failed()));
      }
    });
  }

  /** Every Redis the node uses answers PING in time (succeeds at once when it uses none). */
  private Future<Void> redisReachable() {
    List<Future<?>> pings = new ArrayList<>();
    for (Redis redis : redisClients) {
      pings.add(redis.send(Request.cmd(Command.PING)).timeout(READY_PROBE_MILLIS, TimeUnit.MILLISECONDS));
    }
    return Future.all(pings).mapEmpty();
  }

  private void authorizeAdmin(RoutingContext ctx) {
    String token = config.management().adminToken();
    if (token == null) {
      error(ctx, new ApiError(403, "permission_error", "admin_disabled",
        "The admin API is off: set management.admin_token to turn it on.", null));
      return;
    }
    String presented = ctx.request().getHeader("authorization");
    byte[] expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    if (presented == null || !MessageDigest.isEqual(expected, presented.getBytes(StandardCharsets.UTF_8))) {
      error(ctx, ApiError.invalidApiKey("The admin API needs 'Authorization: Bearer <management.admin_token>'."));
      return;
    }
    ctx.next();
  }

  private void routes(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(Addresses.ROUTING_STATE, "")
      .onSuccess(reply -> json(ctx, 200, withBreakers(reply.body())))
      .onFailure(failure -> error(ctx, ApiError.unavailable("This node runs no routing verticle.")));
  }

  /** Adds each deployment's circuit breaker state ("closed", "half_open", "open") where this node calls it. */
  private JsonObject withBreakers(JsonObject routes) {
    JsonObject models = routes.getJsonObject("models", new JsonObject());
    for (String model : models.fieldNames()) {
      for (Object d : models.getJsonObject(model).getJsonArray("deployments", new JsonArray())) {
        JsonObject deployment = (JsonObject) d;
        Gauge state = registry.find("switchboard.circuit.state")
          .tag("deployment", deployment.getString("id")).gauge();
        if (state != null) {
          deployment.put("breaker", switch ((int) state.value()) {
            case 0 -> "closed";
            case 1 -> "half_open";
            default -> "open";
          });
        }
      }
    }
    return routes;
  }

  /**
   * The manual degrade switch: all of a model's traffic goes to its backup ("ChatGPT is down, switch to
   * GLM"), on every node of the cluster, until lifted.
   */
  private void degrade(RoutingContext ctx) {
    String model = ctx.pathParam("model");
    Set<String> models = (control != null ? control.live().get() : config).deployments().stream().map(d -> d.modelName()).collect(Collectors.toSet());
    if (!models.contains(model)) {
      error(ctx, ApiError.modelNotFound(model));
      return;
    }
    JsonObject order = new JsonObject().put("model", model);
    if (ctx.request().method() == HttpMethod.POST) {
      String to;
      try {
        to = ctx.body().asJsonObject().getString("to");
      } catch (RuntimeException e) {
        to = null;
      }
      if (to == null || !models.contains(to) || to.equals(model)) {
        error(ctx, ApiError.badRequest("Body must be {\"to\": \"<another served model>\"}.", "to"));
        return;
      }
      order.put("to", to);
    } else {
      order.putNull("to");
    }
    vertx.eventBus().publish(Addresses.ROUTING_DEGRADE, order);
    LOG.warn("admin: degrade order {} from {}", order.encode(), ctx.request().remoteAddress());
    // published to every node's routing verticle; a single node has only itself
    json(ctx, 200, order.put("applied_cluster_wide", vertx.isClustered()));
  }

  /**
   * Flushes the response cache: {@code ?model=} and/or {@code ?tenant=} (neither: everything), in Redis and in every
   * node's local layer.
   */
  private void flushCache(RoutingContext ctx) {
    String model = ctx.queryParams().get("model");
    String tenant = ctx.queryParams().get("tenant");
    if (model != null && (model.isBlank() || model.length() > 256) || tenant != null
      && !io.switchboard.bus.ConversationIds.isValid(tenant)) {
      error(ctx, ApiError.badRequest("'model' and 'tenant' must be a model name and a tenant id.", "model"));
      return;
    }
    JsonObject order = new JsonObject().put("tenant", tenant).put("model", model);
    vertx.eventBus().<JsonObject>request(Addresses.CACHE_FLUSH, order,
        new io.vertx.core.eventbus.DeliveryOptions().setLocalOnly(true).setSendTimeout(30_000))
      .onSuccess(reply -> {
        LOG.warn("admin: response cache flushed (tenant {}, model {}) from {}", tenant, model,
          ctx.request().remoteAddress());
        json(ctx, 200, reply.body());
      })
      .onFailure(failure -> error(ctx, failure instanceof io.vertx.core.eventbus.ReplyException reply
        && reply.failureType() == io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS
        ? ApiError.unavailable("No route on this node caches answers.")
        : ApiError.unavailable("The cache could not be flushed: " + failure.getMessage())));
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }

  private static void error(RoutingContext ctx, ApiError error) {
    json(ctx, error.status(), error.toJson());
  }

  /** The port /metrics and /health answer on (useful when configured as 0). */
  public int port() {
    return server.actualPort();
  }
}

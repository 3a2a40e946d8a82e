package io.switchboard.monitoring;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
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
 * metrics and Switchboard's), {@code /health} (the process is alive) and {@code /ready} (it takes traffic).
 */
public final class MonitoringVerticle extends VerticleBase {
  private final SwitchboardConfig config;
  private final String nodeId;
  private final PrometheusMeterRegistry registry;
  private HttpServer server;

  public MonitoringVerticle(SwitchboardConfig config, String nodeId, PrometheusMeterRegistry registry) {
    this.config = config;
    this.nodeId = nodeId;
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.get("/metrics").handler(ctx -> ctx.response()
      .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
      .end(registry.scrape()));
    router.get("/health").handler(this::health);
    router.get("/ready").handler(this::health);
    server = vertx.createHttpServer();
    return server.requestHandler(router).listen(config.management().port(), config.management().host());
  }

  @Override
  public Future<?> stop() {
    return server.shutdown(5, TimeUnit.SECONDS);
  }

  private void health(RoutingContext ctx) {
    JsonObject body = new JsonObject()
      .put("status", "UP")
      .put("node", nodeId)
      .put("clustered", vertx.isClustered())
      .put("verticles", new JsonArray(config.verticles().stream().sorted().toList()));
    ctx.response().putHeader("content-type", "application/json").end(body.encode());
  }

  /** The port /metrics and /health answer on (useful when configured as 0). */
  public int port() {
    return server.actualPort();
  }
}

package io.switchboard.control;

import io.switchboard.bus.ApiError;
import io.switchboard.config.ConfigException;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The admin API that changes a running node (behind the management port's admin token): {@code /admin/config},
 * {@code /admin/config/reload}, {@code /admin/models/{name}/weights}, {@code /admin/verticles/{name}/redeploy}.
 */
public final class ControlAdmin {
  private static final Logger LOG = LoggerFactory.getLogger(ControlAdmin.class);
  private static final int MAX_STEPS = 100;
  private static final long MIN_INTERVAL_MILLIS = 100;

  private final NodeControl control;

  public ControlAdmin(NodeControl control) {
    this.control = control;
  }

  public void mount(Router router) {
    router.get("/admin/config").handler(ctx -> json(ctx, 200, control.describe()));
    router.post("/admin/config/reload").handler(this::reload);
    router.get("/admin/models/:model/weights").handler(this::weights);
    router.put("/admin/models/:model/weights").handler(BodyHandler.create(false).setBodyLimit(16 * 1024))
      .handler(this::setWeights);
    router.post("/admin/verticles/:name/redeploy").handler(this::redeploy);
  }

  private void reload(RoutingContext ctx) {
    LOG.warn("admin: configuration reload asked from {}", ctx.request().remoteAddress());
    control.reload().onSuccess(answer -> json(ctx, 200, answer)).onFailure(failure -> error(ctx,
      failure instanceof ConfigException ? new ApiError(400, "invalid_request_error", "invalid_config",
        "The configuration was not applied (the running one stays): " + failure.getMessage(), null)
        : ApiError.unavailable("The configuration could not be applied (the running one stays): "
        + failure.getMessage())));
  }

  private void weights(RoutingContext ctx) {
    String model = ctx.pathParam("model");
    if (control.deploymentsOf(model).isEmpty()) {
      error(ctx, ApiError.modelNotFound(model));
      return;
    }
    CanaryRamp ramp = control.rampOf(model);
    json(ctx, 200, new JsonObject().put("model", model)
      .put("weights", new JsonObject(new LinkedHashMap<>(control.weightsOf(model))))
      .put("ramp", ramp == null ? null : ramp.toJson()));
  }

  /**
   * {@code {"weights": {"<deployment id>": 0..}, "ramp": {"steps", "interval_ms", "max_error_rate"}}}: the weights
   * at once, or reached step by step with a rollback when the canary fails (deployments not named keep theirs).
   */
  private void setWeights(RoutingContext ctx) {
    String model = ctx.pathParam("model");
    List<Deployment> deployments = control.deploymentsOf(model);
    if (deployments.isEmpty()) {
      error(ctx, ApiError.modelNotFound(model));
      return;
    }
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (RuntimeException e) {
      body = null;
    }
    Object given = body == null ? null : body.getValue("weights");
    if (!(given instanceof JsonObject named) || named.isEmpty()) {
      error(ctx, ApiError.badRequest("The body must be {\"weights\": {\"<deployment id>\": <weight>, ...}}.",
        "weights"));
      return;
    }
    Map<String, Integer> weights = new LinkedHashMap<>();
    for (String id : named.fieldNames()) {
      Object weight = named.getValue(id);
      if (deployments.stream().noneMatch(d -> d.id().equals(id))) {
        error(ctx, ApiError.badRequest("'" + bounded(id) + "' is not a deployment of '" + model + "'.", "weights"));
        return;
      }
      if (!(weight instanceof Integer w) || w < 0 || w > 1_000) {
        error(ctx, ApiError.badRequest("A weight is an integer from 0 to 1000.", "weights"));
        return;
      }
      weights.put(id, w);
    }
    Map<String, Integer> after = new LinkedHashMap<>(control.weightsOf(model));
    after.putAll(weights);
    if (after.values().stream().allMatch(w -> w == 0)) {
      error(ctx, ApiError.badRequest("At least one deployment of '" + model + "' must keep a weight above 0.",
        "weights"));
      return;
    }
    Object ramp = body.getValue("ramp");
    if (ramp == null) {
      LOG.warn("admin: weights of {} set to {} from {}", model, weights, ctx.request().remoteAddress());
      control.setWeights(model, weights).onComplete(v -> weights(ctx));
      return;
    }
    if (!(ramp instanceof JsonObject r) || !(r.getValue("steps") instanceof Integer steps) || steps < 1
      || steps > MAX_STEPS || !(r.getValue("interval_ms") instanceof Number interval)
      || interval.longValue() < MIN_INTERVAL_MILLIS || !(r.getValue("max_error_rate") instanceof Number rate)
      || rate.doubleValue() < 0 || rate.doubleValue() > 1) {
      error(ctx, ApiError.badRequest("'ramp' is {\"steps\": 1-" + MAX_STEPS + ", \"interval_ms\": >= "
        + MIN_INTERVAL_MILLIS + ", \"max_error_rate\": 0-1}.", "ramp"));
      return;
    }
    LOG.warn("admin: canary ramp of {} to {} from {}", model, after, ctx.request().remoteAddress());
    control.ramp(model, after, steps, interval.longValue(), rate.doubleValue()).onComplete(v -> weights(ctx));
  }

  private void redeploy(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    if (!SwitchboardConfig.VERTICLES.contains(name) || !control.runs(name)) {
      error(ctx, ApiError.notFound("No verticle '" + bounded(name) + "' runs on this node; verticles: "
        + SwitchboardConfig.VERTICLES.stream().sorted().toList() + "."));
      return;
    }
    LOG.warn("admin: redeploy of {} asked from {}", name, ctx.request().remoteAddress());
    Promise<Void> started = Promise.promise();
    JsonObject answer = new JsonObject().put("verticle", name);
    // the monitoring verticle answering this must not wait for itself to drain: it answers once its successor is up
    (name.equals("monitoring") ? started.future() : control.redeploy(name, started))
      .onSuccess(v -> json(ctx, 200, answer.put("status", name.equals("monitoring") ? "started" : "redeployed")))
      .onFailure(failure -> error(ctx, ApiError.unavailable("The redeploy of " + name + " failed (the running "
        + "instances stay): " + failure.getMessage())));
    if (name.equals("monitoring")) {
      control.redeploy(name, started);
    }
  }

  private static String bounded(String text) {
    return text.length() > 64 ? text.substring(0, 64) : text;
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    if (!ctx.response().ended()) {
      ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
    }
  }

  private static void error(RoutingContext ctx, ApiError error) {
    json(ctx, error.status(), error.toJson());
  }
}

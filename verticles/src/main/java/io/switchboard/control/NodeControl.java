package io.switchboard.control;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.switchboard.bus.Addresses;
import io.switchboard.config.ConfigException;
import io.switchboard.config.ConfigLoader;
import io.switchboard.config.LiveConfig;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.governance.Governance;
import io.vertx.core.Context;
import io.vertx.core.Deployable;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A running node's verticles and the configuration they run on, changed without a restart: a reload of the file
 * ({@code POST /admin/config/reload}, SIGHUP), an operator's weights and a canary's ramp
 * ({@code PUT /admin/models/{name}/weights}), a redeploy of one verticle ({@code POST /admin/verticles/{name}/redeploy}),
 * and the drain at shutdown.
 * <p>
 * A redeploy starts the new instances first (they take new work at once: a service address has several consumers,
 * an HTTP port is shared by Vert.x among servers of the same port), then undeploys the old ones, which stop taking
 * work and finish what they have on the configuration it started with.
 * <p>
 * Across a cluster, the node that reloads sends the YAML text it validated (and its SHA-256) to every node; each
 * node parses it with its own environment overrides and applies it whole or not at all.
 */
public final class NodeControl {
  private static final Logger LOG = LoggerFactory.getLogger(NodeControl.class);

  /** How one verticle is made from a configuration, and how many instances of it run. */
  public record Kind(Function<SwitchboardConfig, Supplier<Deployable>> factory, int instances) {
  }

  private final Vertx vertx;
  private final String nodeId;
  private final LiveConfig live;
  private final Path file;
  private final Map<String, String> env;
  private final Governance governance;
  private final MeterRegistry registry;
  private final Function<SwitchboardConfig, Future<Void>> prepare;
  /**
   * Where every change runs, one after another: a context of no deployment, so verticles deployed from here are
   * nobody's children (deployed from the monitoring verticle's context, they would be undeployed with it).
   */
  private final Context context;
  private final Map<String, Kind> kinds = new LinkedHashMap<>();
  /** verticle name → its running deployment's id */
  private final Map<String, Future<String>> deployed = new HashMap<>();
  private final Map<String, CanaryRamp> ramps = new java.util.concurrent.ConcurrentHashMap<>();
  /** Changes are applied one at a time, in the order they came. */
  private Future<?> changes = Future.succeededFuture();
  private volatile boolean draining;
  private volatile String version;

  /**
   * @param file    the configuration file reloads read; null: the node was started from a configuration in memory
   * @param prepare what must run before a configuration's verticles start (the simulator, when a deployment needs it)
   */
  public NodeControl(Vertx vertx, String nodeId, LiveConfig live, Path file, Map<String, String> env,
                     Governance governance, MeterRegistry registry, Function<SwitchboardConfig, Future<Void>> prepare) {
    this.vertx = vertx;
    this.nodeId = nodeId;
    this.live = live;
    this.file = file;
    this.env = Map.copyOf(env);
    this.governance = governance;
    this.registry = registry;
    this.prepare = prepare;
    this.context = ((VertxInternal) vertx).createEventLoopContext();
    this.version = file == null ? null : sha256(read(file));
  }

  public LiveConfig live() {
    return live;
  }

  /** Runs {@code action} on this node's control context. */
  private <T> Future<T> onContext(Supplier<Future<T>> action) {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> action.get().onComplete(result));
    return result.future();
  }

  /** Listens for the cluster's reloads and weights (sent by whichever node an operator asked). */
  public Future<Void> start() {
    return onContext(this::listen);
  }

  private Future<Void> listen() {
    var bus = vertx.eventBus();
    return Future.all(
      bus.<JsonObject>consumer(Addresses.CONTROL_CONFIG, message -> {
        if (!nodeId.equals(message.body().getString("origin"))) {
          applyText(message.body().getString("yaml"), "reload from node " + message.body().getString("origin"))
            .onFailure(failure -> LOG.error("configuration from node {} refused, the running one stays: {}",
              message.body().getString("origin"), failure.getMessage()));
        }
      }).completion(),
      bus.<JsonObject>consumer(Addresses.CONTROL_WEIGHTS, message -> {
        if (!nodeId.equals(message.body().getString("origin"))) {
          applyWeights(message.body().getString("model"), weights(message.body().getJsonObject("weights")));
        }
      }).completion()).mapEmpty();
  }

  public void register(String verticle, Kind kind) {
    kinds.put(verticle, kind);
  }

  /** Starts a verticle's instances on the configuration now. */
  public Future<String> deploy(String verticle) {
    return onContext(() -> deployHere(verticle));
  }

  private Future<String> deployHere(String verticle) {
    Kind kind = kinds.get(verticle);
    SwitchboardConfig config = live.get();
    Future<String> id = vertx.deployVerticle(kind.factory().apply(config), new DeploymentOptions()
      .setInstances(kind.instances()).setThreadingModel(ThreadingModel.EVENT_LOOP));
    deployed.put(verticle, id);
    return id;
  }

  /** Whether {@code verticle} runs on this node (it was registered). */
  public boolean runs(String verticle) {
    return kinds.containsKey(verticle);
  }

  /**
   * New instances of a verticle, then the old ones drained and undeployed. {@code started} completes once the new
   * ones take work; the returned future once the old ones are gone.
   */
  public Future<Void> redeploy(String verticle, Promise<Void> started) {
    return onContext(() -> redeployHere(verticle, started));
  }

  private Future<Void> redeployHere(String verticle, Promise<Void> started) {
    Promise<Void> done = Promise.promise();
    changes = changes.transform(x -> {
      Future<String> old = deployed.get(verticle);
      return prepare.apply(live.get()).compose(v -> deployHere(verticle))
        .onComplete(outcome -> started.tryComplete())
        .onFailure(failure -> {
          deployed.put(verticle, old);
          started.tryFail(failure);
          done.tryFail(failure);
        })
        .onSuccess(id -> {
          LOG.info("redeploy {}: new instances up ({}), draining the old ones", verticle, id);
          undeploy(old).onComplete(v -> {
            LOG.info("redeploy {}: old instances drained and undeployed", verticle);
            done.tryComplete();
          });
        });
    });
    return done.future();
  }

  private Future<Void> undeploy(Future<String> old) {
    return old == null || old.failed() ? Future.succeededFuture() : old.compose(vertx::undeploy).otherwiseEmpty();
  }

  /** Undeploys one verticle (its instances drain first); for the node's shutdown. */
  public Future<Void> undeploy(String verticle) {
    return onContext(() -> undeploy(deployed.remove(verticle)));
  }

  // ---- reload

  /** Re-reads the file, validates it, applies it here and sends it to every other node. */
  public Future<JsonObject> reload() {
    if (file == null) {
      return Future.failedFuture(new ConfigException("this node was started without a configuration file"));
    }
    return vertx.executeBlocking(() -> read(file)).compose(text -> {
      ConfigLoader.parse(file.toString(), text, env); // a mistake is refused before anything is sent
      return onContext(() -> applyText(text, file.toString())).onSuccess(answer -> {
        if (vertx.isClustered()) {
          vertx.eventBus().publish(Addresses.CONTROL_CONFIG, new JsonObject().put("yaml", text)
            .put("sha256", answer.getString("version")).put("origin", nodeId));
        }
        answer.put("applied_cluster_wide", vertx.isClustered());
      });
    });
  }

  private Future<JsonObject> applyText(String text, String source) {
    SwitchboardConfig next;
    try {
      next = ConfigLoader.parse(source, text, env);
    } catch (ConfigException e) {
      return Future.failedFuture(e);
    }
    String hash = sha256(text);
    Promise<JsonObject> answer = Promise.promise();
    changes = changes.transform(x -> {
      ConfigChange change = ConfigChange.between(live.get(), next);
      return apply(change).onSuccess(redeployed -> {
        version = hash;
        ramps.values().forEach(CanaryRamp::stop); // the file's weights win over a ramp under way
        ramps.clear();
      }).map(redeployed -> new JsonObject().put("node", nodeId).put("version", hash)
          .put("redeployed", new JsonArray(List.copyOf(redeployed)))
          .put("needs_restart", new JsonArray(change.needsRestart())))
        .onComplete(answer);
    });
    return answer.future().onSuccess(a -> LOG.warn("configuration reloaded from {} (sha256 {}): redeployed {}, "
      + "needs a restart: {}", source, hash.substring(0, 12), a.getJsonArray("redeployed"),
      a.getJsonArray("needs_restart")));
  }

  /**
   * New instances of the verticles that hold what changed start on the new configuration; then the node switches to
   * it (models, keys, limits read live); then the old instances drain in the background.
   */
  private Future<List<String>> apply(ConfigChange change) {
    List<String> verticles = kinds.keySet().stream().filter(change.redeploy()::contains).toList();
    // inference first: the new routing's first turn finds its deployments served
    List<String> order = verticles.stream().sorted((a, b) -> Integer.compare(rank(a), rank(b))).toList();
    Map<String, Future<String>> old = new HashMap<>();
    SwitchboardConfig previous = live.get();
    live.set(change.applied()); // verticles started now are made from the new configuration
    Future<?> chain = prepare.apply(change.applied());
    for (String verticle : order) {
      old.put(verticle, deployed.get(verticle));
      chain = chain.compose(x -> deployHere(verticle));
    }
    return chain.transform(outcome -> {
      if (outcome.failed()) {
        // whole or nothing: what started is stopped, the old instances never stopped serving
        live.set(previous);
        old.forEach((verticle, id) -> {
          Future<String> started = deployed.put(verticle, id);
          if (started != id) {
            undeploy(started);
          }
        });
        return Future.failedFuture(outcome.cause());
      }
      if (governance != null) {
        governance.apply(change.applied());
      }
      old.values().forEach(this::undeploy); // each drains its turns first
      return Future.succeededFuture(order);
    });
  }

  private static int rank(String verticle) {
    return switch (verticle) {
      case "session" -> 0;
      case "inference-proxy" -> 1;
      case "routing" -> 2;
      case "connection" -> 3;
      default -> 4;
    };
  }

  /** What the node runs on: the file's hash at the last start or reload, and the weights now. */
  public JsonObject describe() {
    SwitchboardConfig config = live.get();
    JsonObject models = new JsonObject();
    config.deployments().forEach(d -> models.put(d.modelName(), models.getJsonObject(d.modelName(),
      new JsonObject()).put(d.id(), d.weight())));
    return new JsonObject().put("node", nodeId).put("file", file == null ? null : file.toString())
      .put("version", version).put("verticles", new JsonArray(List.copyOf(kinds.keySet()))).put("weights", models);
  }

  // ---- weights and canaries

  /** Sets one model's weights on every node (immediately); a ramp under way for it stops. */
  public Future<Void> setWeights(String model, Map<String, Integer> weights) {
    return onContext(() -> {
      setWeightsHere(model, weights);
      return Future.succeededFuture();
    });
  }

  private void setWeightsHere(String model, Map<String, Integer> weights) {
    CanaryRamp ramp = ramps.remove(model);
    if (ramp != null) {
      ramp.stop();
    }
    publishWeights(model, weights);
  }

  void publishWeights(String model, Map<String, Integer> weights) {
    applyWeights(model, weights);
    if (vertx.isClustered()) {
      vertx.eventBus().publish(Addresses.CONTROL_WEIGHTS, new JsonObject().put("model", model)
        .put("weights", new JsonObject(new HashMap<>(weights))).put("origin", nodeId));
    }
  }

  private void applyWeights(String model, Map<String, Integer> weights) {
    live.set(ConfigChange.withWeights(live.get(), model, weights));
    vertx.eventBus().publish(Addresses.ROUTING_WEIGHTS, new JsonObject().put("model", model)
      .put("weights", new JsonObject(new HashMap<>(weights))), new DeliveryOptions().setLocalOnly(true));
    LOG.warn("weights of {} now {}", model, weights);
  }

  /** Moves a model's weights to {@code target} in steps, watching the deployments that gain weight. */
  public Future<CanaryRamp> ramp(String model, Map<String, Integer> target, int steps, long intervalMillis,
                                 double maxErrorRate) {
    return onContext(() -> Future.succeededFuture(rampHere(model, target, steps, intervalMillis, maxErrorRate)));
  }

  private CanaryRamp rampHere(String model, Map<String, Integer> target, int steps, long intervalMillis,
                              double maxErrorRate) {
    Map<String, Integer> from = weightsOf(model);
    CanaryRamp previous = ramps.remove(model);
    if (previous != null) {
      previous.stop();
    }
    CanaryRamp ramp = new CanaryRamp(vertx, this, model, from, target, steps, intervalMillis, maxErrorRate);
    ramps.put(model, ramp);
    ramp.start();
    return ramp;
  }

  public CanaryRamp rampOf(String model) {
    return ramps.get(model);
  }

  public Map<String, Integer> weightsOf(String model) {
    Map<String, Integer> weights = new LinkedHashMap<>();
    live.get().deployments().stream().filter(d -> d.modelName().equals(model))
      .forEach(d -> weights.put(d.id(), d.weight()));
    return weights;
  }

  /** Calls to a deployment this node made: {ok, failed} (cancelled ones say nothing of its health). */
  long[] calls(String deployment) {
    long ok = 0;
    long failed = 0;
    for (Timer timer : registry.find("switchboard.upstream.requests").tag("deployment", deployment).timers()) {
      String outcome = timer.getId().getTag("outcome");
      if ("ok".equals(outcome)) {
        ok += timer.count();
      } else if (!"cancelled".equals(outcome)) {
        failed += timer.count();
      }
    }
    return new long[] {ok, failed};
  }

  // ---- shutdown

  /** The node is going: {@code /ready} answers 503 from now on. */
  public void drain() {
    draining = true;
    vertx.eventBus().publish(Addresses.NODE_DRAINING, null, new DeliveryOptions().setLocalOnly(true));
    ramps.values().forEach(CanaryRamp::stop);
  }

  public boolean draining() {
    return draining;
  }

  private static Map<String, Integer> weights(JsonObject json) {
    Map<String, Integer> weights = new LinkedHashMap<>();
    json.forEach(e -> weights.put(e.getKey(), ((Number) e.getValue()).intValue()));
    return weights;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new ConfigException(file + ": cannot be read (" + e.getMessage() + ")");
    }
  }

  static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
        .digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }

  /** Deployments of a model in the configuration now. */
  public List<Deployment> deploymentsOf(String model) {
    return live.get().deployments().stream().filter(d -> d.modelName().equals(model)).toList();
  }
}

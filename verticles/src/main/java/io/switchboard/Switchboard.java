package io.switchboard;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.Codecs;
import io.switchboard.cache.ResponseCache;
import io.switchboard.config.ConfigException;
import io.switchboard.config.ConfigLoader;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.config.LiveConfig;
import io.switchboard.control.NodeControl;
import io.switchboard.connection.ConnectionVerticle;
import io.switchboard.connection.HttpGuards;
import io.switchboard.governance.Governance;
import io.switchboard.governance.Spend;
import io.switchboard.im.ImWebhooks;
import io.switchboard.overload.NodeLoad;
import io.switchboard.inference.InferenceProxyVerticle;
import io.switchboard.monitoring.MonitoringVerticle;
import io.switchboard.routing.RoutingVerticle;
import io.switchboard.session.ConversationStores;
import io.switchboard.session.SessionVerticle;
import io.switchboard.simulator.SimulatorVerticle;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Starts a Switchboard node: one Vert.x instance (clustered or not) running the configured verticles.
 * {@code java -jar switchboard.jar [--conf FILE] [--cluster] [--verticles a,b,...]}.
 */
public final class Switchboard {
  private static final Logger LOG = LoggerFactory.getLogger(Switchboard.class);

  private final Vertx vertx;
  private final String nodeId;
  private final SwitchboardConfig config;
  /** The configuration now: {@link #config} until a reload or an operator's weights. */
  private final LiveConfig live;
  private final Path file;
  private final Map<String, String> env;
  /** What turns used and cost: one per node, written out on close once the connections have drained. */
  private Spend spend;
  private NodeControl control;
  /** Started once a deployment uses it (at start, or by a reload that adds one). */
  private SimulatorVerticle simulator;
  /** Numbers connection instances across redeploys, so each one's stream inbox is its own. */
  private final AtomicInteger connectionInstances = new AtomicInteger();

  private Switchboard(Vertx vertx, String nodeId, SwitchboardConfig config, Path file, Map<String, String> env) {
    this.vertx = vertx;
    this.nodeId = nodeId;
    this.config = config;
    this.live = new LiveConfig(config);
    this.file = file;
    this.env = env;
  }

  public static void main(String[] args) {
    SwitchboardConfig config;
    Map<String, String> env = new HashMap<>(System.getenv());
    Path file;
    try {
      file = parseArgs(args, env);
      config = ConfigLoader.load(file, env);
      if (file == null && Files.isReadable(Path.of("conf", "switchboard.yaml"))) {
        file = Path.of("conf", "switchboard.yaml"); // what ConfigLoader read, and what a reload reads again
      }
    } catch (ConfigException | IllegalArgumentException e) {
      System.err.println("switchboard: configuration error: " + e.getMessage());
      System.exit(2);
      return;
    }
    try {
      Switchboard node = start(config, file, env).toCompletionStage().toCompletableFuture().get(120,
        TimeUnit.SECONDS);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> node.awaitClose(), "switchboard-shutdown"));
      node.reloadOnSighup();
    } catch (Exception e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      LOG.error("switchboard failed to start: {}", cause.getMessage(), cause);
      System.exit(1);
    }
  }

  /** Flags become the same overrides as their SWITCHBOARD_* environment variables. */
  static Path parseArgs(String[] args, Map<String, String> env) {
    Path file = env.containsKey("SWITCHBOARD_CONF") ? Path.of(env.get("SWITCHBOARD_CONF")) : null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String value = null;
      int eq = arg.indexOf('=');
      if (eq > 0) {
        value = arg.substring(eq + 1);
        arg = arg.substring(0, eq);
      }
      switch (arg) {
        case "--conf" -> file = Path.of(value != null ? value : next(args, ++i, arg));
        case "--cluster" -> env.put("SWITCHBOARD_CLUSTER_ENABLED", value != null ? value : "true");
        case "--verticles" -> env.put("SWITCHBOARD_VERTICLES", value != null ? value : next(args, ++i, arg));
        case "--help", "-h" -> {
          System.out.println("usage: java -jar switchboard.jar [--conf FILE] [--cluster] [--verticles a,b,...]\n"
            + "  verticles: connection, session, routing, inference-proxy, monitoring (default: all)\n"
            + "  every setting can also be given as SWITCHBOARD_<SECTION>_<KEY>, e.g. SWITCHBOARD_SERVER_PORT=8081");
          System.exit(0);
        }
        default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "' (try --help)");
      }
    }
    return file;
  }

  private static String next(String[] args, int i, String flag) {
    if (i >= args.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args[i];
  }

  /** Starts a node with this configuration; the future completes once every verticle is deployed. */
  public static Future<Switchboard> start(SwitchboardConfig config) {
    return start(config, null, Map.of());
  }

  /**
   * @param file the file {@code config} was read from, which a reload reads again (null: reloads are refused)
   * @param env  the environment overrides {@code config} was read with, applied to a reloaded file too
   */
  public static Future<Switchboard> start(SwitchboardConfig config, Path file, Map<String, String> env) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // one event loop per core: every verticle's instances share them, so a turn's hops to the single-instance
    // verticles cross fewer threads (on one core, none), and a hop on the same loop is an enqueue, not a wake-up
    MicrometerMetricsOptions metrics = new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true);
    // Vert.x's event bus and HTTP client meters are looked up in the registry on every message and every upstream
    // call (stream chunks included): off unless asked for; switchboard_upstream_* counts the upstream calls
    if (!config.management().eventBusMetrics()) {
      metrics.addDisabledMetricsCategory(MetricsDomain.EVENT_BUS);
    }
    if (!config.management().httpClientMetrics()) {
      metrics.addDisabledMetricsCategory(MetricsDomain.HTTP_CLIENT);
    }
    if (!config.management().httpServerMetrics()) {
      metrics.addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER); // 2% of a JSON turn's CPU on one core
    }
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(config.server().eventLoopCount())
      .setMetricsOptions(metrics);
    // off unless OTEL_* asks for it: then Vert.x traces HTTP requests, every event-bus hop and the upstream calls
    io.vertx.core.spi.VertxTracerFactory tracer = io.switchboard.tracing.Tracing.fromEnvironment(System.getenv());
    if (tracer != null) {
      options.setTracingOptions(new io.vertx.core.tracing.TracingOptions());
    }
    VertxBuilder builder = Vertx.builder().with(options).withMetrics(new MicrometerMetricsFactory(registry))
      .withTransport(HttpGuards.transport(config.server().transport()));
    if (tracer != null) {
      builder.withTracer(tracer);
    }
    Future<Vertx> vertx;
    if (config.cluster().enabled()) {
      options.getEventBusOptions().setHost(config.cluster().host()).setPort(0);
      HazelcastClusterManager cluster = new HazelcastClusterManager(hazelcastConfig(config.cluster()));
      vertx = builder.withClusterManager(cluster).buildClustered().onSuccess(v -> announceDepartures(v, cluster));
    } else {
      vertx = Future.succeededFuture(builder.build());
    }
    return vertx.compose(v -> {
      // a clustered node's id is its cluster node id's, so the other nodes' join and leave lines name it as it does
      String nodeId = nodeId(v.isClustered() ? ((io.vertx.core.internal.VertxInternal) v).clusterManager().getNodeId()
        : UUID.randomUUID().toString());
      Codecs.registerAll(v.eventBus());
      Switchboard node = new Switchboard(v, nodeId, config, file, env);
      return node.deployAll(registry).map(node).recover(failure -> v.close().transform(x ->
        Future.failedFuture(failure)));
    });
  }

  /** The Hazelcast member attribute Vert.x names its cluster nodes by. */
  private static final String VERTX_NODE_ATTRIBUTE = "__vertx.nodeId";

  /** The short node id log lines, addresses and metrics use, from a (cluster) node UUID. */
  static String nodeId(String uuid) {
    return uuid.replace("-", "").substring(0, 12);
  }

  /** Tells this node's verticles (node-locally) when another node leaves, so work in flight there goes on here. */
  private static void announceDepartures(Vertx vertx, HazelcastClusterManager cluster) {
    // the nodes already there when this one joined; later ones are logged as they join
    LOG.info("cluster nodes at join: {}", cluster.getHazelcastInstance().getCluster().getMembers().stream()
      .map(member -> member.<String>getAttribute(VERTX_NODE_ATTRIBUTE)).filter(java.util.Objects::nonNull)
      .map(Switchboard::nodeId).sorted().toList());
    cluster.getHazelcastInstance().getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
        String node = event.getMember().getAttribute(VERTX_NODE_ATTRIBUTE);
        if (node != null) {
          LOG.info("switchboard node {} joined the cluster (cluster node {}, {})", nodeId(node), node,
            event.getMember().getAddress());
        }
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        // Vert.x names its nodes by this member attribute, not by Hazelcast's member UUID
        String node = event.getMember().getAttribute(VERTX_NODE_ATTRIBUTE);
        if (node == null) {
          return;
        }
        LOG.warn("switchboard node {} left the cluster (cluster node {}, {})", nodeId(node), node,
          event.getMember().getAddress());
        vertx.eventBus().publish(Addresses.CLUSTER_NODE_LEFT, node, new DeliveryOptions().setLocalOnly(true));
      }
    });
  }

  private static Config hazelcastConfig(SwitchboardConfig.Cluster cluster) {
    System.setProperty("hazelcast.logging.type", "slf4j");
    Path file = clusterConfigFile(cluster, Path.of(""));
    try {
      LOG.info("cluster configuration: {}", file != null ? file : "cluster.xml (bundled)");
      return file != null ? Config.loadFromFile(file.toFile())
        : Config.loadFromClasspath(Switchboard.class.getClassLoader(), "cluster.xml");
    } catch (FileNotFoundException e) {
      throw new ConfigException("cluster.config_file: " + cluster.configFile() + " not found");
    }
  }

  /**
   * The Hazelcast XML a node uses: {@code cluster.config_file}, else {@code conf/cluster.xml} in the working directory
   * (as {@code conf/switchboard.yaml} is found), else null for the copy bundled in the jar.
   */
  static Path clusterConfigFile(SwitchboardConfig.Cluster cluster, Path workingDirectory) {
    if (cluster.configFile() != null) {
      return Path.of(cluster.configFile());
    }
    Path local = workingDirectory.resolve("conf").resolve("cluster.xml");
    return Files.isReadable(local) ? local : null;
  }

  private Future<Void> deployAll(PrometheusMeterRegistry registry) {
    if (!config.auth().enabled()) {
      LOG.warn("**********************************************************************");
      LOG.warn("* AUTH IS OFF: any client can use this gateway without an API key.   *");
      LOG.warn("* Set auth.enabled: true and auth.keys in conf/switchboard.yaml.      *");
      LOG.warn("**********************************************************************");
    }
    spend = new Spend(vertx, config, registry);
    // one per node, shared by its verticles: keys, tenants and the limit counters
    Governance governance = config.runs("connection") || config.runs("routing") || config.runs("monitoring")
      ? new Governance(vertx, config, registry, spend.prices()) : null;
    // one per node: how loaded it is, read by the verticles that go without optional work or shed under overload
    NodeLoad load = new NodeLoad(config.overload(), registry);
    load.start(vertx);
    control = new NodeControl(vertx, nodeId, live, file, env, governance, registry,
      c -> config.runs("inference-proxy") ? startSimulator(c) : Future.succeededFuture());
    // one per node, shared by the connection instances: a hit on any of them serves all
    ResponseCache cache = config.runs("connection") && config.caches()
      ? new ResponseCache(vertx, config.cache(), registry) : null;
    int connectionCount = config.server().instances() > 0 ? config.server().instances()
      : Runtime.getRuntime().availableProcessors();
    // in the order they start; each is made from the configuration of the moment (a reload's, a redeploy's)
    Map<String, NodeControl.Kind> kinds = new LinkedHashMap<>();
    kinds.put("session", new NodeControl.Kind(c -> () -> new SessionVerticle(v -> ConversationStores.create(v,
      c.session()), v -> ConversationStores.identities(v, c.session()),
      v -> ConversationStores.responses(v, c.session())), 1));
    kinds.put("routing", new NodeControl.Kind(c -> () -> new RoutingVerticle(c, nodeId, registry, governance,
      load), 1));
    kinds.put("inference-proxy", new NodeControl.Kind(c -> () -> new InferenceProxyVerticle(c.deployments(),
      baseUrls(c), registry, nodeId, c.bridge()), 1));
    kinds.put("connection", new NodeControl.Kind(c -> () -> new ConnectionVerticle(live, nodeId,
      connectionInstances.getAndIncrement(), registry, cache, governance, spend, load), connectionCount));
    // last: /health and /ready answer only once everything else takes traffic
    kinds.put("monitoring", new NodeControl.Kind(c -> () -> new MonitoringVerticle(c, nodeId, registry, governance,
      spend, control), 1));
    kinds.keySet().removeIf(name -> !config.runs(name));
    kinds.forEach(control::register);

    Future<?> chain = control.start().compose(x -> spend.start());
    if (governance != null) {
      chain = chain.compose(x -> governance.start());
    }
    if (config.runs("inference-proxy")) {
      chain = chain.compose(x -> startSimulator(config));
    }
    if (config.runs("connection")) {
      ImWebhooks.announce(config);
    }
    if (cache != null) {
      chain = chain.compose(x -> cache.start());
      LOG.info("response cache on for {} ({})", config.routes().values().stream()
        .filter(r -> r.cache() != null).map(SwitchboardConfig.Route::model).sorted().toList(), config.cache());
    }
    for (String verticle : kinds.keySet()) {
      chain = chain.compose(x -> control.deploy(verticle));
    }
    return chain.onSuccess(x -> LOG.info("switchboard node {} up: verticles {}, API on {}:{}, management on {}:{}, "
      + "{} transport{}", nodeId, config.verticles(), config.server().host(), config.server().port(),
      config.management().host(), config.management().port(),
      ((io.vertx.core.internal.VertxInternal) vertx).transport() instanceof io.vertx.core.transport.Transport transport
        ? transport.name() : "vert.x", vertx.isClustered() ? ", clustered as cluster node "
        + ((io.vertx.core.internal.VertxInternal) vertx).clusterManager().getNodeId() : "")).mapEmpty();
  }

  /** The simulator, once a deployment uses it: started here, its address handed to the proxy. */
  private Future<Void> startSimulator(SwitchboardConfig config) {
    if (simulator != null || config.deployments().stream().noneMatch(Deployment::isSimulator)) {
      return Future.succeededFuture();
    }
    SimulatorVerticle started = new SimulatorVerticle(config.simulator().host(), config.simulator().port(),
      config.simulator().defaults(), config.simulator().moderationWords());
    return vertx.deployVerticle(started).map(id -> {
      simulator = started;
      return null;
    });
  }

  /** deployment id → the base URL the proxy calls ("bridge" for bridge workers). */
  private Map<String, String> baseUrls(SwitchboardConfig config) {
    Map<String, String> urls = new LinkedHashMap<>();
    config.deployments().forEach(d -> urls.put(d.id(), d.isSimulator() ? simulator.baseUrl(d.knobs())
      : d.apiBase() != null ? d.apiBase() : "bridge"));
    return urls;
  }

  /**
   * {@code kill -HUP}: reloads the configuration file as {@code POST /admin/config/reload} does. sun.misc.Signal
   * (module jdk.unsupported, there in every Java 17 runtime, no flag needed) is the only way a Java program hears
   * SIGHUP.
   */
  private void reloadOnSighup() {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> control.reload()
        .onSuccess(answer -> LOG.info("SIGHUP: configuration reloaded: {}", answer.encode()))
        .onFailure(failure -> LOG.error("SIGHUP: configuration refused, the running one stays: {}",
          failure.getMessage())));
    } catch (IllegalArgumentException e) {
      LOG.warn("SIGHUP cannot be handled on this platform ({}): reload with POST /admin/config/reload",
        e.getMessage());
    }
  }

  public Vertx vertx() {
    return vertx;
  }

  public String nodeId() {
    return nodeId;
  }

  public SwitchboardConfig config() {
    return config;
  }

  /** This node's reloads, weights and redeploys. */
  public NodeControl control() {
    return control;
  }

  /** This node's spend log and token metrics. */
  public Spend spend() {
    return spend;
  }

  /** On SIGTERM: lets requests in flight finish (up to the connection verticle's drain time), then exits. */
  private void awaitClose() {
    try {
      close().toCompletionStage().toCompletableFuture().get(45_000 + config.server().drainDelayMillis(),
        TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warn("shutdown did not complete cleanly: {}", e.toString());
    }
  }

  /**
   * Drains and leaves the cluster: {@code /ready} says 503 at once, the connections go first (they stop accepting,
   * finish their requests and streams, close WebSockets with 1012 once their turns are done, each turn recording its
   * spend), then the spend log is written out, then the rest (each verticle finishing what it has) and the cluster.
   */
  public Future<Void> close() {
    LOG.info("switchboard node {} shutting down", nodeId);
    Future<Void> drained = control == null ? Future.succeededFuture() : Future.<Void>succeededFuture()
      .compose(v -> {
        control.drain();
        // the load balancer sees /ready fail and stops sending new connections before the port closes
        return config.server().drainDelayMillis() == 0 || !config.runs("connection") ? Future.<Void>succeededFuture()
          : vertx.timer(config.server().drainDelayMillis()).<Void>mapEmpty();
      })
      .compose(v -> control.undeploy("connection"));
    // a promise of no context: once Vert.x is closed, no event loop is left to tell a context's future
    Promise<Void> closed = Promise.promise();
    drained.compose(v -> spend == null ? Future.<Void>succeededFuture() : spend.close().otherwiseEmpty())
      .onComplete(v -> vertx.close().onComplete(closed));
    return closed.future();
  }
}

package io.switchboard.routing;

import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.AttemptStarted;
import io.switchboard.bus.BusFailure;
import io.switchboard.bus.CancelTurn;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.EmbeddingRequest;
import io.switchboard.bus.TranscriptionRequest;
import io.switchboard.bus.WholeCall;
import io.switchboard.bus.ModelCatalog;
import io.switchboard.bus.RoutedRequest;
import io.switchboard.bus.StreamGrant;
import io.switchboard.bus.StreamProgress;
import io.vertx.core.eventbus.DeliveryOptions;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.governance.Admission;
import io.switchboard.governance.Governance;
import io.switchboard.overload.NodeLoad;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.config.SwitchboardConfig.Route;
import io.switchboard.eventbus.Drain;
import io.switchboard.eventbus.LoopTimer;
import io.switchboard.eventbus.PreferLocal;
import io.switchboard.monitoring.Gauges;
import io.micrometer.core.instrument.Tags;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Admission and choice of deployment. Each turn gets a deployment by its route's strategy, waits in a
 * priority queue when every deployment is at its concurrency limit, is retried with backoff and jitter
 * before anything reached the client, falls back along the route's fallback list, continues mid-stream on a
 * fallback when its upstream dies, may be hedged, and never outlives its deadline. Owns the health of each
 * deployment as seen from this node.
 */
public final class RoutingVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(RoutingVerticle.class);
  /** Time the event bus grants an attempt on top of its own timeout, so the upstream's 504 wins the race. */
  private static final long BUS_MARGIN_MILLIS = 2_000;
  private static final long QUEUE_FULL_RETRY_AFTER_MILLIS = 1_000;
  private static final long OVERLOAD_RETRY_AFTER_MILLIS = 2_000;
  /** An attempt sent to another node that has not said it started by then is taken as lost on the way. */
  private static final long ATTEMPT_ACK_MILLIS = 1_500;
  /** How long the stream's connection may take to say what its client already has. */
  private static final long PROGRESS_TIMEOUT_MILLIS = 1_000;
  /** The endpoint of each mode, for a request sent to a model of another mode. */
  private static final Map<String, String> ENDPOINTS = Map.of(Deployment.CHAT, "/v1/chat/completions",
    Deployment.EMBEDDING, "/v1/embeddings", Deployment.MODERATION, "/v1/moderations",
    Deployment.AUDIO_TRANSCRIPTION, "/v1/audio/transcriptions");
  private static final Map<String, String> MODE_NAMES = Map.of(Deployment.CHAT, "a chat model",
    Deployment.EMBEDDING, "an embedding model", Deployment.MODERATION, "a moderation model",
    Deployment.AUDIO_TRANSCRIPTION, "a transcription model");
  private static final Map<String, String> MODE_WORK = Map.of(Deployment.CHAT, "chat completions",
    Deployment.EMBEDDING, "embeddings", Deployment.MODERATION, "moderations",
    Deployment.AUDIO_TRANSCRIPTION, "audio transcriptions");
  /** Numbers this node's routing instances, so a redeployed one's grant and control addresses are its own. */
  private static final AtomicLong INSTANCES = new AtomicLong();

  private final SwitchboardConfig config;
  private final String grantAddress;
  private final String controlAddress;
  private final MeterRegistry registry;
  private final Governance governance;
  private final NodeLoad load;
  private final Map<String, DeploymentChooser> choosers = new LinkedHashMap<>();
  private final Map<String, AdmissionQueue> queues = new HashMap<>();
  private final Map<String, RouteRules> rules = new HashMap<>();
  private final Map<String, String> degraded = new HashMap<>();
  private final Map<String, Turn> turns = new HashMap<>();
  /** Turns and streams in flight per model, written on this event loop and read by the scrape. */
  private final Map<String, InFlight> inFlight = new HashMap<>();
  private final ModelCatalog catalog;
  /** What each public model serves (model_info.mode: chat, embedding, moderation, audio_transcription). */
  private final Map<String, String> modes = new HashMap<>();
  /** The addresses new turns arrive on: closed first when this instance is undeployed. */
  private final List<MessageConsumer<?>> intake = new ArrayList<>();

  /**
   * @param governance the node's limits, for deployments with rpm_limit / tpm_limit; null: none are counted
   * @param load       the node's overload level: at 3, turns below overload.shed_below_priority are refused
   */
  public RoutingVerticle(SwitchboardConfig config, String nodeId, MeterRegistry registry, Governance governance,
                         NodeLoad load) {
    this.governance = governance;
    this.load = load;
    this.config = config;
    String instance = nodeId + "-" + INSTANCES.incrementAndGet();
    this.grantAddress = Addresses.routingGrant(instance);
    this.controlAddress = Addresses.routingControl(instance);
    this.registry = registry;
    Map<String, List<DeploymentState>> byModel = new LinkedHashMap<>();
    for (Deployment deployment : config.deployments()) {
      byModel.computeIfAbsent(deployment.modelName(), k -> new ArrayList<>()).add(new DeploymentState(deployment));
      modes.put(deployment.modelName(), deployment.mode());
    }
    List<ModelCatalog.Model> models = new ArrayList<>();
    long created = System.currentTimeMillis() / 1000;
    byModel.forEach((model, states) -> {
      Route route = config.route(model);
      choosers.put(model, new DeploymentChooser(model, route.strategy(), states));
      queues.put(model, new AdmissionQueue(route.maxQueued()));
      inFlight.put(model, new InFlight());
      rules.put(model, new RouteRules(route.rules(), states));
      models.add(new ModelCatalog.Model(model, states.get(0).deployment.ownedBy(), created));
    });
    this.catalog = new ModelCatalog(models);
  }

  @Override
  public Future<?> start() {
    queues.forEach((model, queue) -> Gauges.replace(registry, "switchboard.routing.queued", Tags.of("model", model),
      "Turns waiting for a free deployment slot", queue, AdmissionQueue::size));
    inFlight.forEach((model, counts) -> {
      // the HPA's custom metric: turns in flight per pod
      Gauges.replace(registry, "switchboard.turns.inflight", Tags.of("model", model),
        "Turns this node routes that have not ended yet (streams included)", counts, c -> c.turns);
      Gauges.replace(registry, "switchboard.streams.inflight", Tags.of("model", model),
        "Streamed turns this node routes that have not ended yet", counts, c -> c.streams);
    });
    choosers.forEach((model, chooser) -> chooser.states.stream().filter(state -> state.adaptive != null)
      .forEach(state -> Gauges.replace(registry, "switchboard.routing.concurrency.limit",
        Tags.of("deployment", state.deployment.id(), "model", model),
        "Calls this node lets the deployment have at once (adaptive_concurrency)", state, DeploymentState::limit)));
    var bus = vertx.eventBus();
    MessageConsumer<Object> state = bus.localConsumer(Addresses.ROUTING_STATE, message -> message.reply(state()));
    intake.add(state);
    return Future.all(List.of(
      PreferLocal.<ChatRequest>serve(bus, Addresses.ROUTING_CHAT, message -> new Turn(message).start(), intake),
      PreferLocal.<EmbeddingRequest>serve(bus, Addresses.ROUTING_EMBEDDINGS, message -> new Turn(message).start(),
        intake),
      PreferLocal.<TranscriptionRequest>serve(bus, Addresses.ROUTING_TRANSCRIPTIONS,
        message -> new Turn(message).start(), intake),
      PreferLocal.serve(bus, Addresses.ROUTING_MODELS, message -> message.reply(catalog), intake),
      state.completion(),
      bus.<JsonObject>localConsumer(Addresses.ROUTING_WEIGHTS, message -> weigh(message.body())).completion(),
      bus.<StreamGrant>consumer(grantAddress, this::grant).completion(),
      bus.<JsonObject>consumer(Addresses.ROUTING_DEGRADE, message -> degrade(message.body())).completion(),
      bus.<AttemptStarted>consumer(controlAddress, message -> {
        Turn turn = turns.get(message.body().requestId());
        if (turn != null) {
          turn.startedOn(message.body().attempt(), message.body().clusterNodeId());
        }
      }).completion(),
      bus.<String>localConsumer(Addresses.CLUSTER_NODE_LEFT, message -> {
        for (Turn turn : List.copyOf(turns.values())) {
          turn.nodeLeft(message.body());
        }
      }).completion(),
      bus.<CancelTurn>consumer(Addresses.TURN_CANCEL, message -> {
        Turn turn = turns.get(message.body().requestId());
        if (turn != null && message.body().attempt() == CancelTurn.ALL) {
          turn.abandon(message.body().reason());
        }
      }).completion()));
  }

  /**
   * Takes no new turns (a newer instance does, see {@code POST /admin/verticles/routing/redeploy}) and lets the
   * turns it has finish on the configuration they started with, within their own deadline.
   */
  @Override
  public Future<?> stop() {
    return PreferLocal.stopServing(intake).compose(v -> Drain.until(vertx, turns::isEmpty,
      config.server().requestTimeoutMillis() + BUS_MARGIN_MILLIS));
  }

  /** An operator's new weights for one model's deployments (the others keep theirs); applies to the next choice. */
  private void weigh(JsonObject order) {
    DeploymentChooser chooser = choosers.get(order.getString("model"));
    JsonObject weights = order.getJsonObject("weights");
    if (chooser == null || weights == null) {
      return;
    }
    for (DeploymentState state : chooser.states) {
      Integer weight = weights.getInteger(state.deployment.id());
      if (weight != null) {
        state.weight = weight;
      }
      state.smoothWeight = 0; // the smooth round robin starts again from the new weights
    }
  }

  private void grant(Message<StreamGrant> message) {
    Turn turn = turns.get(message.body().requestId());
    message.reply(turn != null && turn.grant(message.body().attempt()));
  }

  private void degrade(JsonObject order) {
    String model = order.getString("model");
    String to = order.getString("to");
    if (to == null) {
      degraded.remove(model);
      LOG.warn("degrade lifted: {} is served by its own deployments again", model);
    } else {
      degraded.put(model, to);
      LOG.warn("DEGRADED: traffic for {} goes to {}", model, to);
    }
  }

  private JsonObject state() {
    JsonObject models = new JsonObject();
    long now = System.currentTimeMillis();
    choosers.forEach((model, chooser) -> {
      JsonArray deployments = new JsonArray();
      for (DeploymentState state : chooser.states) {
        deployments.add(new JsonObject().put("id", state.deployment.id()).put("weight", state.weight)
          .put("outstanding", state.outstanding)
          .put("ewma_first_token_ms", state.ewmaFirstTokenMillis < 0 ? null : Math.round(state.ewmaFirstTokenMillis))
          .put("resting_ms", Math.max(0, state.restingUntilMillis - now))
          .put("concurrency_limit", state.limit() > 0 ? state.limit() : null));
      }
      models.put(model, new JsonObject().put("strategy", config.route(model).strategy())
        .put("fallbacks", new JsonArray(config.route(model).fallbacks()))
        .put("degraded_to", degraded.get(model)).put("queued", queues.get(model).size())
        .put("deployments", deployments));
    });
    return new JsonObject().put("models", models);
  }

  private void slotFreed(String model) {
    AdmissionQueue queue = queues.get(model);
    AdmissionQueue.Waiter waiter;
    while (queue.size() > 0 && choosers.get(model).choose(null, Set.of(), System.currentTimeMillis())
      instanceof DeploymentChooser.Chosen && (waiter = queue.poll()) != null) {
      vertx.cancelTimer(waiter.timer);
      waiter.admit.run();
    }
  }

  /**
   * Feeds a finished attempt to its deployment's adaptive limit: an answer by its time to first token; a timeout or
   * a refusal for load (429, 503) as an overload; anything else (a cancel, an open circuit, the client's mistake)
   * says nothing about how much the deployment can take.
   */
  private static void measure(DeploymentState state, long startNanos, int inflight, Object result,
                              BusFailure failure) {
    if (state.adaptive == null) {
      return;
    }
    if (failure == null) {
      long millis = result instanceof ChatResult chat ? chat.firstTokenMillis()
        : ((WholeCall.Answer) result).millis();
      state.sample(startNanos, millis * 1_000_000, inflight, false);
      return;
    }
    int status = failure.error().status();
    if (!failure.error().is(ApiError.Kind.CIRCUIT_OPEN) && (status == 504 || status == 429 || status == 503)) {
      state.sample(startNanos, System.nanoTime() - startNanos, inflight, true);
    }
  }

  /** One client turn (a chat, or an embeddings call: a turn that never streams), from admission to its one reply. */
  private final class Turn {
    private final Message<? extends RoutedRequest> message;
    private final RoutedRequest request;
    private final List<String> chain = new ArrayList<>();
    private final long deadline;
    private final Set<String> excluded = new HashSet<>();
    /** model → its deployments this turn's route rules leave out (worked out once per model). */
    private final Map<String, Set<String>> ruledOutByModel = new HashMap<>(2);
    /** Deployments at their own rpm_limit / tpm_limit: skipped for the rest of this turn. */
    private final Set<String> limited = new HashSet<>();
    private long limitedRetryAfterMillis;
    /** attempt → its deployment's admission, settled with the attempt's usage */
    private final Map<Integer, Admission> admissions = new HashMap<>(2);
    private final Map<Integer, DeploymentState> running = new HashMap<>();
    /** attempt → the cluster node running it, as its proxy told us */
    private final Map<Integer, String> attemptNodes = new HashMap<>(2);
    /** attempt → its "taken up by a node?" timer, cancelled once the proxy says it started or the attempt ends */
    private final Map<Integer, Long> ackTimers = new HashMap<>(2);
    private final StringBuilder partial = new StringBuilder();
    private int modelIndex;
    private int triesOnModel;
    private int attempts;
    private int seq;
    private Integer streaming;
    private BusFailure lastFailure;
    private boolean done;
    /** Where this turn is counted in flight, once it started. */
    private InFlight counted;
    private io.netty.util.concurrent.ScheduledFuture<?> deadlineTimer;
    private long hedgeTimer = -1;

    Turn(Message<? extends RoutedRequest> message) {
      this.message = message;
      this.request = message.body();
      // a turn carried over from a lost node starts where the client's stream stopped
      this.seq = request.seqStart();
      this.deadline = System.currentTimeMillis() + request.timeoutMillis();
    }

    void start() {
      io.switchboard.logging.TurnLogContext.enter(request.requestId(), null);
      if (!choosers.containsKey(request.model())) {
        ApiError.modelNotFound(request.model()).failReply(message);
        return;
      }
      if (!servesKind(request.model())) {
        wrongKind().failReply(message);
        return;
      }
      if (load.level() >= 3 && request.priority() < config.overload().shedBelowPriority()) {
        registry.counter("switchboard.routing.rejected", "model", request.model(), "reason", "overload").increment();
        new BusFailure(new ApiError(503, "server_error", "overloaded", "This gateway node is overloaded and serves "
          + "only higher-priority traffic right now; retry shortly.", null), false, OVERLOAD_RETRY_AFTER_MILLIS, 0,
          "").failReply(message);
        return;
      }
      String first = degraded.getOrDefault(request.model(), request.model());
      chain.add(first);
      for (String fallback : config.route(request.model()).fallbacks()) {
        if (!chain.contains(fallback)) {
          chain.add(fallback);
        }
      }
      turns.put(request.requestId(), this);
      counted = inFlight.get(request.model());
      counted.started(request.stream());
      deadlineTimer = LoopTimer.schedule(vertx, request.timeoutMillis(), () -> fail(new BusFailure(
        ApiError.upstreamTimeout("The model did not finish within " + request.timeoutMillis() + " ms."), false, 0, 0,
        "")));
      next();
    }

    private Route route() {
      return config.route(chain.get(Math.min(modelIndex, chain.size() - 1)));
    }

    /** Launches the next attempt, waits for a slot, or gives up when nothing is left to try. */
    private void next() {
      if (done) {
        return;
      }
      long now = System.currentTimeMillis();
      while (modelIndex < chain.size()) {
        String model = chain.get(modelIndex);
        DeploymentChooser chooser = servesKind(model) ? choosers.get(model) : null;
        if (chooser != null) {
          DeploymentChooser.Choice choice = chooser.choose(request.conversationId(), skipped(model), now);
          if (choice instanceof DeploymentChooser.Unavailable && !excluded.isEmpty()
            && triesOnModel <= config.route(model).numRetries()) {
            excluded.clear(); // a model with one deployment retries that deployment
            choice = chooser.choose(request.conversationId(), skipped(model), now);
          }
          if (choice instanceof DeploymentChooser.Chosen chosen) {
            admitThenLaunch(chosen.state(), model, false);
            return;
          }
          if (choice instanceof DeploymentChooser.Full) {
            enqueue(model);
            return;
          }
        }
        modelIndex++;
        triesOnModel = 0;
        excluded.clear();
        if (modelIndex < chain.size()) {
          registry.counter("switchboard.routing.fallbacks", "model", request.model()).increment();
        }
      }
      if (lastFailure == null && !limited.isEmpty()) {
        fail(new BusFailure(new ApiError(429, "requests", "rate_limit_exceeded", "Every deployment of '"
          + request.model() + "' is at its rate limit; please try again shortly.", null), false,
          Math.max(1, limitedRetryAfterMillis), 0, ""));
        return;
      }
      fail(lastFailure != null ? lastFailure : BusFailure.of(ApiError.unavailable(
        "No deployment of '" + request.model() + "' or its fallbacks can take the request right now.")));
    }

    /** Deployments of {@code model} this attempt may not go to: tried, at their rate limit, or left out by a rule. */
    private Set<String> skipped(String model) {
      Set<String> ruledOut = ruledOutByModel.computeIfAbsent(model, m -> rules.get(m).leftOut(request));
      if (limited.isEmpty() && ruledOut.isEmpty()) {
        return excluded;
      }
      Set<String> all = new HashSet<>(excluded);
      all.addAll(limited);
      all.addAll(ruledOut);
      return all;
    }

    /**
     * A deployment with its own rpm_limit / tpm_limit counts the attempt first (in Redis when the node shares its
     * counters): at its limit, it is skipped and another is tried.
     */
    private void admitThenLaunch(DeploymentState state, String model, boolean hedge) {
      if (governance == null || !governance.limitsDeployments()) {
        launch(state, model);
        return;
      }
      long reserve = request instanceof ChatRequest chat ? governance.estimate(chat.messages(), chat.options()) : 0;
      state.outstanding++; // holds its slot while the limit is checked, so max_concurrency still holds
      governance.admitDeployment(state.deployment.id(), reserve).onComplete(outcome -> {
        state.outstanding--;
        if (done || outcome.failed() || !outcome.result().admitted()) {
          slotFreed(state.deployment.modelName());
        }
        if (done) {
          return;
        }
        if (outcome.failed()) {
          fail(BusFailure.from(outcome.cause())); // limits cannot be checked (on_redis_down: closed)
        } else if (outcome.result().admitted()) {
          if (!outcome.result().scopes().isEmpty()) {
            admissions.put(attempts, outcome.result());
          }
          launch(state, model);
        } else {
          limited.add(state.deployment.id());
          long wait = Governance.retryAfterMillis(outcome.result(), System.currentTimeMillis());
          limitedRetryAfterMillis = limitedRetryAfterMillis == 0 ? wait : Math.min(limitedRetryAfterMillis, wait);
          registry.counter("switchboard.routing.rejected", "model", model, "reason", "deployment_limit").increment();
          if (!hedge) {
            next(); // a hedge at its limit is simply not started: the first attempt goes on
          }
        }
      });
    }

    private void enqueue(String model) {
      AdmissionQueue queue = queues.get(model);
      AdmissionQueue.Waiter waiter = new AdmissionQueue.Waiter(request.tenant(), request.priority(), this::next);
      if (!queue.offer(waiter)) {
        registry.counter("switchboard.routing.rejected", "model", model, "reason", "queue_full").increment();
        fail(new BusFailure(new ApiError(429, "rate_limit_error", "overloaded", "The model '" + model
          + "' is at capacity and its queue is full; retry shortly.", null), false, QUEUE_FULL_RETRY_AFTER_MILLIS,
          0, ""));
        return;
      }
      long wait = Math.min(config.route(model).maxQueueWaitMillis(), Math.max(1, deadline - System.currentTimeMillis()));
      waiter.timer = vertx.setTimer(wait, t -> {
        if (queue.remove(waiter)) {
          registry.counter("switchboard.routing.rejected", "model", model, "reason", "queue_timeout").increment();
          fail(new BusFailure(new ApiError(503, "server_error", "overloaded", "The model '" + model
            + "' stayed at capacity for " + wait + " ms; retry shortly.", null), false, wait, 0, ""));
        }
      });
    }

    private void launch(DeploymentState state, String model) {
      int attempt = attempts++;
      long remaining = deadline - System.currentTimeMillis();
      if (remaining <= 0) {
        return; // the deadline timer answers
      }
      Route route = config.route(request.model());
      boolean continuing = seq > request.seqStart();
      boolean hedging = route.hedgeAfterMillis() > 0 && !continuing;
      String grant = hedging && request.stream() ? grantAddress : null;

      String control = vertx.isClustered() ? controlAddress : null;
      Object attemptRequest = attemptOf(model, attempt, continuing, remaining, grant, control);
      if (control != null) {
        ackTimers.put(attempt, vertx.setTimer(ATTEMPT_ACK_MILLIS, t -> {
          ackTimers.remove(attempt);
          if (!done && running.containsKey(attempt) && !attemptNodes.containsKey(attempt)) {
            LOG.warn("request {}: attempt {} was not taken up by any node within {} ms", request.requestId(), attempt,
              ATTEMPT_ACK_MILLIS);
            vertx.eventBus().publish(Addresses.TURN_CANCEL, new CancelTurn(request.requestId(), attempt, "lost"));
            lost(attempt);
          }
        }));
      }
      state.outstanding++;
      int inflight = state.outstanding;
      long startNanos = System.nanoTime();
      running.put(attempt, state);
      PreferLocal.request(vertx.eventBus(), request.inferenceAddress(state.deployment.id()), attemptRequest,
          remaining + BUS_MARGIN_MILLIS)
        .onComplete(outcome -> {
          cancelAckTimer(attempt);
          if (running.remove(attempt) == null) {
            return; // given up already: its node left the cluster
          }
          attemptNodes.remove(attempt);
          Admission admission = admissions.remove(attempt);
          if (admission != null) {
            governance.settleDeployment(admission, outcome.succeeded() && outcome.result().body() instanceof ChatResult
              chat ? chat : null);
          }
          state.outstanding--;
          BusFailure failure = outcome.succeeded() ? null : BusFailure.from(outcome.cause());
          measure(state, startNanos, inflight, outcome.succeeded() ? outcome.result().body() : null, failure);
          slotFreed(state.deployment.modelName());
          if (failure == null) {
            succeeded(attempt, state, outcome.result().body());
          } else {
            failed(attempt, state, failure);
          }
        });
      if (hedging && attempt == 0) {
        hedgeTimer = vertx.setTimer(route.hedgeAfterMillis(), t -> hedge());
      }
    }

    /** This turn's request for one attempt: a chat goes on from what its stream sent; a whole call is sent again. */
    private Object attemptOf(String model, int attempt, boolean continuing, long remaining, String grant,
                             String control) {
      if (request instanceof WholeCall whole) {
        return whole.retry(model, attempt, remaining, control);
      }
      ChatRequest chat = (ChatRequest) request;
      return chat.retry(model, continuing ? Continuation.of(chat.messages(), partial.toString()) : chat.messages(),
        attempt, seq, remaining, grant).withControlAddress(control);
    }

    /** Whether a model serves what this turn asks for (chat, embeddings, transcriptions). */
    private boolean servesKind(String model) {
      return request.mode().equals(modes.get(model));
    }

    private ApiError wrongKind() {
      String served = modes.get(request.model());
      return new ApiError(400, "invalid_request_error", "model_not_supported", "The model '" + request.model()
        + "' is " + MODE_NAMES.get(served) + " and does not serve " + MODE_WORK.get(request.mode()) + "; use "
        + ENDPOINTS.get(served) + ".", "model");
    }

    /** No first token yet: try a second deployment too; the first to answer wins. */
    private void hedge() {
      if (done || streaming != null || running.size() != 1) {
        return;
      }
      for (DeploymentState busy : running.values()) {
        excluded.add(busy.deployment.id());
      }
      String model = chain.get(modelIndex);
      DeploymentChooser.Choice choice = choosers.get(model).choose(request.conversationId(), skipped(model),
        System.currentTimeMillis());
      if (choice instanceof DeploymentChooser.Chosen chosen) {
        registry.counter("switchboard.routing.hedges", "model", request.model()).increment();
        admitThenLaunch(chosen.state(), model, true);
      }
    }

    private void cancelAckTimer(int attempt) {
      Long timer = ackTimers.remove(attempt);
      if (timer != null) {
        vertx.cancelTimer(timer);
      }
    }

    void startedOn(int attempt, String clusterNode) {
      cancelAckTimer(attempt);
      if (running.containsKey(attempt)) {
        attemptNodes.put(attempt, clusterNode);
      }
    }

    /**
     * A node left the cluster: its attempts will never answer. A whole answer is tried again here; a stream is
     * handed back to the connection, which alone knows how much of it the client already has, to go on.
     */
    void nodeLeft(String clusterNode) {
      for (Map.Entry<Integer, String> entry : Map.copyOf(attemptNodes).entrySet()) {
        if (entry.getValue().equals(clusterNode) && !done) {
          LOG.warn("request {}: node {} left the cluster during attempt {}", request.requestId(), clusterNode,
            entry.getKey());
          lost(entry.getKey());
        }
      }
    }

    /**
     * An attempt that will never answer (its node died, or it never arrived). A whole answer is tried again; a
     * stream goes on from what its client already has, which only the stream's connection knows: it is asked.
     */
    private void lost(int attempt) {
      attemptNodes.remove(attempt);
      DeploymentState state = running.remove(attempt);
      if (state == null) {
        return;
      }
      state.outstanding--;
      slotFreed(state.deployment.modelName());
      registry.counter("switchboard.routing.node.lost", "model", request.model()).increment();
      if (!request.stream()) {
        failed(attempt, state, new BusFailure(ApiError.nodeLost(), true, 0, 0, ""));
        return;
      }
      if (streaming != null && streaming != attempt || !running.isEmpty()) {
        return; // a losing hedge, or a hedge that goes on
      }
      vertx.eventBus().<StreamProgress>request(request.inbox(), StreamProgress.query(request.requestId()),
          new DeliveryOptions().setSendTimeout(PROGRESS_TIMEOUT_MILLIS))
        .onComplete(reply -> {
          if (done) {
            return;
          }
          if (reply.failed()) {
            fail(new BusFailure(ApiError.nodeLost(), false, 0, 0, ""));
            return;
          }
          StreamProgress progress = reply.result().body();
          if (progress.ended()) {
            fail(new BusFailure(ApiError.nodeLost(), false, 0, 0, "")); // nobody is listening any more
            return;
          }
          if (!progress.continuable()) {
            fail(new BusFailure(new ApiError(502, "upstream_error", "stream_broken", "The gateway node serving this "
              + "answer went away after a tool call was sent; it cannot be continued by another model.", null),
              false, 0, 0, ""));
            return;
          }
          seq = progress.delivered();
          partial.setLength(0);
          partial.append(progress.text());
          streaming = null;
          registry.counter("switchboard.stream.rescued").increment();
          failed(attempt, state, new BusFailure(ApiError.nodeLost(), true, 0, 0, ""));
        });
    }

    /** A hedged attempt asks to stream: the first one may, the others are told no. */
    boolean grant(int attempt) {
      if (done) {
        return false;
      }
      if (streaming == null) {
        streaming = attempt;
        vertx.cancelTimer(hedgeTimer);
        cancelOthers(attempt, "another attempt answered first");
      }
      return streaming == attempt;
    }

    private void succeeded(int attempt, DeploymentState state, Object result) {
      state.firstToken(result instanceof ChatResult chat ? chat.firstTokenMillis()
        : ((WholeCall.Answer) result).millis());
      if (done) {
        return;
      }
      finish();
      cancelOthers(attempt, "another attempt answered first");
      message.reply(result);
    }

    private void failed(int attempt, DeploymentState state, BusFailure failure) {
      if (done) {
        return;
      }
      if (failure.error().is(ApiError.Kind.CANCELLED)) {
        if (running.isEmpty() && lastFailure != null && !lastFailure.retryable()) {
          fail(lastFailure);
        } else if (running.isEmpty()) {
          next();
        }
        return;
      }
      lastFailure = failure;
      long now = System.currentTimeMillis();
      // an open circuit or a 429 rests the deployment; the turn itself moves on at once
      boolean rested = failure.error().is(ApiError.Kind.CIRCUIT_OPEN) || failure.error().status() == 429;
      if (rested) {
        state.rest(now, failure.error().status() == 429 ? Math.max(failure.retryAfterMillis(), 1_000)
          : failure.retryAfterMillis());
      }
      if (failure.chunksSent() > 0) {
        seq += failure.chunksSent();
        partial.append(failure.partial());
        streaming = null;
      }
      if (!failure.retryable()) {
        if (running.isEmpty()) {
          fail(failure);
        }
        return;
      }
      if (!running.isEmpty()) {
        return; // a hedge is still going
      }
      excluded.add(state.deployment.id());
      triesOnModel++;
      if (triesOnModel > config.route(chain.get(modelIndex)).numRetries()) {
        modelIndex++;
        triesOnModel = 0;
        excluded.clear();
        if (modelIndex < chain.size()) {
          registry.counter("switchboard.routing.fallbacks", "model", request.model()).increment();
        }
      }
      if (seq > 0) {
        registry.counter("switchboard.routing.midstream.failovers", "model", request.model()).increment();
        LOG.info("request {}: upstream died after {} chunks; continuing on a fallback", request.requestId(), seq);
        next(); // the client is waiting mid-sentence: no backoff
        return;
      }
      long backoff = rested ? 0 : Math.max(failure.retryAfterMillis(), fullJitter(triesOnModel));
      if (System.currentTimeMillis() + backoff >= deadline) {
        fail(failure);
        return;
      }
      registry.counter("switchboard.routing.retries", "model", request.model()).increment();
      vertx.setTimer(Math.max(1, backoff), t -> next());
    }

    /** Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^tries)). */
    private long fullJitter(int tries) {
      Route route = route();
      long ceiling = Math.min(route.retryMaxMillis(), route.retryBaseMillis() << Math.min(tries, 20));
      return ThreadLocalRandom.current().nextLong(Math.max(1, ceiling));
    }

    private void cancelOthers(int winner, String reason) {
      for (int attempt : List.copyOf(running.keySet())) {
        if (attempt != winner) {
          vertx.eventBus().publish(Addresses.TURN_CANCEL, new CancelTurn(request.requestId(), attempt, reason));
        }
      }
    }

    private void fail(BusFailure failure) {
      if (done) {
        return;
      }
      finish();
      if (!running.isEmpty()) {
        vertx.eventBus().publish(Addresses.TURN_CANCEL, new CancelTurn(request.requestId(), CancelTurn.ALL,
          "the turn ended"));
      }
      // what this turn's attempts streamed is counted in chunks_sent, so the client's error event lines up
      new BusFailure(failure.error(), false, failure.retryAfterMillis(), seq, "").failReply(message);
    }

    /** The client went away: stop everything and try nothing more (inference proxies were told too). */
    void abandon(String reason) {
      if (!done) {
        finish();
        new BusFailure(ApiError.cancelled(reason), false, 0, seq, "").failReply(message);
      }
    }

    private void finish() {
      if (counted != null && !done) {
        counted.ended(request.stream());
      }
      done = true;
      LoopTimer.cancel(deadlineTimer);
      vertx.cancelTimer(hedgeTimer);
      turns.remove(request.requestId());
    }
  }

  /** One model's turns in flight: one writer (this event loop), read by the scrape. */
  private static final class InFlight {
    private volatile int turns;
    private volatile int streams;

    void started(boolean stream) {
      turns++;
      if (stream) {
        streams++;
      }
    }

    void ended(boolean stream) {
      turns--;
      if (stream) {
        streams--;
      }
    }
  }
}

package io.switchboard.inference;

import io.micrometer.core.instrument.Tags;
import io.switchboard.eventbus.Drain;
import io.switchboard.monitoring.Gauges;
import io.vertx.core.eventbus.MessageConsumer;
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
import io.switchboard.bus.StreamBurst;
import io.switchboard.bus.StreamChunk;
import io.switchboard.bus.StreamFlow;
import io.switchboard.bus.StreamGrant;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.eventbus.LoopTimer;
import io.switchboard.eventbus.PreferLocal;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Calls the upstream of each deployment it serves. Every call runs inside that deployment's circuit
 * breaker and under its timeouts (connect, first token, idle gap between chunks, total); stream chunks go
 * straight to the requesting node's inbox, and the reply is the turn's {@link ChatResult} or a
 * {@link BusFailure} that tells routing whether, and from where, another attempt may go on.
 */
public final class InferenceProxyVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(InferenceProxyVerticle.class);
  private static final long GRANT_TIMEOUT_MILLIS = 5_000;

  private final List<Deployment> deployments;
  private final String nodeId;
  private final SwitchboardConfig.Bridge bridgeSettings;
  private final Map<String, String> baseUrls;
  /** A stream's chunks are not traced one by one: the model call's span covers them (when tracing is on). */
  private static final DeliveryOptions CHUNK = new DeliveryOptions()
    .setTracingPolicy(io.vertx.core.tracing.TracingPolicy.IGNORE);
  private final MeterRegistry registry;
  private final List<Upstream> upstreams = new ArrayList<>();
  private final Map<String, List<Call>> calls = new HashMap<>();
  /** The deployments' doors: closed first when this instance is undeployed, so a newer one takes the new calls. */
  private final List<MessageConsumer<?>> intake = new ArrayList<>();
  private String clusterNodeId;
  private WholeCalls wholeCalls;

  /** @param baseUrls deployment id → the base URL to call (the simulator's is known only at start-up) */
  public InferenceProxyVerticle(List<Deployment> deployments, Map<String, String> baseUrls, MeterRegistry registry,
                                String nodeId, SwitchboardConfig.Bridge bridge) {
    this.nodeId = nodeId;
    this.bridgeSettings = bridge;
    this.deployments = List.copyOf(deployments);
    this.baseUrls = Map.copyOf(baseUrls);
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    EventBus bus = vertx.eventBus();
    clusterNodeId = vertx.isClustered() ? ((VertxInternal) vertx).clusterManager().getNodeId() : null;
    wholeCalls = new WholeCalls(vertx, clusterNodeId);
    List<Future<?>> registrations = new ArrayList<>();
    WorkerBridge workers = new WorkerBridge(vertx, nodeId);
    registrations.add(workers.start(bridgeSettings));
    for (Deployment deployment : deployments) {
      Upstream upstream = Upstreams.create(vertx, deployment, baseUrls.get(deployment.id()), workers,
        registry);
      DeploymentBreaker breaker = new DeploymentBreaker(deployment, registry);
      UpstreamMeters meters = new UpstreamMeters(registry, deployment);
      upstreams.add(upstream);
      registrations.add(switch (deployment.mode()) {
        case Deployment.EMBEDDING, Deployment.MODERATION -> PreferLocal.<EmbeddingRequest>serve(bus,
          Addresses.inferenceEmbeddings(deployment.id()),
          message -> wholeCalls.serve(deployment, breaker, message, upstream::embed), intake);
        case Deployment.AUDIO_TRANSCRIPTION -> PreferLocal.<TranscriptionRequest>serve(bus,
          Addresses.inferenceTranscriptions(deployment.id()),
          message -> wholeCalls.serve(deployment, breaker, message, upstream::transcribe), intake);
        default -> PreferLocal.<ChatRequest>serve(bus, Addresses.inference(deployment.id()),
          message -> serve(deployment, upstream, breaker, meters, message), intake);
      });
    }
    Gauges.replace(registry, "switchboard.inference.inflight", Tags.empty(),
      "Turns with an upstream call in flight on this node", calls, c -> c.size() + wholeCalls.inflight());
    registrations.add(bus.<CancelTurn>consumer(Addresses.TURN_CANCEL, message -> {
      cancel(message.body());
      wholeCalls.cancel(message.body());
    }).completion());
    registrations.add(bus.<StreamFlow>consumer(Addresses.TURN_FLOW, message -> {
      List<Call> sameTurn = calls.get(message.body().requestId());
      if (sameTurn != null) {
        sameTurn.forEach(call -> call.flow(message.body().paused()));
      }
    }).completion());
    return Future.all(registrations);
  }

  @Override
  public Future<?> stop() {
    // calls in flight finish (streams included) within their own timeouts; new ones go to the newer instance
    long longest = deployments.stream().mapToLong(Deployment::timeoutMillis).max().orElse(0);
    return PreferLocal.stopServing(intake)
      .compose(v -> Drain.until(vertx, () -> calls.isEmpty() && wholeCalls.inflight() == 0, longest + 1_000))
      .compose(v -> Future.all(upstreams.stream().map(Upstream::close).toList()));
  }

  private void serve(Deployment deployment, Upstream upstream, DeploymentBreaker breaker, UpstreamMeters meters,
                     Message<ChatRequest> message) {
    ChatRequest request = message.body();
    io.switchboard.logging.TurnLogContext.enter(request.requestId(), null);
    if (request.controlAddress() != null && clusterNodeId != null) {
      vertx.eventBus().send(request.controlAddress(), new AttemptStarted(request.requestId(), request.attempt(),
        clusterNodeId));
    }
    Call call = new Call(deployment, request);
    calls.computeIfAbsent(request.requestId(), k -> new ArrayList<>(1)).add(call);
    io.switchboard.tracing.GenAiSpan.around(deployment.provider(), deployment.upstreamModel(), deployment.id(),
        request.requestId(), () -> breaker.<ChatResult>execute(() -> call.run(upstream), call::judgedNanos))
      .onComplete(outcome -> {
        call.end();
        long nanos = System.nanoTime() - call.startNanos;
        if (call.firstTokenNanos != 0) {
          meters.firstToken(call.firstTokenNanos - call.startNanos);
        }
        List<Call> sameTurn = calls.get(request.requestId());
        if (sameTurn != null && sameTurn.remove(call) && sameTurn.isEmpty()) {
          calls.remove(request.requestId());
        }
        if (outcome.succeeded()) {
          meters.succeeded(nanos);
          // a stream's answer went to the inbox already: routing needs only how it went, not the message again
          message.reply(request.stream() ? outcome.result().withoutMessage()
            : outcome.result().withStreamFacts(0, call.firstTokenMillis()));
          return;
        }
        BusFailure failure = call.failure(outcome.cause());
        meters.failed(failure.error(), nanos);
        if (!failure.error().is(ApiError.Kind.CANCELLED)) {
          LOG.info("request {} attempt {} on deployment {} failed after {} chunks: {} {}", request.requestId(),
            request.attempt(), deployment.id(), failure.chunksSent(), failure.error().status(),
            failure.error().message());
        }
        failure.failReply(message);
      });
  }

  private void cancel(CancelTurn cancel) {
    List<Call> sameTurn = calls.get(cancel.requestId());
    if (sameTurn != null) {
      for (Call call : List.copyOf(sameTurn)) {
        if (cancel.covers(call.request.attempt())) {
          call.stop(UpstreamFailure.fatal(ApiError.cancelled(cancel.reason())));
        }
      }
    }
  }

  /** One attempt at one deployment: its timers, its chunk numbering and its permission to stream. */
  private final class Call {
    private final Deployment deployment;
    private final ChatRequest request;
    private final CancelSignal cancel = new CancelSignal();
    private final Promise<ChatResult> outcome = Promise.promise();
    private final StringBuilder partial;
    private final long startNanos = System.nanoTime();
    private long firstTokenNanos;
    private int seq;
    /** The one timer that watches the call's deadlines (see {@link #watch}); null when none is set. */
    private io.netty.util.concurrent.ScheduledFuture<?> watchTimer;
    private long totalMillis;
    private long firstTokenMillis;
    /** When the last chunk came (System.nanoTime). */
    private long lastHeardNanos;
    private Boolean granted;
    private List<StreamChunk> held;
    private ChatResult heldEnd;
    /** A chunk that another model could not honestly continue (a tool call) reached the client. */
    private boolean final_;
    /**
     * The chunks sent while the event loop handles one upstream read, waiting to go to the inbox as one message once
     * it comes round (see {@link #flush}); null when none wait.
     */
    private List<StreamChunk> burst;
    private final io.vertx.core.Context context = vertx.getOrCreateContext();

    Call(Deployment deployment, ChatRequest request) {
      this.deployment = deployment;
      this.request = request;
      this.seq = request.seqStart();
      this.partial = request.stream() ? new StringBuilder() : null;
      this.granted = request.grantAddress() == null ? Boolean.TRUE : null;
    }

    Future<ChatResult> run(Upstream upstream) {
      totalMillis = Math.min(request.timeoutMillis(), deployment.timeoutMillis());
      firstTokenMillis = Math.min(totalMillis, deployment.firstTokenTimeoutMillis());
      // no deadline can come before the earliest of these: a stall is counted from a chunk, which comes after now
      watch(Math.min(firstTokenMillis, deployment.idleTimeoutMillis()));
      upstream.call(request, this::chunk, cancel).onComplete(result -> {
        if (result.failed()) {
          outcome.tryFail(result.cause());
        } else if (!request.stream()) {
          outcome.tryComplete(result.result());
        } else {
          end(result.result());
        }
      });
      return outcome.future();
    }

    private UpstreamFailure timeout(String message) {
      return UpstreamFailure.retryable(ApiError.upstreamTimeout(message));
    }

    void stop(UpstreamFailure why) {
      if (outcome.tryFail(why)) {
        cancel.cancel(why.error().message());
      }
    }

    /** The client fell behind (or caught up): a stall is not counted while we are the ones not reading. */
    void flow(boolean paused) {
      cancel.flow(paused);
      if (!paused && !outcome.future().isComplete()) {
        lastHeardNanos = System.nanoTime(); // the stall clock starts again, and may end before the timer set
        LoopTimer.cancel(watchTimer);
        check();
      }
    }

    /**
     * The call's three deadlines — the whole call, the first chunk, a stall between chunks (not while the client
     * makes us wait) — watched by one timer at a time, not one each nor one per chunk. A chunk only notes when it
     * came; when the timer fires, {@link #check} ends the call if a deadline passed, or sets it for the next one.
     */
    private void watch(long delayMillis) {
      watchTimer = LoopTimer.schedule(vertx, delayMillis, () -> {
        watchTimer = null;
        check();
      });
    }

    private void check() {
      if (outcome.future().isComplete()) {
        return;
      }
      long elapsed = (System.nanoTime() - startNanos) / 1_000_000;
      if (elapsed >= totalMillis) {
        stop(timeout("The model did not finish within " + totalMillis + " ms."));
        return;
      }
      long next = totalMillis - elapsed;
      if (firstTokenNanos == 0) {
        if (elapsed >= firstTokenMillis) {
          stop(timeout("The model sent nothing within " + firstTokenMillis + " ms."));
          return;
        }
        next = Math.min(next, firstTokenMillis - elapsed);
      } else if (!cancel.paused()) {
        long idle = deployment.idleTimeoutMillis();
        long quiet = (System.nanoTime() - lastHeardNanos) / 1_000_000;
        if (quiet >= idle) {
          stop(timeout("The model's stream stalled for " + idle + " ms."));
          return;
        }
        next = Math.min(next, idle - quiet);
      }
      watch(next);
    }

    void end() {
      flush();
      LoopTimer.cancel(watchTimer);
    }

    private void chunk(Buffer data, String text, int flags) {
      if (outcome.future().isComplete()) {
        return;
      }
      lastHeardNanos = System.nanoTime();
      if (firstTokenNanos == 0) {
        firstTokenNanos = lastHeardNanos;
        if (granted == null) {
          askForGrant();
        }
      }
      if (!request.stream()) {
        return;
      }
      StreamChunk chunk = seq == request.seqStart()
        ? StreamChunk.first(request.requestId(), seq++, data, text, flags, deployment.id())
        : StreamChunk.chunk(request.requestId(), seq++, data, text, flags);
      if (granted == null) {
        if (held == null) {
          held = new ArrayList<>();
        }
        held.add(chunk);
      } else if (granted) {
        send(chunk);
      }
    }

    /** The stream's end goes to the inbox behind its last chunk, then the turn's result to routing. */
    private void end(ChatResult result) {
      ChatResult whole = result.withStreamFacts(seq - request.seqStart(), firstTokenMillis());
      if (granted == null) {
        heldEnd = whole; // a hedge that finished before it heard whether it may stream
        return;
      }
      if (granted) {
        queue(StreamChunk.end(request.requestId(), seq, whole));
        flush(); // the end goes with the burst it closes, before routing hears the result
        outcome.tryComplete(whole);
      }
    }

    private void askForGrant() {
      vertx.eventBus().<Boolean>request(request.grantAddress(), new StreamGrant(request.requestId(), request.attempt()),
          new DeliveryOptions().setSendTimeout(GRANT_TIMEOUT_MILLIS))
        .onComplete(reply -> {
          granted = reply.succeeded() && Boolean.TRUE.equals(reply.result().body());
          if (!granted) {
            stop(UpstreamFailure.fatal(ApiError.cancelled("another attempt answered first")));
            return;
          }
          if (held != null) {
            held.forEach(this::send);
            held = null;
          }
          if (heldEnd != null) {
            end(heldEnd);
          }
        });
    }

    private void send(StreamChunk chunk) {
      partial.append(chunk.text());
      if (!chunk.continuable()) {
        final_ = true;
      }
      queue(chunk);
    }

    private void queue(StreamChunk chunk) {
      if (burst == null) {
        burst = new ArrayList<>(4);
        context.runOnContext(v -> flush());
      }
      burst.add(chunk);
    }

    /**
     * The waiting chunks to the inbox: one message for what one upstream read brought (an upstream that writes fast
     * sends several chunks a read), a lone chunk as itself. Before the call's result goes to routing, so a failure's
     * count of chunks sent is what the client gets.
     */
    void flush() {
      List<StreamChunk> chunks = burst;
      if (chunks == null) {
        return;
      }
      burst = null;
      vertx.eventBus().send(request.inbox(), chunks.size() == 1 ? chunks.get(0) : new StreamBurst(chunks), CHUNK);
    }

    /** What the breaker's slow-call rule judges: the time to the first token (to the end when none came). */
    long judgedNanos() {
      return (firstTokenNanos == 0 ? System.nanoTime() : firstTokenNanos) - startNanos;
    }

    long firstTokenMillis() {
      long at = firstTokenNanos == 0 ? System.nanoTime() : firstTokenNanos;
      return (at - startNanos) / 1_000_000;
    }

    BusFailure failure(Throwable cause) {
      int sent = seq - request.seqStart() - (held == null ? 0 : held.size());
      String text = partial == null ? "" : partial.toString();
      if (cause instanceof UpstreamFailure failure) {
        if (final_) {
          // a tool call reached the client: another model must not go on as if it had made it
          return new BusFailure(new ApiError(failure.error().status(), failure.error().type(), "stream_broken",
            "The model's stream broke after a tool call was sent (" + failure.error().message() + "); it cannot "
              + "be continued by another model.", null), false, 0, sent, text);
        }
        return new BusFailure(failure.error(), failure.retryable(), failure.retryAfterMillis(), sent, text);
      }
      if (cause instanceof DeploymentBreaker.Open) {
        return new BusFailure(ApiError.circuitOpen(deployment.modelName()), true,
          deployment.breaker().resetTimeoutMillis(), 0, "");
      }
      LOG.error("request {}: unexpected failure calling deployment {}", request.requestId(), deployment.id(), cause);
      return new BusFailure(ApiError.upstreamFailed("The model call failed."), !final_, 0, sent, text);
    }
  }
}

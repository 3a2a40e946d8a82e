package io.switchboard.inference;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.eventbus.PreferLocal;
import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.circuitbreaker.CircuitBreakerOptions;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.circuitbreaker.OpenCircuitException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Calls the upstream of each deployment it serves. Every call runs inside that deployment's circuit
 * breaker; stream chunks go straight to the requesting node's inbox, and the reply to the request is the
 * turn's {@link ChatResult} (or an {@link ApiError}).
 */
public final class InferenceProxyVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(InferenceProxyVerticle.class);

  private final List<Deployment> deployments;
  private final Map<String, String> baseUrls;
  private final MeterRegistry registry;
  private final List<OpenAiUpstream> upstreams = new ArrayList<>();
  private final List<CircuitBreaker> breakers = new ArrayList<>();

  /** @param baseUrls deployment id → the base URL to call (the simulator's is known only at start-up) */
  public InferenceProxyVerticle(List<Deployment> deployments, Map<String, String> baseUrls, MeterRegistry registry) {
    this.deployments = List.copyOf(deployments);
    this.baseUrls = Map.copyOf(baseUrls);
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    EventBus bus = vertx.eventBus();
    List<Future<Void>> registrations = new ArrayList<>();
    for (Deployment deployment : deployments) {
      OpenAiUpstream upstream = new OpenAiUpstream(vertx, deployment, baseUrls.get(deployment.id()));
      CircuitBreaker breaker = breaker(deployment);
      upstreams.add(upstream);
      breakers.add(breaker);
      registrations.add(PreferLocal.<ChatRequest>serve(bus, Addresses.inference(deployment.id()),
        message -> serve(deployment, upstream, breaker, message)));
    }
    return Future.all(registrations);
  }

  @Override
  public Future<?> stop() {
    breakers.forEach(CircuitBreaker::close);
    return Future.all(upstreams.stream().map(OpenAiUpstream::close).toList());
  }

  private CircuitBreaker breaker(Deployment deployment) {
    CircuitBreaker breaker = CircuitBreaker.create("deployment." + deployment.id(), vertx, new CircuitBreakerOptions()
        .setMaxFailures(deployment.breaker().maxFailures())
        .setResetTimeout(deployment.breaker().resetTimeoutMillis())
        .setTimeout(-1) // the upstream call enforces its own timeouts and cancels the request
        .setNotificationAddress(null))
      .openHandler(v -> LOG.warn("circuit OPEN for deployment {}", deployment.id()))
      .halfOpenHandler(v -> LOG.info("circuit half-open for deployment {}: probing", deployment.id()))
      .closeHandler(v -> LOG.info("circuit closed for deployment {}", deployment.id()));
    breaker.failurePolicy(InferenceProxyVerticle::countsAgainstUpstream);
    Gauge.builder("switchboard.circuit.state", breaker, b -> stateValue(b.state()))
      .description("Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open")
      .tag("deployment", deployment.id()).tag("model", deployment.modelName())
      .register(registry);
    return breaker;
  }

  /** The client's own mistakes (4xx other than 429) say nothing about the upstream's health. */
  private static boolean countsAgainstUpstream(Future<ChatResult> outcome) {
    if (outcome.succeeded()) {
      return false;
    }
    if (outcome.cause() instanceof ReplyException reply) {
      int status = reply.failureCode();
      return status >= 500 || status == 429;
    }
    return true;
  }

  private static double stateValue(CircuitBreakerState state) {
    return switch (state) {
      case CLOSED -> 0;
      case HALF_OPEN -> 1;
      case OPEN -> 2;
    };
  }

  private void serve(Deployment deployment, OpenAiUpstream upstream, CircuitBreaker breaker,
                     Message<ChatRequest> message) {
    ChatRequest request = message.body();
    EventBus bus = vertx.eventBus();
    int[] seq = {0};
    breaker.<ChatResult>execute(() -> upstream.call(request, delta ->
        bus.send(request.inbox(), new StreamChunk(request.requestId(), seq[0]++, delta))))
      .onSuccess(message::reply)
      .onFailure(failure -> {
        ApiError error = failure instanceof OpenCircuitException
          ? ApiError.unavailable("The model '" + deployment.modelName()
            + "' is temporarily unavailable (circuit open after repeated upstream failures).")
          : ApiError.from(failure);
        LOG.info("request {} on deployment {} failed: {} {}", request.requestId(), deployment.id(), error.status(),
          error.message());
        error.failReply(message);
      });
  }
}

package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.AttemptStarted;
import io.switchboard.bus.BusFailure;
import io.switchboard.bus.CancelTurn;
import io.switchboard.bus.EmbeddingRequest;
import io.switchboard.bus.EmbeddingResult;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The inference proxy's embeddings door: each attempt is one call inside its deployment's circuit breaker, under
 * the deployment's timeouts, stopped when routing cancels it; the reply is the {@link EmbeddingResult} or a
 * {@link BusFailure} that tells routing whether another attempt may help. Part of {@link InferenceProxyVerticle},
 * used on its event loop.
 */
final class EmbeddingCalls {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingCalls.class);

  private final Vertx vertx;
  private final String clusterNodeId;
  private final Map<String, List<Call>> calls = new HashMap<>();

  /** @param clusterNodeId this node in the cluster (null when not clustered) */
  EmbeddingCalls(Vertx vertx, String clusterNodeId) {
    this.vertx = vertx;
    this.clusterNodeId = clusterNodeId;
  }

  int inflight() {
    return calls.size();
  }

  void serve(Deployment deployment, Upstream upstream, DeploymentBreaker breaker, Message<EmbeddingRequest> message) {
    EmbeddingRequest request = message.body();
    if (request.controlAddress() != null && clusterNodeId != null) {
      vertx.eventBus().send(request.controlAddress(), new AttemptStarted(request.requestId(), request.attempt(),
        clusterNodeId));
    }
    Call call = new Call(request);
    calls.computeIfAbsent(request.requestId(), k -> new ArrayList<>(1)).add(call);
    long startNanos = System.nanoTime();
    breaker.<EmbeddingResult>execute(() -> call.run(deployment, upstream), () -> System.nanoTime() - startNanos)
      .onComplete(outcome -> {
        call.end();
        List<Call> sameTurn = calls.get(request.requestId());
        if (sameTurn != null && sameTurn.remove(call) && sameTurn.isEmpty()) {
          calls.remove(request.requestId());
        }
        if (outcome.succeeded()) {
          message.reply(outcome.result().withMillis((System.nanoTime() - startNanos) / 1_000_000));
          return;
        }
        BusFailure failure = failure(deployment, request, outcome.cause());
        if (!failure.error().is(ApiError.Kind.CANCELLED)) {
          LOG.info("request {} attempt {} (embeddings) on deployment {} failed: {} {}", request.requestId(),
            request.attempt(), deployment.id(), failure.error().status(), failure.error().message());
        }
        failure.failReply(message);
      });
  }

  void cancel(CancelTurn cancel) {
    List<Call> sameTurn = calls.get(cancel.requestId());
    if (sameTurn != null) {
      for (Call call : List.copyOf(sameTurn)) {
        if (cancel.covers(call.request.attempt())) {
          call.stop(UpstreamFailure.fatal(ApiError.cancelled(cancel.reason())));
        }
      }
    }
  }

  private static BusFailure failure(Deployment deployment, EmbeddingRequest request, Throwable cause) {
    if (cause instanceof UpstreamFailure failure) {
      return new BusFailure(failure.error(), failure.retryable(), failure.retryAfterMillis(), 0, "");
    }
    if (cause instanceof DeploymentBreaker.Open) {
      return new BusFailure(ApiError.circuitOpen(deployment.modelName()), true,
        deployment.breaker().resetTimeoutMillis(), 0, "");
    }
    LOG.error("request {}: unexpected failure calling deployment {}", request.requestId(), deployment.id(), cause);
    return new BusFailure(ApiError.upstreamFailed("The model call failed."), true, 0, 0, "");
  }

  /** One attempt at one deployment: its timer and its way to stop. */
  private final class Call {
    private final EmbeddingRequest request;
    private final CancelSignal cancel = new CancelSignal();
    private final Promise<EmbeddingResult> outcome = Promise.promise();
    private long timer = -1;

    Call(EmbeddingRequest request) {
      this.request = request;
    }

    Future<EmbeddingResult> run(Deployment deployment, Upstream upstream) {
      // the whole answer is the first token: whichever limit is shorter applies
      long limit = Math.min(request.timeoutMillis(), Math.min(deployment.timeoutMillis(),
        deployment.firstTokenTimeoutMillis()));
      timer = vertx.setTimer(limit, t -> stop(UpstreamFailure.retryable(ApiError.upstreamTimeout(
        "The model did not answer within " + limit + " ms."))));
      upstream.embed(request, cancel).onComplete(result -> {
        if (result.succeeded()) {
          outcome.tryComplete(result.result());
        } else {
          outcome.tryFail(result.cause());
        }
      });
      return outcome.future();
    }

    void stop(UpstreamFailure why) {
      if (outcome.tryFail(why)) {
        cancel.cancel(why.error().message());
      }
    }

    void end() {
      vertx.cancelTimer(timer);
    }
  }
}

package io.switchboard.guardrails;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.EmbeddingRequest;
import io.switchboard.bus.EmbeddingResult;
import io.switchboard.eventbus.PreferLocal;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.concurrent.TimeUnit;

/**
 * Asks a moderation model whether a text is flagged: a model the gateway routes ({@code /v1/moderations}'s own
 * path, deployments of mode moderation, with their retries and breakers), or an operator's endpoint that answers
 * a {@code {"input": ...}} POST in OpenAI's moderation shape ({@code results[].flagged}). Either way within the
 * policy's timeout; a failure is the caller's to judge (on_error).
 */
final class Moderator {
  private final Vertx vertx;
  private HttpClient client;

  Moderator(Vertx vertx) {
    this.vertx = vertx;
  }

  Future<Boolean> flagged(Policy policy, String requestId, String tenant, String text) {
    long timeout = policy.config.timeoutMillis();
    JsonObject body = new JsonObject().put("input", text);
    Future<Buffer> answer;
    if (policy.config.model() != null) {
      // its own request id: routing keys turns by it, and the chat turn it vets is one of them
      EmbeddingRequest call = EmbeddingRequest.moderation(requestId + ".guard." + policy.name(), tenant,
        policy.config.model(), body, timeout, 0);
      answer = PreferLocal.<EmbeddingResult>request(vertx.eventBus(), Addresses.ROUTING_EMBEDDINGS, call, timeout)
        .map(reply -> reply.body().response());
    } else {
      answer = client().request(new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(policy.config.url())
          .putHeader("content-type", "application/json").setConnectTimeout(timeout)
          .setIdleTimeout(timeout)) // an endpoint that stops answering lets go of its connection too
        .compose(request -> request.send(body.toBuffer()))
        .compose(response -> response.statusCode() / 100 == 2 ? response.body()
          : Future.failedFuture("moderation endpoint answered " + response.statusCode()));
    }
    return answer.timeout(timeout, TimeUnit.MILLISECONDS).map(Moderator::anyFlagged);
  }

  private HttpClient client() {
    if (client == null) {
      client = vertx.createHttpClient();
    }
    return client;
  }

  /** Whether any result of a moderation object is flagged; a body of another shape is a failure. */
  static boolean anyFlagged(Buffer body) {
    JsonArray results = body.toJsonObject().getJsonArray("results");
    if (results == null) {
      throw new IllegalStateException("not a moderation object");
    }
    for (Object result : results) {
      if (result instanceof JsonObject r && Boolean.TRUE.equals(r.getValue("flagged"))) {
        return true;
      }
    }
    return false;
  }
}

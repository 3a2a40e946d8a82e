package io.switchboard.connection;

import io.micrometer.core.instrument.Counter;
import io.switchboard.bus.ApiError;
import io.switchboard.chat.ChatCompletionRequest;
import io.switchboard.chat.ChatPipeline;
import io.switchboard.chat.InvalidRequest;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.governance.Caller;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Runs the turns of the doors that translate another API onto Chat Completions ({@code /v1/responses},
 * {@code /v1/messages}): the same {@link ChatPipeline} turn as a chat completion (limits, spend, cache, routing,
 * memory off), the same rate-limit and cache headers, the same cancel when the client leaves. Each door says how
 * its answer and its errors look.
 */
final class TranslatedTurns {
  private static final Logger LOG = LoggerFactory.getLogger(TranslatedTurns.class);

  private final Vertx vertx;
  private final ChatPipeline pipeline;
  private final SwitchboardConfig.Server settings;
  private final ChatRules rules;
  private final Counter streamPauses;
  private final BiConsumer<RoutingContext, Integer> record;

  TranslatedTurns(Vertx vertx, ChatPipeline pipeline, SwitchboardConfig.Server settings, ChatRules rules,
                  Counter streamPauses, BiConsumer<RoutingContext, Integer> record) {
    this.vertx = vertx;
    this.pipeline = pipeline;
    this.settings = settings;
    this.rules = rules;
    this.streamPauses = streamPauses;
    this.record = record;
  }

  /** The turn for a translated request; an {@link InvalidRequest} with the 404 for a model no deployment serves. */
  ChatPipeline.ChatTurn turn(RoutingContext ctx, ChatCompletionRequest chat) {
    ApiError refusal = rules.refusal(chat.model());
    if (refusal != null) {
      ctx.put("model", ChatRules.echoed(chat.model()));
      throw new InvalidRequest(refusal);
    }
    ctx.put("model", chat.model());
    Caller caller = ctx.get(ConnectionVerticle.CALLER);
    HttpServerResponse response = ctx.response();
    ChatPipeline.ChatTurn turn = new ChatPipeline.ChatTurn(ctx.get(ConnectionVerticle.REQUEST_ID), caller, chat, null,
      settings.requestTimeoutMillis(), ctx.request().getHeader("cache-control"), ConnectionVerticle.rateLimitHeaders(response),
      rules.routeHeaders(ctx.request()));
    response.putHeader(ConnectionVerticle.CACHE, pipeline.cacheState(turn));
    return turn;
  }

  /** The whole answer; headers for the deployment and the cache are set, the body is the door's. */
  Future<ChatPipeline.Answer> whole(RoutingContext ctx, ChatPipeline.ChatTurn turn) {
    return pipeline.turn(turn, null, ChatPipeline.Channel.HTTP).onSuccess(answer -> {
      if (!ctx.response().headWritten()) {
        ctx.response().putHeader(ConnectionVerticle.CACHE, answer.cache())
          .putHeader(ConnectionVerticle.DEPLOYMENT, String.valueOf(answer.result().deployment()));
      }
    });
  }

  /**
   * The answer streamed into the door's sink. A failure before anything was written is {@code fail}'s plain HTTP
   * error; after, the sink's error event. The future completes with the answer once its end was written.
   */
  Future<ChatPipeline.Answer> stream(RoutingContext ctx, ChatPipeline.ChatTurn turn,
                                     Function<FlowGate, TypedEventSink> sinks, BiConsumer<RoutingContext, Throwable> fail) {
    String requestId = turn.requestId();
    FlowGate gate = new FlowGate(vertx, ctx.response(), settings.slowClientTimeoutMillis(), streamPauses, () -> {
      LOG.info("request {}: client too slow, dropping its stream", requestId);
      ctx.response().reset();
    });
    gate.add(requestId);
    TypedEventSink sink = sinks.apply(gate);
    ctx.response().closeHandler(v -> {
      if (!sink.ended()) {
        pipeline.cancel(requestId, "client disconnected");
        record.accept(ctx, 499);
      }
    });
    return pipeline.turn(turn, sink, ChatPipeline.Channel.HTTP).onComplete(outcome -> {
      if (outcome.succeeded()) {
        record.accept(ctx, 200);
      } else if (ctx.response().closed()) {
        return; // counted as 499 when the client left
      } else if (sink.started()) {
        sink.error(ApiError.from(outcome.cause()));
        record.accept(ctx, ApiError.from(outcome.cause()).status());
      } else {
        fail.accept(ctx, outcome.cause());
      }
    });
  }
}

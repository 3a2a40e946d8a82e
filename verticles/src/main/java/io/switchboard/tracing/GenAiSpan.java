package io.switchboard.tracing;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.function.Supplier;

/**
 * One model call as a span with the OpenTelemetry GenAI semantic conventions ({@code chat <model>}, kind client):
 * {@code gen_ai.operation.name}, {@code gen_ai.system}, {@code gen_ai.request.model}, and at its end
 * {@code gen_ai.usage.input_tokens}, {@code gen_ai.usage.output_tokens}, {@code gen_ai.response.finish_reasons}.
 * Its parent is the event-bus hop that brought the turn (Vert.x keeps the OpenTelemetry context in the Vert.x
 * context), so the trace runs from the client's {@code traceparent} through every hop to the upstream call.
 */
public final class GenAiSpan {
  private static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
  private static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("gen_ai.system");
  private static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
  private static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
  private static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
  private static final AttributeKey<List<String>> FINISH_REASONS =
    AttributeKey.stringArrayKey("gen_ai.response.finish_reasons");
  private static final AttributeKey<String> DEPLOYMENT = AttributeKey.stringKey("switchboard.deployment");
  private static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("switchboard.request_id");

  private GenAiSpan() {
  }

  /**
   * Runs {@code call} inside a span for it when tracing is on (else just runs it): the upstream HTTP request it
   * sends is the span's child and carries its {@code traceparent}.
   *
   * @param system the provider, as gen_ai.system names it (openai, anthropic, …)
   */
  public static Future<ChatResult> around(String system, String model, String deployment, String requestId,
                                          Supplier<Future<ChatResult>> call) {
    if (!Tracing.on()) {
      return call.get();
    }
    Span span = Tracing.tracer().spanBuilder("chat " + model).setSpanKind(SpanKind.CLIENT)
      .setAttribute(OPERATION, "chat").setAttribute(SYSTEM, system).setAttribute(REQUEST_MODEL, model)
      .setAttribute(DEPLOYMENT, deployment).setAttribute(REQUEST_ID, requestId).startSpan();
    // current until the call ends, not just while it is started: the upstream request is written later, from a
    // callback on this message's own (duplicated) Vert.x context, and must be this span's child
    // (only on a context of its own: on a verticle's shared one it would become other messages' parent too)
    boolean own = io.vertx.core.Vertx.currentContext() instanceof io.vertx.core.internal.ContextInternal context
      && context.isDuplicate();
    Scope scope = own ? Context.current().with(span).makeCurrent() : Scope.noop();
    Future<ChatResult> result;
    try {
      result = call.get();
    } catch (RuntimeException e) {
      scope.close();
      span.recordException(e);
      span.end();
      throw e;
    }
    return result.andThen(outcome -> {
      scope.close();
      if (outcome.succeeded()) {
        ChatResult answer = outcome.result();
        JsonObject usage = answer.usage();
        if (usage != null) {
          span.setAttribute(INPUT_TOKENS, usage.getLong("prompt_tokens", 0L));
          span.setAttribute(OUTPUT_TOKENS, usage.getLong("completion_tokens", 0L));
        }
        span.setAttribute(FINISH_REASONS, List.of(answer.finishReason()));
      } else {
        ApiError error = ApiError.from(outcome.cause());
        span.setStatus(StatusCode.ERROR, error.message());
        span.setAttribute("error.type", String.valueOf(error.status()));
      }
      span.end();
    });
  }
}

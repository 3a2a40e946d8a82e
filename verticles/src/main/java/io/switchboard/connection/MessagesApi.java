package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.BusFailure;
import io.switchboard.chat.ChatCompletionRequest;
import io.switchboard.chat.ChatPipeline;
import io.switchboard.chat.InvalidRequest;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.governance.Governance;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * Anthropic's Messages API inbound: {@code POST /v1/messages} with Anthropic's {@code x-api-key} (or a Bearer key),
 * translated onto a Chat Completions turn ({@link MessagesRequest}) for whichever provider serves the model, answered
 * as Anthropic's message, or streamed in Anthropic's event sequence ({@link MessagesSse}). Every error, the
 * gateway's own included (a bad key, a limit, a body too large), is in Anthropic's shape.
 */
final class MessagesApi {
  /** Writes a JSON response and records the request (access log, metrics). */
  interface Responder {
    void respond(RoutingContext ctx, int status, JsonObject body);
  }

  private final SwitchboardConfig.Server settings;
  private final TranslatedTurns turns;
  private final Governance governance;
  private final Responder respond;

  MessagesApi(SwitchboardConfig.Server settings, TranslatedTurns turns, Governance governance, Responder respond) {
    this.settings = settings;
    this.turns = turns;
    this.governance = governance;
    this.respond = respond;
  }

  void mount(Router router) {
    router.post("/v1/messages")
      .handler(BodyHandler.create(false).setBodyLimit(settings.maxBodyBytes()))
      .handler(this::authenticate)
      .handler(this::create)
      .failureHandler(ctx -> fail(ctx, ctx.statusCode() == 413 ? ApiError.payloadTooLarge(settings.maxBodyBytes())
        : ctx.statusCode() == 400 ? ApiError.badRequest("The request body could not be read.", null)
        : ApiError.internal()));
  }

  /** Anthropic's {@code x-api-key}, or {@code Authorization: Bearer}, checked as the chat API checks keys. */
  private void authenticate(RoutingContext ctx) {
    ctx.response().putHeader("request-id", ctx.<String>get(ConnectionVerticle.REQUEST_ID)); // as Anthropic names it
    String apiKey = ctx.request().getHeader("x-api-key");
    String authorization = apiKey != null ? "Bearer " + apiKey : ctx.request().getHeader("authorization");
    governance.authenticate(authorization).onComplete(outcome -> {
      if (outcome.failed()) {
        fail(ctx, outcome.cause());
      } else if (outcome.result() == null) {
        fail(ctx, new ApiError(401, "invalid_request_error", "invalid_api_key", authorization == null
          ? "x-api-key header is required" : "invalid x-api-key", null));
      } else {
        ctx.put(ConnectionVerticle.CALLER, outcome.result());
        ctx.next();
      }
    });
  }

  private void create(RoutingContext ctx) {
    ChatPipeline.ChatTurn turn;
    try {
      JsonObject body;
      try {
        body = ctx.body().asJsonObject();
      } catch (DecodeException | ClassCastException e) {
        throw InvalidRequest.of("The request body is not valid JSON: it must be a JSON object.", null);
      }
      if (body == null) {
        throw InvalidRequest.of("The request body is empty; it must be a JSON object.", null);
      }
      ChatCompletionRequest chat = MessagesRequest.parse(body);
      turn = turns.turn(ctx, chat);
    } catch (InvalidRequest e) {
      fail(ctx, e.error());
      return;
    }
    String model = turn.chat().model();
    if (turn.chat().stream()) {
      turns.stream(ctx, turn, gate -> new MessagesSse(ctx.response(), gate, turn.requestId(), model), this::fail);
    } else {
      turns.whole(ctx, turn)
        .onSuccess(answer -> respond.respond(ctx, 200, MessageObjects.message(turn.requestId(), model, answer.result())))
        .onFailure(failure -> fail(ctx, failure));
    }
  }

  private void fail(RoutingContext ctx, Throwable failure) {
    BusFailure details = BusFailure.from(failure);
    if (details.retryAfterSeconds() > 0 && !ctx.response().headWritten()) {
      ctx.response().putHeader("retry-after", String.valueOf(details.retryAfterSeconds()));
    }
    fail(ctx, details.error());
  }

  private void fail(RoutingContext ctx, ApiError error) {
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    ctx.response().putHeader("request-id", ctx.<String>get(ConnectionVerticle.REQUEST_ID));
    respond.respond(ctx, error.status(), MessageObjects.error(error, ctx.get(ConnectionVerticle.REQUEST_ID)));
  }
}

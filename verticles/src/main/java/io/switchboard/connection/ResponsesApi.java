package io.switchboard.connection;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.chat.ChatCompletionRequest;
import io.switchboard.chat.ChatPipeline;
import io.switchboard.chat.InvalidRequest;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.eventbus.PreferLocal;
import io.switchboard.governance.Caller;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiConsumer;

/**
 * OpenAI's Responses API: {@code POST /v1/responses} translated onto a Chat Completions turn (see
 * {@link ResponsesRequest}), whole or streamed as typed events ({@link ResponsesSse}); {@code GET} and
 * {@code DELETE /v1/responses/{id}}. A response is stored (unless {@code store: false}) in the session store, per
 * tenant and for the session TTL, with the conversation it ended, so that {@code previous_response_id} carries that
 * conversation on through any provider. Errors in OpenAI's shape.
 */
final class ResponsesApi {
  private static final Logger LOG = LoggerFactory.getLogger(ResponsesApi.class);
  private static final long STORE_TIMEOUT_MILLIS = 2_000;
  private static final HexFormat HEX = HexFormat.of();

  private final Vertx vertx;
  private final SwitchboardConfig.Server settings;
  private final TranslatedTurns turns;
  private final BiConsumer<RoutingContext, Throwable> fail;
  private final BiConsumer<RoutingContext, JsonObject> respond;

  ResponsesApi(Vertx vertx, SwitchboardConfig.Server settings, TranslatedTurns turns,
               BiConsumer<RoutingContext, Throwable> fail, BiConsumer<RoutingContext, JsonObject> respond) {
    this.vertx = vertx;
    this.settings = settings;
    this.turns = turns;
    this.fail = fail;
    this.respond = respond;
  }

  void mount(Router router, Handler<RoutingContext> authenticate) {
    router.post("/v1/responses")
      .handler(BodyHandler.create(false).setBodyLimit(settings.maxBodyBytes()))
      .handler(authenticate)
      .handler(this::create);
    router.get("/v1/responses/:id").handler(authenticate).handler(this::retrieve);
    router.delete("/v1/responses/:id").handler(authenticate).handler(this::delete);
  }

  /** 128 random bits: a response id names a stored conversation, so it must not collide. */
  static String newResponseId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "resp_" + HEX.toHexDigits(random.nextLong()) + HEX.toHexDigits(random.nextLong());
  }

  private void create(RoutingContext ctx) {
    ResponsesRequest request;
    try {
      JsonObject body;
      try {
        body = ctx.body().asJsonObject();
      } catch (DecodeException | ClassCastException e) {
        throw InvalidRequest.of("We could not parse the JSON body of your request: it must be a JSON object.", null);
      }
      if (body == null) {
        throw InvalidRequest.of("The request body is empty; it must be a JSON object.", null);
      }
      request = ResponsesRequest.parse(body);
    } catch (InvalidRequest e) {
      fail.accept(ctx, e.error().toException());
      return;
    }
    String tenant = ctx.<Caller>get(ConnectionVerticle.CALLER).tenant();
    previous(tenant, request.previousResponseId())
      .compose(previous -> {
        ChatCompletionRequest chat = request.chat(previous);
        ChatPipeline.ChatTurn turn = turns.turn(ctx, chat);
        List<JsonObject> conversation = new ArrayList<>(previous);
        conversation.addAll(request.messages());
        String id = newResponseId();
        long createdAt = System.currentTimeMillis() / 1000;
        if (request.stream()) {
          turns.stream(ctx, turn, gate -> new ResponsesSse(ctx.response(), gate, id, createdAt, request,
            (response, message) -> store(tenant, request, response, conversation, message)), fail);
          return Future.succeededFuture();
        }
        return turns.whole(ctx, turn).compose(answer -> {
          JsonObject response = ResponseObjects.response(id, createdAt, request,
            ResponseObjects.output(id, answer.result().message()), answer.result());
          return store(tenant, request, response, conversation, answer.result().message())
            .onComplete(stored -> respond.accept(ctx, response));
        });
      })
      .onFailure(failure -> fail.accept(ctx, failure instanceof InvalidRequest invalid
        ? invalid.error().toException() : failure));
  }

  /** The stored conversation a continuation goes on from (empty without one). */
  private Future<List<JsonObject>> previous(String tenant, String responseId) {
    if (responseId == null) {
      return Future.succeededFuture(List.of());
    }
    return stored(tenant, responseId).map(record -> {
      if (record == null) {
        throw new InvalidRequest(new ApiError(400, "invalid_request_error", "previous_response_not_found",
          "Previous response with id '" + echoed(responseId) + "' not found.", "previous_response_id"));
      }
      List<JsonObject> messages = new ArrayList<>();
      record.getJsonArray("messages", new JsonArray()).forEach(message -> messages.add((JsonObject) message));
      return messages;
    });
  }

  /**
   * Stores a finished response with its conversation; a store that fails costs the client the continuation, not the
   * answer (logged). Nothing is stored with {@code store: false}.
   */
  private Future<Void> store(String tenant, ResponsesRequest request, JsonObject response,
                             List<JsonObject> conversation, JsonObject answer) {
    if (!request.store()) {
      return Future.succeededFuture();
    }
    JsonArray messages = new JsonArray(new ArrayList<>(conversation)).add(answer);
    JsonObject record = new JsonObject().put("response", response).put("messages", messages);
    return PreferLocal.request(vertx.eventBus(), Addresses.SESSION_RESPONSE_PUT,
        new JsonObject().put("tenant", tenant).put("id", response.getString("id")).put("record", record),
        STORE_TIMEOUT_MILLIS)
      .<Void>mapEmpty()
      .onFailure(failure -> LOG.warn("response {} could not be stored ({})", response.getString("id"),
        ApiError.from(failure).message()));
  }

  private Future<JsonObject> stored(String tenant, String responseId) {
    return PreferLocal.<JsonObject>request(vertx.eventBus(), Addresses.SESSION_RESPONSE_GET,
      new JsonObject().put("tenant", tenant).put("id", responseId), STORE_TIMEOUT_MILLIS).map(reply -> reply.body());
  }

  private void retrieve(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    stored(ctx.<Caller>get(ConnectionVerticle.CALLER).tenant(), id)
      .onSuccess(record -> {
        if (record == null) {
          fail.accept(ctx, notFound(id).toException());
        } else {
          respond.accept(ctx, record.getJsonObject("response"));
        }
      })
      .onFailure(failure -> fail.accept(ctx, failure));
  }

  private void delete(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    PreferLocal.<Boolean>request(vertx.eventBus(), Addresses.SESSION_RESPONSE_DELETE,
        new JsonObject().put("tenant", ctx.<Caller>get(ConnectionVerticle.CALLER).tenant()).put("id", id),
        STORE_TIMEOUT_MILLIS)
      .onSuccess(reply -> {
        if (Boolean.TRUE.equals(reply.body())) {
          respond.accept(ctx, new JsonObject().put("id", id).put("object", "response.deleted").put("deleted", true));
        } else {
          fail.accept(ctx, notFound(id).toException());
        }
      })
      .onFailure(failure -> fail.accept(ctx, failure));
  }

  private static ApiError notFound(String id) {
    return ApiError.notFound("Response with id '" + echoed(id) + "' not found.");
  }

  /** A client's id echoed cut short, as model names are. */
  private static String echoed(String id) {
    return id.length() > 64 ? id.substring(0, 64) + "…" : id;
  }
}

package io.switchboard.connection;

import io.switchboard.chat.InvalidRequest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.EmbeddingRequest;
import io.switchboard.bus.EmbeddingResult;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.governance.Caller;
import io.switchboard.governance.Governance;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * {@code POST /v1/embeddings} and {@code POST /v1/moderations}: the client's body checked for the shapes OpenAI's API accepts, routed by its model like
 * a chat turn (deployments, retries, fallbacks, breakers, key pools), and the upstream's answer relayed as it wrote it,
 * with only {@code model} set to the public model name. Everything else the client sent goes upstream untouched.
 * A moderations call is the same whole-answer call, served by deployments of mode moderation.
 */
final class EmbeddingsApi {
  /** OpenAI's limit on inputs per request. */
  static final int MAX_INPUTS = 2048;
  private static final Set<String> ENCODINGS = Set.of("float", "base64");
  /** The model OpenAI's moderations endpoint uses when a request names none. */
  static final String DEFAULT_MODERATION_MODEL = "omni-moderation-latest";

  private final MeterRegistry registry;
  private final SwitchboardConfig.Server settings;
  private final BiConsumer<RoutingContext, Throwable> fail;
  private final WholeAnswers answers;
  private final Governance governance;
  /** Prompt tokens per public model, looked up once per model. */
  private final Map<String, Counter> tokens = new HashMap<>();

  /** @param record writes the access log line and request metrics for a finished request */
  EmbeddingsApi(Vertx vertx, MeterRegistry registry, SwitchboardConfig.Server settings,
                BiConsumer<RoutingContext, Throwable> fail, BiConsumer<RoutingContext, Integer> record,
                Governance governance) {
    this.governance = governance;
    this.registry = registry;
    this.settings = settings;
    this.fail = fail;
    this.answers = new WholeAnswers(vertx, record);
  }

  void mount(Router router, Handler<RoutingContext> authenticate) {
    router.post("/v1/embeddings")
      .handler(BodyHandler.create(false).setBodyLimit(settings.maxBodyBytes()))
      .handler(authenticate)
      .handler(ctx -> call(ctx, false));
    router.post("/v1/moderations")
      .handler(BodyHandler.create(false).setBodyLimit(settings.maxBodyBytes()))
      .handler(authenticate)
      .handler(ctx -> call(ctx, true));
  }

  private void call(RoutingContext ctx, boolean moderation) {
    JsonObject body;
    try {
      body = moderation ? moderationChecked(ctx) : checked(ctx);
    } catch (InvalidRequest refused) {
      fail.accept(ctx, refused.error().toException());
      return;
    }
    String model = body.getString("model");
    ctx.put("model", ChatRules.echoed(model));
    Caller tenant = ctx.get(ConnectionVerticle.CALLER);
    String requestId = ctx.get(ConnectionVerticle.REQUEST_ID);
    Map<String, Object> fields = new LinkedHashMap<>(body.getMap());
    fields.remove("model");
    EmbeddingRequest request = moderation
      ? EmbeddingRequest.moderation(requestId, tenant.tenant(), model, new JsonObject(fields),
        settings.requestTimeoutMillis(), tenant.priority())
      : new EmbeddingRequest(requestId, tenant.tenant(), model, new JsonObject(fields),
        settings.requestTimeoutMillis(), tenant.priority());
    answers.cancelWhenClientLeaves(ctx.response(), requestId);
    // admitted like a chat turn (key, allow-lists, request, token and budget limits): the input's estimated tokens
    // reserved, the upstream's count settled
    governance.admit(tenant, model, () -> inputTokens(fields.get("input")), ConnectionVerticle.rateLimitHeaders(ctx.response()))
      .compose(admission -> answers.<EmbeddingResult>route(Addresses.ROUTING_EMBEDDINGS, request)
        .andThen(done -> governance.settle(admission, done.succeeded() ? done.result().body().deployment() : null,
          done.succeeded() ? done.result().body().usage() : null)))
      .onSuccess(reply -> {
        EmbeddingResult result = reply.body();
        if (!moderation) { // a moderation reports no usage
          tokens.computeIfAbsent(model, m -> Counter.builder("switchboard.embeddings.tokens")
            .description("Input tokens of embeddings calls, as the upstream counted them").tag("model", m)
            .register(registry)).increment(result.promptTokens());
        }
        answers.relay(ctx, result.deployment(), "application/json", result.response());
      })
      .onFailure(failure -> fail.accept(ctx, failure));
  }

  /** An input's tokens, estimated as a prompt's are (UTF-8 bytes / 4); token-id arrays count one per id. */
  static long inputTokens(Object input) {
    if (input instanceof String text) {
      return Governance.textTokens(text);
    }
    long tokens = 0;
    if (input instanceof JsonArray items) {
      for (Object item : items) {
        tokens += item instanceof Number ? 1 : inputTokens(item);
      }
    } else if (input instanceof List<?> items) {
      for (Object item : items) {
        tokens += item instanceof Number ? 1 : inputTokens(item);
      }
    } else if (input instanceof JsonObject part) { // a moderation's content part: its text (an image counts 0)
      tokens += inputTokens(part.getValue("text"));
    } else if (input instanceof Map<?, ?> part) {
      tokens += inputTokens(part.get("text"));
    }
    return tokens;
  }

  /**
   * The client's body when it is a moderations request OpenAI's API would accept (input: a string, strings, or
   * content parts), with OpenAI's default model when it names none; an {@link InvalidRequest} otherwise.
   */
  private static JsonObject moderationChecked(RoutingContext ctx) {
    JsonObject body = object(ctx);
    Object model = body.getValue("model");
    if (model == null) {
      body.put("model", DEFAULT_MODERATION_MODEL);
    } else if (!(model instanceof String name) || name.isBlank()) {
      throw InvalidRequest.of("'model' must be a string.", "model");
    }
    Object input = body.getValue("input");
    boolean valid = input instanceof String
      || input instanceof JsonArray array && !array.isEmpty() && array.size() <= MAX_INPUTS
      && array.stream().allMatch(item -> item instanceof String
        || item instanceof JsonObject part && part.getValue("type") instanceof String);
    if (!valid) {
      throw InvalidRequest.of(input == null ? "'input' is required." : "'input' must be a string, an array of "
        + "strings, or an array of content parts ({\"type\": \"text\" | \"image_url\", ...}).", "input");
    }
    return body;
  }

  private static JsonObject object(RoutingContext ctx) {
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (DecodeException | ClassCastException e) {
      throw InvalidRequest.of("We could not parse the JSON body of your request: it must be a JSON object.", null);
    }
    if (body == null) {
      throw InvalidRequest.of("The request body is empty; it must be a JSON object.", null);
    }
    return body;
  }

  /** The client's body when it is an embeddings request OpenAI's API would accept; an {@link InvalidRequest} otherwise. */
  private static JsonObject checked(RoutingContext ctx) {
    JsonObject body = object(ctx);
    if (!(body.getValue("model") instanceof String model) || model.isBlank()) {
      throw InvalidRequest.of("'model' is required and must be a string.", "model");
    }
    checkInput(body.getValue("input"));
    Object encoding = body.getValue("encoding_format");
    if (encoding != null && !ENCODINGS.contains(encoding)) {
      throw InvalidRequest.of("'encoding_format' must be 'float' or 'base64'.", "encoding_format");
    }
    Object dimensions = body.getValue("dimensions");
    if (dimensions != null && !((dimensions instanceof Integer || dimensions instanceof Long)
      && ((Number) dimensions).longValue() >= 1 && ((Number) dimensions).longValue() <= Integer.MAX_VALUE)) {
      throw InvalidRequest.of("'dimensions' must be a positive integer.", "dimensions");
    }
    Object user = body.getValue("user");
    if (user != null && !(user instanceof String)) {
      throw InvalidRequest.of("'user' must be a string.", "user");
    }
    return body;
  }

  /** A non-empty string, or a non-empty array of non-empty strings, of token ids, or of non-empty token arrays. */
  private static void checkInput(Object input) {
    String shapes = "'input' must be a non-empty string, or a non-empty array of non-empty strings, of token ids, "
      + "or of non-empty arrays of token ids.";
    if (input instanceof String text) {
      if (text.isEmpty()) {
        throw InvalidRequest.of(shapes, "input");
      }
      return;
    }
    if (!(input instanceof JsonArray array) || array.isEmpty()) {
      throw InvalidRequest.of(input == null ? "'input' is required." : shapes, "input");
    }
    if (array.size() > MAX_INPUTS) {
      throw InvalidRequest.of("'input' may hold at most " + MAX_INPUTS + " items; it has " + array.size() + ".", "input");
    }
    Object first = array.getValue(0);
    for (int i = 0; i < array.size(); i++) {
      Object item = array.getValue(i);
      boolean sameShape = first instanceof String ? item instanceof String text && !text.isEmpty()
        : first instanceof JsonArray ? item instanceof JsonArray tokens && !tokens.isEmpty() && tokenIds(tokens)
        : tokenId(item);
      if (!sameShape) {
        throw InvalidRequest.of(shapes + " input[" + i + "] is not.", "input");
      }
    }
  }

  private static boolean tokenIds(JsonArray tokens) {
    for (Object token : tokens) {
      if (!tokenId(token)) {
        return false;
      }
    }
    return true;
  }

  private static boolean tokenId(Object value) {
    return (value instanceof Integer || value instanceof Long) && ((Number) value).longValue() >= 0
      && ((Number) value).longValue() <= Integer.MAX_VALUE;
  }

  /** A request the API refuses; no stack trace is kept. */
}

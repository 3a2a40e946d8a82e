package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.parsetools.RecordParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Consumer;

/**
 * Calls one deployment of an OpenAI-compatible chat completions API over a pooled HTTP client. Streams are
 * relayed chunk by chunk as they arrive. Every outcome is a {@link ChatResult} or an {@link ApiError}; the
 * error text never carries a key or the upstream's URL.
 */
final class OpenAiUpstream {
  private static final Logger LOG = LoggerFactory.getLogger(OpenAiUpstream.class);

  private final Vertx vertx;
  private final Deployment deployment;
  private final String url;
  private final HttpClientAgent client;
  private int nextKey;

  OpenAiUpstream(Vertx vertx, Deployment deployment, String baseUrl) {
    this.vertx = vertx;
    this.deployment = deployment;
    this.url = baseUrl + "/chat/completions";
    this.client = vertx.httpClientBuilder()
      .with(new HttpClientOptions()
        .setConnectTimeout((int) deployment.connectTimeoutMillis())
        .setKeepAlive(true)
        .setTcpNoDelay(true)
        .setSsl(baseUrl.startsWith("https"))
        .setTrustAll(false))
      .with(new PoolOptions().setHttp1MaxSize(deployment.maxConnections()).setMaxWaitQueueSize(
        deployment.maxConnections() * 16))
      .build();
  }

  Future<Void> close() {
    return client.close();
  }

  /**
   * One call. For a stream, {@code onDelta} gets each piece of text as it arrives and the result counts them;
   * otherwise the result carries the whole answer.
   */
  Future<ChatResult> call(ChatRequest request, Consumer<String> onDelta) {
    long timeout = Math.min(request.timeoutMillis(), deployment.timeoutMillis());
    Promise<ChatResult> promise = Promise.promise();
    Buffer body = requestBody(request).toBuffer();
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url)
      .putHeader("content-type", "application/json")
      .putHeader("accept", request.stream() ? "text/event-stream" : "application/json");
    String key = nextKey();
    if (key != null) {
      options.putHeader("authorization", "Bearer " + key);
    }
    HttpClientRequest[] inFlight = new HttpClientRequest[1];
    long timer = vertx.setTimer(timeout, t -> {
      if (promise.tryFail(ApiError.upstreamTimeout("The model did not answer within " + timeout + " ms.")
        .toException()) && inFlight[0] != null) {
        inFlight[0].reset();
      }
    });
    client.request(options)
      .compose(req -> {
        inFlight[0] = req;
        return req.send(body);
      })
      .compose(response -> response.statusCode() / 100 == 2
        ? (request.stream() ? relay(request, response, onDelta) : parseCompletion(request, response))
        : response.body().compose(errorBody -> Future.failedFuture(upstreamError(response, errorBody).toException())))
      .onComplete(ar -> {
        vertx.cancelTimer(timer);
        if (ar.succeeded()) {
          promise.tryComplete(ar.result());
        } else {
          promise.tryFail(asApiError(ar.cause()).toException());
        }
      });
    return promise.future();
  }

  private JsonObject requestBody(ChatRequest request) {
    JsonObject body = request.options() == null ? new JsonObject() : new JsonObject(request.options());
    JsonArray messages = new JsonArray();
    for (ChatMessage message : request.messages()) {
      JsonObject m = new JsonObject().put("role", message.role()).put("content", message.content());
      if (message.name() != null) {
        m.put("name", message.name());
      }
      messages.add(m);
    }
    body.put("model", deployment.upstreamModel()).put("messages", messages).put("stream", request.stream());
    if (request.stream()) {
      body.put("stream_options", new JsonObject().put("include_usage", true));
    }
    return body;
  }

  private Future<ChatResult> parseCompletion(ChatRequest request, HttpClientResponse response) {
    return response.body().map(buffer -> {
      JsonObject json = buffer.toJsonObject();
      JsonObject choice = json.getJsonArray("choices").getJsonObject(0);
      JsonObject message = choice.getJsonObject("message");
      JsonObject usage = json.getJsonObject("usage", new JsonObject());
      return new ChatResult(request.requestId(), message.getString("content", ""),
        choice.getString("finish_reason", "stop"), usage.getInteger("prompt_tokens", 0),
        usage.getInteger("completion_tokens", 0), 0, deployment.id());
    });
  }

  /** Relays an SSE stream: one {@code onDelta} per content chunk; the stream must end with [DONE]. */
  private Future<ChatResult> relay(ChatRequest request, HttpClientResponse response, Consumer<String> onDelta) {
    Promise<ChatResult> done = Promise.promise();
    StreamState state = new StreamState();
    RecordParser lines = RecordParser.newDelimited("\n", response);
    lines.handler(line -> {
      if (done.future().isComplete()) {
        return;
      }
      int length = line.length();
      if (length > 0 && line.getByte(length - 1) == '\r') {
        length--;
      }
      if (length < 5 || line.getByte(0) != 'd' || !line.getString(0, 5).equals("data:")) {
        return; // blank separators, comments (keep-alives) and other SSE fields
      }
      String data = line.getString(5, length).trim();
      if (data.equals("[DONE]")) {
        state.sawDone = true;
        return;
      }
      try {
        state.accept(new JsonObject(data), onDelta);
      } catch (DecodeException | ClassCastException e) {
        done.tryFail(ApiError.upstreamFailed("The model sent a malformed stream chunk.").toException());
      } catch (UpstreamStreamError e) {
        done.tryFail(ApiError.upstreamFailed("The model reported an error mid-stream: " + e.getMessage())
          .toException());
      }
    });
    lines.exceptionHandler(e -> done.tryFail(ApiError.upstreamFailed(
      "The model's stream broke off after " + state.chunks + " chunks.").toException()));
    lines.endHandler(v -> {
      if (state.sawDone || state.finishReason != null) {
        done.tryComplete(new ChatResult(request.requestId(), null, state.finishReason, state.promptTokens,
          state.completionTokens > 0 ? state.completionTokens : state.chunks, state.chunks, deployment.id()));
      } else {
        done.tryFail(ApiError.upstreamFailed("The model's stream ended early after " + state.chunks
          + " chunks.").toException());
      }
    });
    return done.future();
  }

  private String nextKey() {
    if (deployment.apiKeys().isEmpty()) {
      return null;
    }
    nextKey = (nextKey + 1) % deployment.apiKeys().size();
    return deployment.apiKeys().get(nextKey);
  }

  private ApiError upstreamError(HttpClientResponse response, Buffer body) {
    int status = response.statusCode();
    String upstreamMessage = null;
    try {
      JsonObject error = body.toJsonObject().getJsonObject("error");
      upstreamMessage = error == null ? null : error.getString("message");
    } catch (RuntimeException ignored) {
      // not JSON: say only the status
    }
    LOG.warn("deployment {} answered HTTP {}", deployment.id(), status);
    if (status == 401 || status == 403) {
      return ApiError.upstreamFailed("The model's provider rejected the gateway's credentials.");
    }
    if (status == 429) {
      return new ApiError(429, "rate_limit_error", "upstream_rate_limited",
        "The model's provider is rate limiting; retry shortly.", null);
    }
    if (status >= 400 && status < 500 && status != 404 && status != 408) {
      return new ApiError(400, "invalid_request_error", "upstream_rejected",
        upstreamMessage != null ? upstreamMessage : "The model rejected the request (HTTP " + status + ").", null);
    }
    return ApiError.upstreamFailed("The model failed (HTTP " + status + ").");
  }

  private ApiError asApiError(Throwable failure) {
    if (failure instanceof io.vertx.core.eventbus.ReplyException) {
      return ApiError.from(failure);
    }
    if (failure instanceof DecodeException || failure instanceof NullPointerException
      || failure instanceof ClassCastException || failure instanceof IndexOutOfBoundsException) {
      return ApiError.upstreamFailed("The model sent a response that is not a chat completion.");
    }
    LOG.warn("deployment {} unreachable: {}", deployment.id(), failure.getClass().getSimpleName());
    return ApiError.upstreamFailed("The model could not be reached.");
  }

  private static final class UpstreamStreamError extends RuntimeException {
    UpstreamStreamError(String message) {
      super(message, null, false, false);
    }
  }

  /** What a stream has said so far. */
  private static final class StreamState {
    int chunks;
    int promptTokens;
    int completionTokens;
    String finishReason;
    boolean sawDone;

    void accept(JsonObject chunk, Consumer<String> onDelta) {
      JsonObject error = chunk.getJsonObject("error");
      if (error != null) {
        throw new UpstreamStreamError(String.valueOf(error.getString("message")));
      }
      JsonObject usage = chunk.getJsonObject("usage");
      if (usage != null) {
        promptTokens = usage.getInteger("prompt_tokens", 0);
        completionTokens = usage.getInteger("completion_tokens", 0);
      }
      JsonArray choices = chunk.getJsonArray("choices");
      if (choices == null || choices.isEmpty()) {
        return;
      }
      JsonObject choice = choices.getJsonObject(0);
      String reason = choice.getString("finish_reason");
      if (reason != null) {
        finishReason = reason;
      }
      JsonObject delta = choice.getJsonObject("delta");
      String content = delta == null ? null : delta.getString("content");
      if (content != null && !content.isEmpty()) {
        onDelta.accept(content);
        chunks++;
      }
    }
  }
}

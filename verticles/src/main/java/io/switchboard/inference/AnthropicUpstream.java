package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Set;
import java.util.function.Consumer;

/**
 * Anthropic's Messages API ({@code POST /v1/messages}), translated to and from the OpenAI shapes the gateway
 * speaks: system prompts go to the top-level {@code system}, turns alternate user/assistant, {@code max_tokens}
 * is always sent, and stop reasons and usage come back as OpenAI's. Streams are relayed delta by delta.
 */
final class AnthropicUpstream implements Upstream {
  static final String API_VERSION = "2023-06-01";
  static final int DEFAULT_MAX_TOKENS = 4096;
  /** Error types of an in-stream {@code error} event that a later try (here or elsewhere) can get past. */
  private static final Set<String> TRANSIENT_ERRORS = Set.of("overloaded_error", "api_error", "rate_limit_error",
    "timeout_error");

  private final Deployment deployment;
  private final String url;
  private final HttpClientAgent client;
  private final KeyPool keys;

  AnthropicUpstream(Deployment deployment, String baseUrl, HttpClientAgent client) {
    this.deployment = deployment;
    this.url = baseUrl + "/messages";
    this.client = client;
    this.keys = new KeyPool(deployment.id(), deployment.apiKeys());
  }

  @Override
  public Future<Void> close() {
    return client.close();
  }

  @Override
  public Future<ChatResult> call(ChatRequest request, Consumer<String> onDelta, CancelSignal cancel) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url)
      .putHeader("content-type", "application/json")
      .putHeader("anthropic-version", API_VERSION)
      .putHeader("accept", request.stream() ? "text/event-stream" : "application/json");
    int key = -1;
    if (keys.needsKeys()) {
      try {
        key = keys.acquire(System.currentTimeMillis());
      } catch (UpstreamFailure noKey) {
        return Future.failedFuture(noKey);
      }
      options.putHeader("x-api-key", keys.key(key));
    }
    int usedKey = key;
    Buffer body;
    try {
      body = requestBody(request).toBuffer();
    } catch (RuntimeException badOptions) { // options that are not a JSON object
      return Future.failedFuture(UpstreamFailure.fatal(ApiError.badRequest("The request's parameters could not "
        + "be translated for this model.", null)));
    }
    return client.request(options)
      .compose(req -> {
        cancel.whenCancelled(req::reset);
        return req.send(body);
      })
      .compose(response -> {
        if (response.statusCode() / 100 == 2) {
          return request.stream()
            ? StreamRelay.relay(request, deployment.id(), response, cancel, new StreamState(onDelta))
            : parseMessage(request, response);
        }
        return response.body().compose(errorBody -> {
          noteKeyTrouble(usedKey, response);
          return Future.failedFuture(HttpFailures.fromStatus(response.statusCode(), errorBody,
            response.getHeader("retry-after")));
        });
      })
      .recover(failure -> Future.failedFuture(failure instanceof UpstreamFailure ? failure
        : HttpFailures.unreachable()));
  }

  private void noteKeyTrouble(int key, HttpClientResponse response) {
    if (key < 0) {
      return;
    }
    int status = response.statusCode();
    if (status == 401 || status == 403) {
      keys.refused(key, status);
    } else if (status == 429) {
      keys.rateLimited(key, System.currentTimeMillis(), HttpFailures.retryAfterMillis(response.getHeader("retry-after")));
    }
  }

  /** The Messages request for an OpenAI-shaped turn; OpenAI-only options are left out rather than refused. */
  JsonObject requestBody(ChatRequest request) {
    JsonObject options = request.options() == null ? new JsonObject() : new JsonObject(request.options());
    StringBuilder system = new StringBuilder();
    JsonArray messages = new JsonArray();
    String lastRole = null;
    StringBuilder turn = null;
    for (ChatMessage message : request.messages()) {
      if (message.isSystem()) {
        system.append(system.length() > 0 ? "\n\n" : "").append(message.content());
        continue;
      }
      if (message.content().isBlank()) {
        continue; // Anthropic refuses empty turns
      }
      String role = message.role().equals("assistant") ? "assistant" : "user"; // tool output is read as user text
      if (role.equals(lastRole)) {
        turn.append("\n\n").append(message.content()); // turns must alternate
      } else {
        if (turn != null) {
          messages.add(new JsonObject().put("role", lastRole).put("content", turn.toString()));
        }
        turn = new StringBuilder(message.content());
        lastRole = role;
      }
    }
    if (turn != null) {
      messages.add(new JsonObject().put("role", lastRole).put("content", turn.toString()));
    }

    JsonObject body = new JsonObject().put("model", deployment.upstreamModel());
    if (system.length() > 0) {
      body.put("system", system.toString());
    }
    body.put("messages", messages);
    Number maxTokens = options.getNumber("max_tokens");
    if (maxTokens == null) {
      maxTokens = options.getNumber("max_completion_tokens");
    }
    body.put("max_tokens", maxTokens != null && maxTokens.intValue() > 0 ? maxTokens.intValue() : DEFAULT_MAX_TOKENS);
    Number temperature = options.getNumber("temperature");
    if (temperature != null) {
      body.put("temperature", Math.min(1.0, Math.max(0.0, temperature.doubleValue()))); // OpenAI's 0..2, Anthropic's 0..1
    }
    Number topP = options.getNumber("top_p");
    if (topP != null) {
      body.put("top_p", topP.doubleValue());
    }
    Object stop = options.getValue("stop");
    if (stop instanceof String one) {
      body.put("stop_sequences", new JsonArray().add(one));
    } else if (stop instanceof JsonArray several && !several.isEmpty()) {
      body.put("stop_sequences", several);
    }
    if (options.getValue("user") instanceof String user) {
      body.put("metadata", new JsonObject().put("user_id", user));
    }
    if (request.stream()) {
      body.put("stream", true);
    }
    return body;
  }

  /** Anthropic's stop reason as OpenAI's finish reason. */
  static String finishReason(String stopReason) {
    if (stopReason == null) {
      return "stop";
    }
    return switch (stopReason) {
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> "stop"; // end_turn, stop_sequence, pause_turn
    };
  }

  /** Prompt tokens including the cached part, which Anthropic counts apart. */
  private static int inputTokens(JsonObject usage) {
    return usage.getInteger("input_tokens", 0) + usage.getInteger("cache_creation_input_tokens", 0)
      + usage.getInteger("cache_read_input_tokens", 0);
  }

  private Future<ChatResult> parseMessage(ChatRequest request, HttpClientResponse response) {
    return response.body().compose(buffer -> {
      try {
        JsonObject json = buffer.toJsonObject();
        StringBuilder text = new StringBuilder();
        for (Object block : json.getJsonArray("content")) {
          JsonObject content = (JsonObject) block;
          if ("text".equals(content.getString("type"))) {
            text.append(content.getString("text", ""));
          }
        }
        JsonObject usage = json.getJsonObject("usage", new JsonObject());
        return Future.succeededFuture(new ChatResult(request.requestId(), text.toString(),
          finishReason(json.getString("stop_reason")), inputTokens(usage), usage.getInteger("output_tokens", 0), 0,
          deployment.id(), 0));
      } catch (RuntimeException e) {
        return Future.failedFuture(HttpFailures.malformed("a response that is not a message"));
      }
    });
  }

  /** What a Messages event stream has said so far. Only {@code data:} lines matter: each names its own type. */
  private static final class StreamState implements StreamRelay.Reader {
    private final Consumer<String> onDelta;
    int chunks;
    int promptTokens;
    int completionTokens;
    String stopReason;
    boolean stopped;

    @Override
    public int chunks() {
      return chunks;
    }

    @Override
    public int promptTokens() {
      return promptTokens;
    }

    @Override
    public int completionTokens() {
      return completionTokens;
    }

    @Override
    public String finishReason() {
      return AnthropicUpstream.finishReason(stopReason);
    }

    @Override
    public boolean complete() {
      return stopped;
    }

    StreamState(Consumer<String> onDelta) {
      this.onDelta = onDelta;
    }

    @Override
    public void line(Buffer raw) {
      String line = raw.toString();
      if (!line.startsWith("data:")) {
        return; // event: names, blank separators, comments
      }
      JsonObject event;
      try {
        event = new JsonObject(line.substring(5).trim());
      } catch (RuntimeException e) {
        throw HttpFailures.malformed("a malformed stream event");
      }
      switch (event.getString("type", "")) {
        case "message_start" -> {
          JsonObject message = event.getJsonObject("message");
          JsonObject usage = message == null ? null : message.getJsonObject("usage");
          if (usage != null) {
            promptTokens = inputTokens(usage); // its output_tokens is a placeholder; message_delta has the count
          }
        }
        case "content_block_delta" -> {
          JsonObject delta = event.getJsonObject("delta");
          if (delta != null && "text_delta".equals(delta.getString("type"))) {
            String text = delta.getString("text");
            if (text != null && !text.isEmpty()) {
              chunks++;
              onDelta.accept(text);
            }
          }
        }
        case "message_delta" -> {
          JsonObject delta = event.getJsonObject("delta");
          if (delta != null && delta.getString("stop_reason") != null) {
            stopReason = delta.getString("stop_reason");
          }
          JsonObject usage = event.getJsonObject("usage");
          if (usage != null) {
            completionTokens = usage.getInteger("output_tokens", completionTokens); // cumulative
            if (usage.getInteger("input_tokens") != null) {
              promptTokens = inputTokens(usage);
            }
          }
        }
        case "message_stop" -> stopped = true;
        case "error" -> throw streamError(event.getJsonObject("error"));
        default -> {
          // ping, content_block_start, content_block_stop and event types added later
        }
      }
    }

    private UpstreamFailure streamError(JsonObject error) {
      String type = error == null ? null : error.getString("type");
      String what = type != null && type.matches("[a-z_]{1,40}") ? " (" + type + ")" : "";
      ApiError apiError = ApiError.upstreamFailed("The model's provider failed mid-stream" + what + " after "
        + chunks + " chunks.");
      return type == null || TRANSIENT_ERRORS.contains(type) ? UpstreamFailure.retryable(apiError)
        : UpstreamFailure.fatal(apiError);
    }
  }
}

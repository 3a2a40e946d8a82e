package io.switchboard.inference;

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

import java.util.function.Consumer;

/**
 * The OpenAI chat completions protocol (OpenAI, DeepSeek, GLM, Qwen compatible mode, vLLM, Ollama and the
 * built-in simulator). Streams are relayed chunk by chunk as they arrive.
 */
final class OpenAiUpstream implements Upstream {
  private final Deployment deployment;
  private final String url;
  private final HttpClientAgent client;
  private final KeyPool keys;

  OpenAiUpstream(Deployment deployment, String baseUrl, HttpClientAgent client) {
    this.deployment = deployment;
    this.url = baseUrl + "/chat/completions";
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
      .putHeader("accept", request.stream() ? "text/event-stream" : "application/json");
    int key = -1;
    if (keys.needsKeys()) {
      try {
        key = keys.acquire(System.currentTimeMillis());
      } catch (UpstreamFailure noKey) {
        return Future.failedFuture(noKey);
      }
      options.putHeader("authorization", "Bearer " + keys.key(key));
    }
    int usedKey = key;
    Buffer body = requestBody(request).toBuffer();
    return client.request(options)
      .compose(req -> {
        cancel.whenCancelled(req::reset);
        return req.send(body);
      })
      .compose(response -> {
        if (response.statusCode() / 100 == 2) {
          return request.stream()
            ? StreamRelay.relay(request, deployment.id(), response, cancel, new OpenAiStreamParser(onDelta))
            : parseCompletion(request, response);
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
    return response.body().compose(buffer -> {
      try {
        JsonObject json = buffer.toJsonObject();
        JsonObject choice = json.getJsonArray("choices").getJsonObject(0);
        JsonObject message = choice.getJsonObject("message");
        JsonObject usage = json.getJsonObject("usage", new JsonObject());
        return Future.succeededFuture(new ChatResult(request.requestId(), message.getString("content", ""),
          choice.getString("finish_reason", "stop"), usage.getInteger("prompt_tokens", 0),
          usage.getInteger("completion_tokens", 0), 0, deployment.id(), 0));
      } catch (RuntimeException e) {
        return Future.failedFuture(HttpFailures.malformed("a response that is not a chat completion"));
      }
    });
  }
}

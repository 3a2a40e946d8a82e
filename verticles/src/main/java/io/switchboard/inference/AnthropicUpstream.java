package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Set;

/**
 * Anthropic's Messages API ({@code POST /v1/messages}), translated to and from the OpenAI shapes the gateway
 * speaks: system prompts go to the top-level {@code system}, turns alternate user/assistant, {@code max_tokens}
 * is always sent, and stop reasons and usage come back as OpenAI's. Streams are relayed delta by delta.
 */
final class AnthropicUpstream extends HttpUpstream {
  static final String API_VERSION = "2023-06-01";
  static final int DEFAULT_MAX_TOKENS = 4096;
  /** Error types of an in-stream {@code error} event that a later try (here or elsewhere) can get past. */
  private static final Set<String> TRANSIENT_ERRORS = Set.of("overloaded_error", "api_error", "rate_limit_error",
    "timeout_error");

  AnthropicUpstream(Deployment deployment, String baseUrl, HttpClientAgent client) {
    super(deployment, baseUrl + "/messages", client);
  }

  @Override
  protected void headers(RequestOptions options, String key) {
    options.putHeader("anthropic-version", API_VERSION);
    if (key != null) {
      options.putHeader("x-api-key", key);
    }
  }

  @Override
  protected Buffer body(ChatRequest request) {
    try {
      return requestBody(request).toBuffer();
    } catch (RuntimeException badOptions) { // options of the wrong type
      throw UpstreamFailure.fatal(ApiError.badRequest("The request's parameters could not be translated for this "
        + "model.", null));
    }
  }

  @Override
  protected StreamRelay.Reader streamReader(ChatRequest request, Chunks chunks) {
    return new StreamState(new OpenAiChunks(request), chunks);
  }

  @Override
  protected ChatResult completion(ChatRequest request, Buffer body) {
    return parseMessage(request, body);
  }

  /** The Messages request for an OpenAI-shaped turn; OpenAI-only options are left out rather than refused. */
  JsonObject requestBody(ChatRequest request) {
    JsonObject options = request.options() == null ? new JsonObject() : request.options();
    StringBuilder system = new StringBuilder();
    JsonArray messages = new JsonArray();
    String lastRole = null;
    StringBuilder turn = null;
    for (ChatMessage message : request.messages()) {
      if (message.isSystem()) {
        system.append(system.length() > 0 ? "\n\n" : "").append(message.text());
        continue;
      }
      if (message.text().isBlank()) {
        continue; // Anthropic refuses empty turns
      }
      String role = message.role().equals("assistant") ? "assistant" : "user"; // tool output is read as user text
      if (role.equals(lastRole)) {
        turn.append("\n\n").append(message.text()); // turns must alternate
      } else {
        if (turn != null) {
          messages.add(new JsonObject().put("role", lastRole).put("content", turn.toString()));
        }
        turn = new StringBuilder(message.text());
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

  /** Anthropic's usage in OpenAI's shape: cached prompt tokens are counted in, and named in the details. */
  static JsonObject usage(JsonObject anthropic, int outputTokens) {
    int cacheRead = anthropic.getInteger("cache_read_input_tokens", 0);
    int cacheWrite = anthropic.getInteger("cache_creation_input_tokens", 0);
    int prompt = anthropic.getInteger("input_tokens", 0) + cacheRead + cacheWrite;
    return OpenAiChunks.usage(prompt, outputTokens)
      .put("prompt_tokens_details", new JsonObject().put("cached_tokens", cacheRead))
      .put("cache_creation_input_tokens", cacheWrite).put("cache_read_input_tokens", cacheRead);
  }

  private ChatResult parseMessage(ChatRequest request, Buffer buffer) {
    try {
      JsonObject json = buffer.toJsonObject();
      StringBuilder text = new StringBuilder();
      for (Object block : json.getJsonArray("content")) {
        JsonObject content = (JsonObject) block;
        if ("text".equals(content.getString("type"))) {
          text.append(content.getString("text", ""));
        }
      }
      JsonObject anthropicUsage = json.getJsonObject("usage", new JsonObject());
      JsonObject usage = usage(anthropicUsage, anthropicUsage.getInteger("output_tokens", 0));
      String finishReason = finishReason(json.getString("stop_reason"));
      JsonObject message = new JsonObject().put("role", "assistant").put("content", text.toString())
        .putNull("refusal");
      return new ChatResult(request.requestId(), new OpenAiChunks(request).completion(message, finishReason, usage),
        message, finishReason, usage, 0, deployment.id(), 0);
    } catch (RuntimeException e) {
      throw HttpFailures.malformed("a response that is not a message");
    }
  }

  /**
   * What a Messages event stream has said so far, each event translated into the OpenAI chunk it stands for.
   * Only {@code data:} lines matter: each names its own type.
   */
  private static final class StreamState implements StreamRelay.Reader {
    private final OpenAiChunks shapes;
    private final Chunks out;
    private final MessageAssembler message = new MessageAssembler();
    int chunks;
    JsonObject startUsage = new JsonObject();
    int outputTokens;
    String stopReason;
    boolean stopped;

    StreamState(OpenAiChunks shapes, Chunks out) {
      this.shapes = shapes;
      this.out = out;
    }

    @Override
    public int chunks() {
      return chunks;
    }

    @Override
    public JsonObject usage() {
      return AnthropicUpstream.usage(startUsage, outputTokens);
    }

    @Override
    public String finishReason() {
      return AnthropicUpstream.finishReason(stopReason);
    }

    @Override
    public JsonObject message() {
      return message.toJson();
    }

    @Override
    public boolean complete() {
      return stopped;
    }

    private void send(Buffer chunk, String text, int flags) {
      chunks++;
      out.chunk(chunk, text, flags);
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
          JsonObject start = event.getJsonObject("message");
          JsonObject usage = start == null ? null : start.getJsonObject("usage");
          if (usage != null) {
            startUsage = usage; // its output_tokens is a placeholder; message_delta has the count
          }
          send(shapes.delta(new JsonObject().put("role", "assistant").put("content", ""), null), "", 0);
        }
        case "content_block_delta" -> {
          JsonObject delta = event.getJsonObject("delta");
          if (delta != null && "text_delta".equals(delta.getString("type"))) {
            String text = delta.getString("text");
            if (text != null && !text.isEmpty()) {
              message.content(text);
              send(shapes.delta(new JsonObject().put("content", text), null), text, 0);
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
            outputTokens = usage.getInteger("output_tokens", outputTokens); // cumulative
            if (usage.getInteger("input_tokens") != null) {
              startUsage = startUsage.copy().mergeIn(usage);
            }
          }
        }
        case "message_stop" -> {
          stopped = true;
          send(shapes.delta(new JsonObject(), finishReason()), "", 0);
          send(shapes.usage(usage()), "", io.switchboard.bus.StreamChunk.USAGE_ONLY);
        }
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

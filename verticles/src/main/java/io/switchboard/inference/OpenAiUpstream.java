package io.switchboard.inference;

import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The OpenAI chat completions protocol (OpenAI, DeepSeek, GLM, Qwen compatible mode, vLLM, Ollama and the
 * built-in simulator). The client's request goes on as it was written, but for the deployment's own model name
 * and the usage report the gateway needs; the answer comes back as the upstream wrote it, chunk by chunk.
 */
class OpenAiUpstream extends HttpUpstream {

  private final String embeddingsUrl;
  private final String transcriptionsUrl;

  OpenAiUpstream(Deployment deployment, String baseUrl, HttpClientAgent client, UpstreamSlots slots) {
    this(deployment, baseUrl + "/chat/completions", baseUrl + (deployment.moderation() ? "/moderations"
      : "/embeddings"), baseUrl + "/audio/transcriptions", client, slots);
  }

  /** The same protocol at other endpoints (Azure OpenAI's deployment URLs). */
  OpenAiUpstream(Deployment deployment, String chatUrl, String embeddingsUrl, String transcriptionsUrl,
                 HttpClientAgent client, UpstreamSlots slots) {
    super(deployment, chatUrl, client, slots);
    this.embeddingsUrl = embeddingsUrl;
    this.transcriptionsUrl = transcriptionsUrl;
  }

  @Override
  protected String transcriptionsUrl() {
    return transcriptionsUrl;
  }

  @Override
  protected String embeddingsUrl() {
    return embeddingsUrl;
  }

  @Override
  protected void headers(RequestOptions options, String key) {
    if (key != null) {
      options.putHeader(io.vertx.core.http.HttpHeaders.AUTHORIZATION, "Bearer " + key);
    }
  }

  @Override
  protected Buffer body(ChatRequest request) {
    return requestBody(request, deployment.upstreamModel()).toBuffer();
  }

  /** Every field the client sent, its messages as they are; usage is always asked for on streams (accounting). */
  static JsonObject requestBody(ChatRequest request, String upstreamModel) {
    // a shallow copy: only top-level fields are set here, the client's values go on as they are
    JsonObject body = request.options() == null ? new JsonObject()
      : new JsonObject(new java.util.LinkedHashMap<>(request.options().getMap()));
    JsonArray messages = new JsonArray();
    for (ChatMessage message : request.messages()) {
      messages.add(message.json());
    }
    body.put("model", upstreamModel).put("messages", messages).put("stream", request.stream());
    if (request.stream()) {
      JsonObject streamOptions = body.getValue("stream_options") instanceof JsonObject given ? given.copy()
        : new JsonObject();
      body.put("stream_options", streamOptions.put("include_usage", true));
    } else {
      body.remove("stream_options"); // the API refuses stream_options without stream
    }
    return body;
  }

  @Override
  protected StreamRelay.Reader streamReader(ChatRequest request, Chunks chunks) {
    return new OpenAiStreamReader(Upstream.completionId(request), request.model(), chunks);
  }

  @Override
  protected ChatResult completion(ChatRequest request, Buffer body) {
    return OpenAiCompletion.read(request, deployment.id(), body);
  }
}

package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig.Cloud;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.inference.OpenAiRequests.DataUrl;
import io.switchboard.inference.OpenAiRequests.FunctionTool;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.ReadStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.eventstream.HeaderValue;
import software.amazon.awssdk.eventstream.Message;
import software.amazon.awssdk.eventstream.MessageDecoder;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.switchboard.inference.OpenAiRequests.untranslatable;

/**
 * AWS Bedrock's Converse API ({@code POST /model/{modelId}/converse}, {@code /converse-stream}), translated to and
 * from the OpenAI shapes the gateway speaks: system prompts go to {@code system}, turns alternate user/assistant as
 * content blocks (text, image, document, toolUse, toolResult), tools go to {@code toolConfig}, sampling options to
 * {@code inferenceConfig}; the stream is AWS event-stream framing, decoded by the AWS SDK's decoder. Requests are
 * signed with the AWS SDK's SigV4 signer, with static credentials from the config or the SDK's default chain
 * (resolved off the event loop), or carry a Bedrock API key as a bearer token.
 */
final class BedrockUpstream extends HttpUpstream {
  private static final Logger LOG = LoggerFactory.getLogger(BedrockUpstream.class);
  private static final AwsV4HttpSigner SIGNER = AwsV4HttpSigner.create();
  /** Credentials this close to their expiry are resolved again before signing. */
  private static final long REFRESH_MARGIN_MILLIS = 5 * 60_000;
  /** Exceptions in a stream that a later try (here or elsewhere) can get past. */
  private static final Set<String> TRANSIENT_EXCEPTIONS = Set.of("throttlingException", "internalServerException",
    "serviceUnavailableException", "modelStreamErrorException");

  private final Vertx vertx;
  private final String region;
  private final AwsCredentialsProvider credentials;
  /** The last credentials resolved, reused until close to their expiry (touched on the event loop only). */
  private AwsCredentials resolved;

  BedrockUpstream(Vertx vertx, Deployment deployment, String baseUrl, HttpClientAgent client, UpstreamSlots slots) {
    super(deployment, url(deployment, baseUrl, "converse"), url(deployment, baseUrl, "converse-stream"), client, slots);
    this.vertx = vertx;
    Cloud cloud = deployment.cloud();
    this.region = cloud.awsRegion();
    this.credentials = cloud.awsAccessKeyId() == null ? DefaultCredentialsProvider.builder().build()
      : StaticCredentialsProvider.create(cloud.awsSessionToken() == null
      ? AwsBasicCredentials.create(cloud.awsAccessKeyId(), cloud.awsSecretAccessKey())
      : AwsSessionCredentials.create(cloud.awsAccessKeyId(), cloud.awsSecretAccessKey(), cloud.awsSessionToken()));
  }

  /** The model id (or an inference profile's ARN) is one path segment: its ':' and '/' are encoded. */
  private static String url(Deployment deployment, String baseUrl, String operation) {
    return baseUrl + "/model/" + URLEncoder.encode(deployment.upstreamModel(), StandardCharsets.UTF_8)
      .replace("+", "%20") + "/" + operation;
  }

  @Override
  protected void headers(RequestOptions options, String key) {
    if (key != null) {
      options.putHeader("authorization", "Bearer " + key); // a Bedrock API key: no signing
    }
    if (options.getURI().endsWith("/converse-stream")) {
      options.putHeader("accept", "application/vnd.amazon.eventstream");
    }
  }

  @Override
  protected Future<Void> sign(RequestOptions options, Buffer body, String key) {
    if (key != null) {
      return Future.succeededFuture();
    }
    AwsCredentials current = resolved;
    Future<AwsCredentials> ready = current != null && current.expirationTime()
      .map(expiry -> expiry.toEpochMilli() - System.currentTimeMillis() > REFRESH_MARGIN_MILLIS).orElse(true)
      ? Future.succeededFuture(current)
      // the chain may read files or call a metadata service: never on the event loop
      : vertx.executeBlocking(credentials::resolveCredentials, false)
      .andThen(done -> {
        if (done.succeeded()) {
          resolved = done.result();
        }
      })
      .recover(failure -> {
        LOG.error("deployment {}: no AWS credentials could be resolved ({})", deployment.id(),
          failure.getClass().getSimpleName());
        return Future.failedFuture(UpstreamFailure.retryable(ApiError.upstreamFailed("The gateway has no AWS "
          + "credentials for this model's deployment.")));
      });
    return ready.map(identity -> {
      SdkHttpFullRequest.Builder unsigned = SdkHttpFullRequest.builder().method(SdkHttpMethod.POST)
        .protocol(Boolean.TRUE.equals(options.isSsl()) ? "https" : "http").host(options.getHost())
        .port(options.getPort()).encodedPath(options.getURI());
      options.getHeaders().forEach(header -> unsigned.putHeader(header.getKey(), header.getValue()));
      SdkHttpRequest signed = SIGNER.sign(r -> r.identity(identity).request(unsigned.build())
        .payload(ContentStreamProvider.fromByteArrayUnsafe(body.getBytes()))
        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "bedrock")
        .putProperty(AwsV4HttpSigner.REGION_NAME, region)).request();
      signed.headers().forEach((name, values) -> {
        if (!name.equalsIgnoreCase("host")) { // the HTTP client writes the same Host itself
          options.putHeader(name, values.get(0));
        }
      });
      return null;
    });
  }

  @Override
  public Future<Void> close() {
    if (credentials instanceof AutoCloseable chain) { // the default chain may hold a refreshing thread
      try {
        chain.close();
      } catch (Exception e) {
        LOG.debug("deployment {}: closing the AWS credentials chain failed", deployment.id(), e);
      }
    }
    return super.close();
  }

  @Override
  protected ReadStream<Buffer> records(HttpClientResponse response) {
    return response; // binary frames: the reader decodes them as the bytes come
  }

  @Override
  protected Buffer body(ChatRequest request) {
    return OpenAiRequests.translated(() -> requestBody(request));
  }

  @Override
  protected StreamRelay.Reader streamReader(ChatRequest request, Chunks chunks) {
    return new StreamState(new OpenAiChunks(request), chunks);
  }

  /** The Converse request for an OpenAI-shaped turn; what Converse cannot be told is a clear 400. */
  JsonObject requestBody(ChatRequest request) {
    JsonObject options = request.options() == null ? new JsonObject() : request.options();
    JsonArray system = new JsonArray();
    Turns turns = new Turns();
    Set<String> calledTools = new LinkedHashSet<>();
    List<ChatMessage> messages = request.messages();
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage message = messages.get(i);
      String at = "messages[" + i + "]";
      if (message.isSystem()) {
        if (!message.text().isBlank()) {
          system.add(new JsonObject().put("text", message.text()));
        }
        continue;
      }
      switch (message.role()) {
        case "assistant" -> turns.add("assistant", assistantBlocks(message, at, calledTools));
        case "tool" -> turns.add("user", new JsonArray().add(toolResult(message)));
        case "function" -> throw OpenAiRequests.legacyFunctionMessage(at);
        default -> turns.add("user", userBlocks(message, at));
      }
    }
    turns.openWithUser(new JsonObject().put("text", ".")); // Converse wants the user first
    JsonObject body = new JsonObject().put("messages", turns.toJson("content"));
    if (!system.isEmpty()) {
      body.put("system", system);
    }
    OpenAiRequests.requireOneChoice(options);
    JsonObject inference = new JsonObject();
    Number maxTokens = options.getNumber("max_completion_tokens", options.getNumber("max_tokens"));
    if (maxTokens != null) {
      inference.put("maxTokens", maxTokens.intValue());
    }
    if (options.getNumber("temperature") != null) {
      inference.put("temperature", options.getNumber("temperature").doubleValue());
    }
    if (options.getNumber("top_p") != null) {
      inference.put("topP", options.getNumber("top_p").doubleValue());
    }
    JsonArray stop = OpenAiRequests.stopSequences(options);
    if (stop != null) {
      inference.put("stopSequences", stop);
    }
    if (!inference.isEmpty()) {
      body.put("inferenceConfig", inference);
    }
    tools(options, calledTools, body);
    return body;
  }

  /** OpenAI's function tools and tool_choice as Converse's toolConfig. */
  private static void tools(JsonObject options, Set<String> calledTools, JsonObject body) {
    OpenAiRequests.refuseLegacyFunctions(options);
    JsonArray tools = new JsonArray();
    if (options.getValue("tools") instanceof JsonArray openAiTools) {
      for (int i = 0; i < openAiTools.size(); i++) {
        FunctionTool tool = FunctionTool.of(openAiTools.getValue(i), "tools[" + i + "]");
        JsonObject spec = new JsonObject().put("name", tool.name());
        if (tool.description() != null) {
          spec.put("description", tool.description());
        }
        spec.put("inputSchema", new JsonObject().put("json", tool.parameters() != null ? tool.parameters()
          : new JsonObject().put("type", "object").put("properties", new JsonObject())));
        tools.add(new JsonObject().put("toolSpec", spec));
      }
    }
    Object choice = options.getValue("tool_choice");
    if (tools.isEmpty() || "none".equals(choice)) {
      if (calledTools.isEmpty()) {
        return;
      }
      // Converse refuses toolUse blocks without a toolConfig: declare the tools called earlier
      tools.clear();
      calledTools.forEach(name -> tools.add(new JsonObject().put("toolSpec", new JsonObject().put("name", name)
        .put("inputSchema", new JsonObject().put("json", new JsonObject().put("type", "object"))))));
      choice = null;
    }
    JsonObject config = new JsonObject().put("tools", tools);
    String chosen = OpenAiRequests.chosenFunction(choice);
    if ("required".equals(choice)) {
      config.put("toolChoice", new JsonObject().put("any", new JsonObject()));
    } else if (chosen != null) {
      config.put("toolChoice", new JsonObject().put("tool", new JsonObject().put("name", chosen)));
    } else if (choice != null && !"auto".equals(choice)) {
      throw untranslatable("This tool_choice cannot be sent to this model.", "tool_choice");
    }
    body.put("toolConfig", config);
  }

  private static JsonArray userBlocks(ChatMessage message, String at) {
    JsonArray blocks = new JsonArray();
    JsonArray parts = message.parts();
    if (parts == null) {
      addText(blocks, message.text());
      return blocks;
    }
    for (int i = 0; i < parts.size(); i++) {
      JsonObject part = parts.getJsonObject(i);
      String partAt = at + ".content[" + i + "]";
      switch (part.getString("type", "")) {
        case "text" -> addText(blocks, part.getString("text"));
        case "image_url" -> {
          DataUrl data = DataUrl.of(part.getJsonObject("image_url", new JsonObject()).getString("url", ""),
            partAt + ".image_url.url", "An image", "Bedrock");
          blocks.add(new JsonObject().put("image", new JsonObject().put("format", data.mediaType().replace("image/", ""))
            .put("source", new JsonObject().put("bytes", data.data()))));
        }
        case "file" -> {
          JsonObject file = part.getJsonObject("file", new JsonObject());
          DataUrl data = DataUrl.of(file.getString("file_data", ""), partAt + ".file.file_data", "A file",
            "Bedrock");
          if (!data.mediaType().equals("application/pdf")) {
            throw untranslatable("Only PDF files can be sent to this model.", partAt + ".file.file_data");
          }
          // Converse names every document; a name is letters, digits, spaces, hyphens, parentheses, brackets
          String name = file.getString("filename", "document").replaceAll("\\.pdf$", "")
            .replaceAll("[^A-Za-z0-9 ()\\[\\]-]", "-");
          blocks.add(new JsonObject().put("document", new JsonObject().put("format", "pdf").put("name", name)
            .put("source", new JsonObject().put("bytes", data.data()))));
        }
        default -> throw untranslatable("Content parts of type '" + part.getString("type") + "' cannot be sent "
          + "to this model.", partAt + ".type");
      }
    }
    return blocks;
  }

  /** Converse refuses empty text blocks. */
  private static void addText(JsonArray blocks, String text) {
    if (text != null && !text.isBlank()) {
      blocks.add(new JsonObject().put("text", text));
    }
  }

  private static JsonArray assistantBlocks(ChatMessage message, String at, Set<String> calledTools) {
    JsonArray blocks = new JsonArray();
    JsonArray parts = message.parts();
    if (parts == null) {
      addText(blocks, message.text());
    } else {
      parts.forEach(raw -> addText(blocks, ((JsonObject) raw).getValue("text") instanceof String t ? t : null));
    }
    if (message.json().getValue("tool_calls") instanceof JsonArray calls) {
      for (int i = 0; i < calls.size(); i++) {
        String callAt = at + ".tool_calls[" + i + "]";
        if (!(calls.getValue(i) instanceof JsonObject call) || !(call.getValue("function") instanceof JsonObject fn)) {
          throw untranslatable("Only function tool calls can be sent to this model.", callAt);
        }
        calledTools.add(fn.getString("name"));
        blocks.add(new JsonObject().put("toolUse", new JsonObject()
          .put("toolUseId", AnthropicUpstream.toolUseId(call.getString("id"))).put("name", fn.getString("name"))
          .put("input", OpenAiRequests.toolArguments(fn.getString("arguments"), callAt))));
      }
    }
    return blocks;
  }

  private static JsonObject toolResult(ChatMessage message) {
    String text = message.text();
    return new JsonObject().put("toolResult", new JsonObject()
      .put("toolUseId", AnthropicUpstream.toolUseId(message.json().getString("tool_call_id")))
      .put("content", new JsonArray().add(new JsonObject().put("text", text.isEmpty() ? " " : text))));
  }

  /** Converse's stop reason as OpenAI's finish reason. */
  static String finishReason(String stopReason) {
    if (stopReason == null) {
      return "stop";
    }
    return switch (stopReason) {
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "guardrail_intervened", "content_filtered" -> "content_filter";
      default -> "stop"; // end_turn, stop_sequence
    };
  }

  /** Converse's usage in OpenAI's shape: cache reads and writes are prompt tokens too, and named. */
  static JsonObject usage(JsonObject bedrock) {
    int cacheRead = bedrock.getInteger("cacheReadInputTokens", 0);
    int cacheWrite = bedrock.getInteger("cacheWriteInputTokens", 0);
    return OpenAiChunks.usage(bedrock.getInteger("inputTokens", 0) + cacheRead + cacheWrite,
        bedrock.getInteger("outputTokens", 0))
      .put("prompt_tokens_details", new JsonObject().put("cached_tokens", cacheRead))
      .put("cache_creation_input_tokens", cacheWrite).put("cache_read_input_tokens", cacheRead);
  }

  @Override
  protected ChatResult completion(ChatRequest request, Buffer buffer) {
    JsonObject message = new JsonObject().put("role", "assistant");
    JsonObject usage;
    String finishReason;
    try {
      JsonObject json = buffer.toJsonObject();
      StringBuilder text = new StringBuilder();
      StringBuilder reasoning = new StringBuilder();
      JsonArray toolCalls = new JsonArray();
      for (Object raw : json.getJsonObject("output").getJsonObject("message").getJsonArray("content")) {
        JsonObject block = (JsonObject) raw;
        if (block.getValue("text") instanceof String t) {
          text.append(t);
        } else if (block.getValue("toolUse") instanceof JsonObject use) {
          toolCalls.add(new JsonObject().put("id", use.getString("toolUseId")).put("type", "function")
            .put("function", new JsonObject().put("name", use.getString("name"))
              .put("arguments", use.getJsonObject("input", new JsonObject()).encode())));
        } else if (block.getValue("reasoningContent") instanceof JsonObject thinking
          && thinking.getValue("reasoningText") instanceof JsonObject reasoningText) {
          reasoning.append(reasoningText.getString("text", ""));
        }
      }
      message.put("content", text.length() > 0 || toolCalls.isEmpty() ? text.toString() : null).putNull("refusal");
      if (reasoning.length() > 0) {
        message.put("reasoning_content", reasoning.toString());
      }
      if (!toolCalls.isEmpty()) {
        message.put("tool_calls", toolCalls);
      }
      usage = usage(json.getJsonObject("usage", new JsonObject()));
      finishReason = finishReason(json.getString("stopReason"));
    } catch (RuntimeException e) {
      throw HttpFailures.malformed("a response that is not a Converse answer");
    }
    return new ChatResult(request.requestId(), new OpenAiChunks(request).completion(message, finishReason, usage),
      message, finishReason, usage, 0, deployment.id(), 0);
  }

  /** ConverseStream's event-stream frames, decoded as they arrive and translated into chat.completion.chunks. */
  private static final class StreamState extends TranslatedStream {
    private final MessageAssembler message = new MessageAssembler();
    private final MessageDecoder decoder = new MessageDecoder();
    /** Converse's content block index of each toolUse block, to its OpenAI tool call index. */
    private final Map<Integer, Integer> toolCalls = new HashMap<>();
    private String stopReason;
    private JsonObject usage;

    StreamState(OpenAiChunks shapes, Chunks out) {
      super(shapes, out);
    }

    @Override
    public void line(Buffer bytes) {
      try {
        decoder.feed(bytes.getBytes());
      } catch (RuntimeException badFrame) { // a CRC or length that does not add up
        throw HttpFailures.malformed("a malformed event-stream frame");
      }
      // the decoder hands over the frames it has (an unmodifiable list) and starts a new list of its own
      for (Message frame : decoder.getDecodedMessages()) {
        frame(frame);
      }
    }

    private static String header(Message frame, String name) {
      HeaderValue value = frame.getHeaders().get(name);
      return value == null ? null : value.getString();
    }

    private void frame(Message frame) {
      String type = header(frame, ":message-type");
      JsonObject payload;
      try {
        payload = frame.getPayload().length == 0 ? new JsonObject()
          : new JsonObject(new String(frame.getPayload(), StandardCharsets.UTF_8));
      } catch (RuntimeException e) {
        throw HttpFailures.malformed("a malformed stream event");
      }
      if (!"event".equals(type)) {
        throw streamError("exception".equals(type) ? header(frame, ":exception-type") : header(frame, ":error-code"),
          payload.getString("message"));
      }
      switch (String.valueOf(header(frame, ":event-type"))) {
        case "contentBlockStart" -> {
          JsonObject start = payload.getJsonObject("start", new JsonObject());
          if (start.getValue("toolUse") instanceof JsonObject use) {
            role(false);
            int call = toolCalls.size();
            toolCalls.put(payload.getInteger("contentBlockIndex", -1), call);
            message.toolCall(call, use.getString("toolUseId"), use.getString("name"), "");
            sendToolCallStart(call, use.getString("toolUseId"), use.getString("name"), "");
          }
        }
        case "contentBlockDelta" -> delta(payload.getInteger("contentBlockIndex", -1),
          payload.getJsonObject("delta", new JsonObject()));
        case "messageStop" -> {
          stopReason = payload.getString("stopReason", "end_turn");
          role(true);
          sendFinish(finishReason());
        }
        case "metadata" -> {
          if (payload.getValue("usage") instanceof JsonObject given) {
            usage = BedrockUpstream.usage(given);
            sendUsage(usage);
          }
        }
        default -> {
          // messageStart (the role, sent with the first block), contentBlockStop, event types added later
        }
      }
    }

    private void delta(int index, JsonObject delta) {
      if (delta.getValue("text") instanceof String text && !text.isEmpty()) {
        role(true);
        message.content(text);
        sendText(text);
      } else if (delta.getValue("toolUse") instanceof JsonObject use) {
        Integer call = toolCalls.get(index);
        if (call == null) {
          throw HttpFailures.malformed("a tool input delta outside a toolUse block");
        }
        String fragment = use.getString("input", "");
        if (!fragment.isEmpty()) {
          message.toolCall(call, null, null, fragment);
          sendToolCallArguments(call, fragment);
        }
      } else if (delta.getValue("reasoningContent") instanceof JsonObject reasoning
        && reasoning.getValue("text") instanceof String text && !text.isEmpty()) {
        role(false);
        message.text("reasoning_content", text);
        sendReasoning(text);
      }
    }

    private UpstreamFailure streamError(String type, String providerMessage) {
      String what = type != null && type.matches("[A-Za-z]{1,60}") ? " (" + type + ")" : "";
      if ("validationException".equals(type) && providerMessage != null && providerMessage.length() < 500) {
        return UpstreamFailure.fatal(new ApiError(400, "invalid_request_error", "upstream_rejected", providerMessage,
          null));
      }
      ApiError error = ApiError.upstreamFailed("The model's provider failed mid-stream" + what + " after " + chunks()
        + " chunks.");
      return type == null || TRANSIENT_EXCEPTIONS.contains(type) ? UpstreamFailure.retryable(error)
        : UpstreamFailure.fatal(error);
    }

    @Override
    public JsonObject usage() {
      return usage;
    }

    @Override
    public String finishReason() {
      return BedrockUpstream.finishReason(stopReason);
    }

    @Override
    public JsonObject message() {
      return message.toJson();
    }

    @Override
    public boolean complete() {
      return stopReason != null;
    }
  }
}

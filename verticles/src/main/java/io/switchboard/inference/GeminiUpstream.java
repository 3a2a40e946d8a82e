package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.inference.OpenAiRequests.DataUrl;
import io.switchboard.inference.OpenAiRequests.FunctionTool;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.switchboard.inference.OpenAiRequests.untranslatable;

/**
 * Google's Gemini API ({@code models/{model}:generateContent}, {@code :streamGenerateContent?alt=sse}), translated to
 * and from the OpenAI shapes the gateway speaks: system prompts go to {@code systemInstruction}, turns become
 * {@code contents} of user and model parts (text, inline data, functionCall, functionResponse), tools become
 * {@code functionDeclarations}, sampling options {@code generationConfig}; answers come back as OpenAI's message,
 * finish reason and usage, streamed or whole. Image URLs are not fetched: only inline (data:) images go up.
 */
final class GeminiUpstream extends HttpUpstream {
  /** Finish reasons that mean the answer was cut by Google's filters: OpenAI's content_filter. */
  private static final Set<String> FILTERED = Set.of("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT",
    "SPII", "IMAGE_SAFETY", "LANGUAGE");
  /** Between a tool call's id and the thought signature Gemini wants back with it. */
  static final String SIGNATURE_MARK = "__thought__";

  GeminiUpstream(Deployment deployment, String baseUrl, HttpClientAgent client, UpstreamSlots slots) {
    super(deployment, url(deployment, baseUrl, ":generateContent"),
      url(deployment, baseUrl, ":streamGenerateContent?alt=sse"), client, slots);
  }

  private static String url(Deployment deployment, String baseUrl, String method) {
    return baseUrl + "/v1beta/models/" + URLEncoder.encode(deployment.upstreamModel(), StandardCharsets.UTF_8)
      + method;
  }

  @Override
  protected void headers(RequestOptions options, String key) {
    if (key != null) {
      options.putHeader("x-goog-api-key", key);
    }
  }

  /** Google refuses a bad API key with a 400 whose ErrorInfo says API_KEY_INVALID: a refused key, as a 401 is. */
  @Override
  protected int status(int status, Buffer errorBody) {
    if (status == 400 && errorBody.length() < 10_000 && errorBody.toString().contains("\"API_KEY_INVALID\"")) {
      return 401;
    }
    return status;
  }

  @Override
  protected Buffer body(ChatRequest request) {
    return OpenAiRequests.translated(() -> requestBody(request));
  }

  @Override
  protected StreamRelay.Reader streamReader(ChatRequest request, Chunks chunks) {
    return new StreamState(new OpenAiChunks(request), Upstream.completionId(request), chunks);
  }

  @Override
  protected ChatResult completion(ChatRequest request, Buffer body) {
    JsonObject json;
    try {
      json = body.toJsonObject();
    } catch (RuntimeException e) {
      throw HttpFailures.malformed("a response that is not a GenerateContentResponse");
    }
    Answer answer = new Answer(Upstream.completionId(request));
    answer.read(json, null);
    JsonObject message = answer.message.toJson().put("refusal", null);
    String finishReason = answer.finishReason();
    JsonObject usage = answer.usage;
    return new ChatResult(request.requestId(), new OpenAiChunks(request).completion(message, finishReason, usage),
      message, finishReason, usage, 0, deployment.id(), 0);
  }

  /** The generateContent request for an OpenAI-shaped turn; what Gemini cannot be told is a clear 400. */
  JsonObject requestBody(ChatRequest request) {
    JsonObject options = request.options() == null ? new JsonObject() : request.options();
    JsonArray system = new JsonArray();
    Turns contents = new Turns();
    Map<String, String> toolNames = new HashMap<>();
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
        case "assistant" -> contents.add("model", modelParts(message, at, toolNames));
        case "tool" -> contents.add("user", new JsonArray().add(functionResponse(message, at, toolNames)));
        case "function" -> throw OpenAiRequests.legacyFunctionMessage(at);
        default -> contents.add("user", userParts(message, at));
      }
    }
    JsonObject body = new JsonObject().put("contents", contents.toJson("parts"));
    if (!system.isEmpty()) {
      body.put("systemInstruction", new JsonObject().put("parts", system));
    }
    tools(options, body);
    JsonObject config = generationConfig(options);
    if (!config.isEmpty()) {
      body.put("generationConfig", config);
    }
    return body;
  }

  private static JsonObject generationConfig(JsonObject options) {
    JsonObject config = new JsonObject();
    OpenAiRequests.requireOneChoice(options);
    copyNumber(options, "temperature", config, "temperature");
    copyNumber(options, "top_p", config, "topP");
    copyNumber(options, "presence_penalty", config, "presencePenalty");
    copyNumber(options, "frequency_penalty", config, "frequencyPenalty");
    if (options.getNumber("seed") != null) {
      config.put("seed", options.getNumber("seed").longValue());
    }
    Number maxTokens = options.getNumber("max_completion_tokens", options.getNumber("max_tokens"));
    if (maxTokens != null) {
      config.put("maxOutputTokens", maxTokens.intValue());
    }
    JsonArray stop = OpenAiRequests.stopSequences(options);
    if (stop != null) {
      config.put("stopSequences", stop);
    }
    if (options.getValue("response_format") instanceof JsonObject format) {
      switch (format.getString("type", "text")) {
        case "json_object" -> config.put("responseMimeType", "application/json");
        case "json_schema" -> {
          config.put("responseMimeType", "application/json");
          JsonObject schema = format.getJsonObject("json_schema", new JsonObject()).getJsonObject("schema");
          if (schema != null) {
            config.put("responseJsonSchema", schema); // JSON Schema as written; responseSchema is an OpenAPI subset
          }
        }
        default -> {
          // text: Gemini's default
        }
      }
    }
    if (options.getValue("reasoning_effort") instanceof String effort) {
      Integer budget = effort.equals("none") ? Integer.valueOf(0) : AnthropicUpstream.THINKING_BUDGETS.get(effort);
      if (budget != null) {
        config.put("thinkingConfig", new JsonObject().put("thinkingBudget", budget));
      }
    }
    return config;
  }

  private static void copyNumber(JsonObject from, String field, JsonObject to, String as) {
    Number value = from.getNumber(field);
    if (value != null) {
      to.put(as, value.doubleValue());
    }
  }

  /** OpenAI's function tools and tool_choice as Gemini's functionDeclarations and functionCallingConfig. */
  private static void tools(JsonObject options, JsonObject body) {
    OpenAiRequests.refuseLegacyFunctions(options);
    JsonArray declarations = new JsonArray();
    if (options.getValue("tools") instanceof JsonArray tools) {
      for (int i = 0; i < tools.size(); i++) {
        FunctionTool tool = FunctionTool.of(tools.getValue(i), "tools[" + i + "]");
        JsonObject declaration = new JsonObject().put("name", tool.name());
        if (tool.description() != null) {
          declaration.put("description", tool.description());
        }
        if (tool.parameters() != null) {
          declaration.put("parametersJsonSchema", tool.parameters());
        }
        declarations.add(declaration);
      }
    }
    if (!declarations.isEmpty()) {
      body.put("tools", new JsonArray().add(new JsonObject().put("functionDeclarations", declarations)));
    }
    Object choice = options.getValue("tool_choice");
    String chosen = OpenAiRequests.chosenFunction(choice);
    JsonObject calling = null;
    if (choice instanceof String mode) {
      calling = new JsonObject().put("mode", switch (mode) {
        case "none" -> "NONE";
        case "required" -> "ANY";
        default -> "AUTO";
      });
    } else if (chosen != null) {
      calling = new JsonObject().put("mode", "ANY").put("allowedFunctionNames", new JsonArray().add(chosen));
    } else if (choice != null) {
      throw untranslatable("This tool_choice cannot be sent to this model.", "tool_choice");
    }
    if (calling != null && !declarations.isEmpty()) {
      body.put("toolConfig", new JsonObject().put("functionCallingConfig", calling));
    }
  }

  private static JsonArray userParts(ChatMessage message, String at) {
    JsonArray parts = new JsonArray();
    JsonArray content = message.parts();
    if (content == null) {
      addText(parts, message.text());
      return parts;
    }
    for (int i = 0; i < content.size(); i++) {
      JsonObject part = content.getJsonObject(i);
      String partAt = at + ".content[" + i + "]";
      switch (part.getString("type", "")) {
        case "text" -> addText(parts, part.getString("text"));
        case "image_url" -> parts.add(inline(part.getJsonObject("image_url", new JsonObject()).getString("url", ""),
          partAt + ".image_url.url", "An image"));
        case "file" -> parts.add(inline(part.getJsonObject("file", new JsonObject()).getString("file_data", ""),
          partAt + ".file.file_data", "A file"));
        case "input_audio" -> {
          JsonObject audio = part.getJsonObject("input_audio", new JsonObject());
          parts.add(new JsonObject().put("inlineData", new JsonObject()
            .put("mimeType", "audio/" + audio.getString("format", "wav")).put("data", audio.getString("data", ""))));
        }
        default -> throw untranslatable("Content parts of type '" + part.getString("type") + "' cannot be sent "
          + "to this model.", partAt + ".type");
      }
    }
    return parts;
  }

  private static void addText(JsonArray parts, String text) {
    if (text != null && !text.isEmpty()) {
      parts.add(new JsonObject().put("text", text));
    }
  }

  /** A base64 data URL as Gemini's inlineData; a web URL is refused, as the gateway does not fetch it. */
  private static JsonObject inline(String url, String at, String what) {
    DataUrl data = DataUrl.of(url, at, what, "Gemini");
    return new JsonObject().put("inlineData", new JsonObject().put("mimeType", data.mediaType())
      .put("data", data.data()));
  }

  private static JsonArray modelParts(ChatMessage message, String at, Map<String, String> toolNames) {
    JsonArray parts = new JsonArray();
    JsonArray content = message.parts();
    if (content == null) {
      addText(parts, message.text());
    } else {
      content.forEach(raw -> addText(parts, ((JsonObject) raw).getValue("text") instanceof String t ? t : null));
    }
    if (message.json().getValue("tool_calls") instanceof JsonArray calls) {
      for (int i = 0; i < calls.size(); i++) {
        String callAt = at + ".tool_calls[" + i + "]";
        if (!(calls.getValue(i) instanceof JsonObject call) || !(call.getValue("function") instanceof JsonObject fn)) {
          throw untranslatable("Only function tool calls can be sent to this model.", callAt);
        }
        String id = call.getString("id", "");
        toolNames.put(id, fn.getString("name"));
        JsonObject part = new JsonObject().put("functionCall", new JsonObject().put("name", fn.getString("name"))
          .put("args", OpenAiRequests.toolArguments(fn.getString("arguments"), callAt)));
        int mark = id.indexOf(SIGNATURE_MARK);
        if (mark >= 0) {
          part.put("thoughtSignature", id.substring(mark + SIGNATURE_MARK.length()));
        }
        parts.add(part);
      }
    }
    return parts;
  }

  /** A tool result, named by the function it answers (Gemini matches by name, not by id); JSON objects go as they are. */
  private static JsonObject functionResponse(ChatMessage message, String at, Map<String, String> toolNames) {
    String name = toolNames.get(message.json().getString("tool_call_id", ""));
    if (name == null) {
      throw untranslatable("A tool message must answer a tool call of an earlier assistant message.",
        at + ".tool_call_id");
    }
    String text = message.text();
    JsonObject response;
    try {
      response = text.trim().startsWith("{") ? new JsonObject(text) : new JsonObject().put("content", text);
    } catch (RuntimeException notJson) {
      response = new JsonObject().put("content", text);
    }
    return new JsonObject().put("functionResponse", new JsonObject().put("name", name).put("response", response));
  }

  /** OpenAI's finish reason for Gemini's; null while the answer goes on. */
  static String finishReason(String reason, boolean calledTools) {
    if (reason == null) {
      return null;
    }
    if (FILTERED.contains(reason)) {
      return "content_filter";
    }
    return switch (reason) {
      case "MAX_TOKENS" -> "length";
      case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS" -> throw UpstreamFailure.retryable(
        ApiError.upstreamFailed("The model produced an unusable function call (" + reason + ")."));
      default -> calledTools ? "tool_calls" : "stop"; // STOP, OTHER, FINISH_REASON_UNSPECIFIED
    };
  }

  /** {@code usageMetadata} in OpenAI's shape: thoughts count as completion tokens, cached ones are named. */
  static JsonObject usage(JsonObject metadata) {
    int prompt = metadata.getInteger("promptTokenCount", 0) + metadata.getInteger("toolUsePromptTokenCount", 0);
    int thoughts = metadata.getInteger("thoughtsTokenCount", 0);
    int completion = metadata.getInteger("candidatesTokenCount", 0) + thoughts;
    return OpenAiChunks.usage(prompt, completion)
      .put("prompt_tokens_details", new JsonObject().put("cached_tokens",
        metadata.getInteger("cachedContentTokenCount", 0)))
      .put("completion_tokens_details", new JsonObject().put("reasoning_tokens", thoughts));
  }

  /**
   * What the answer has said so far, from one GenerateContentResponse or a stream of them (each adds parts; the
   * last has the finish reason and usage). Tool calls get ids here (Gemini names calls, it does not number them),
   * with the call's thought signature carried inside the id so that it comes back with the call.
   */
  private static class Answer {
    final MessageAssembler message = new MessageAssembler();
    private final String callIdPrefix;
    int toolCalls;
    String reason;
    JsonObject usage;

    /** Call ids unique to the turn, as OpenAI's are: an agent may key its calls by id over many turns. */
    Answer(String completionId) {
      String turn = completionId.replaceAll("[^A-Za-z0-9]", "");
      this.callIdPrefix = "call_" + turn.substring(Math.max(0, turn.length() - 16)) + "_";
    }

    /** Reads one response; {@code stream} (null for a whole answer) hears of each new part as a chunk. */
    void read(JsonObject response, StreamState stream) {
      if (response.getValue("error") instanceof JsonObject error) {
        int code = error.getInteger("code", 500);
        ApiError apiError = ApiError.upstreamFailed("The model's provider failed mid-stream ("
          + error.getString("status", "error").replaceAll("[^A-Z_]", "") + ").");
        throw code == 429 || code >= 500 ? UpstreamFailure.retryable(apiError) : UpstreamFailure.fatal(apiError);
      }
      if (response.getValue("usageMetadata") instanceof JsonObject metadata) {
        usage = GeminiUpstream.usage(metadata);
      }
      JsonArray candidates = response.getJsonArray("candidates");
      if (candidates == null || candidates.isEmpty()) {
        JsonObject feedback = response.getJsonObject("promptFeedback");
        String blocked = feedback == null ? null : feedback.getString("blockReason");
        if (blocked != null) {
          throw UpstreamFailure.fatal(new ApiError(400, "invalid_request_error", "content_filter",
            "The model's provider refused the prompt (" + blocked.replaceAll("[^A-Z_]", "") + ").", "messages"));
        }
        if (stream == null) {
          throw HttpFailures.malformed("a response without candidates");
        }
        return; // a usage-only event
      }
      JsonObject candidate = candidates.getJsonObject(0);
      JsonObject content = candidate.getJsonObject("content");
      JsonArray parts = content == null ? null : content.getJsonArray("parts");
      if (parts != null) {
        for (Object raw : parts) {
          part((JsonObject) raw, stream);
        }
      }
      if (candidate.getString("finishReason") != null) {
        reason = GeminiUpstream.finishReason(candidate.getString("finishReason"), toolCalls > 0);
      }
    }

    private void part(JsonObject part, StreamState stream) {
      if (part.getValue("functionCall") instanceof JsonObject call) {
        int index = toolCalls++;
        String id = call.getValue("id") instanceof String given ? given : callIdPrefix + index;
        if (part.getValue("thoughtSignature") instanceof String signature) {
          id += SIGNATURE_MARK + signature;
        }
        String name = call.getString("name");
        String arguments = call.getJsonObject("args", new JsonObject()).encode();
        message.toolCall(index, id, name, arguments);
        if (stream != null) {
          stream.toolCall(index, id, name, arguments);
        }
      } else if (part.getValue("text") instanceof String text && !text.isEmpty()) {
        boolean thought = Boolean.TRUE.equals(part.getValue("thought"));
        if (thought) {
          message.text("reasoning_content", text);
        } else {
          message.content(text);
        }
        if (stream != null) {
          stream.text(thought, text);
        }
      }
    }

    String finishReason() {
      return reason == null ? (toolCalls > 0 ? "tool_calls" : "stop") : reason;
    }
  }

  /** A stream of {@code data:} events, each a GenerateContentResponse, translated into chat.completion.chunks. */
  private static final class StreamState extends TranslatedStream {
    private final Answer answer;
    private boolean finished;

    StreamState(OpenAiChunks shapes, String completionId, Chunks out) {
      super(shapes, out);
      this.answer = new Answer(completionId);
    }

    @Override
    public void line(Buffer raw) {
      String line = raw.toString().trim();
      if (!line.startsWith("data:") || finished) {
        return;
      }
      JsonObject event;
      try {
        event = new JsonObject(line.substring(5).trim());
      } catch (RuntimeException e) {
        throw HttpFailures.malformed("a malformed stream event");
      }
      answer.read(event, this);
      if (answer.reason != null) {
        finished = true;
        role(true);
        sendFinish(answer.reason);
        if (answer.usage != null) {
          sendUsage(answer.usage);
        }
      }
    }

    void text(boolean thought, String text) {
      role(!thought);
      if (thought) {
        sendReasoning(text);
      } else {
        sendText(text);
      }
    }

    void toolCall(int index, String id, String name, String arguments) {
      role(false);
      sendToolCallStart(index, id, name, arguments);
    }

    @Override
    public JsonObject usage() {
      return answer.usage;
    }

    @Override
    public String finishReason() {
      return answer.finishReason();
    }

    @Override
    public JsonObject message() {
      return answer.message.toJson();
    }

    @Override
    public boolean complete() {
      return finished;
    }
  }
}

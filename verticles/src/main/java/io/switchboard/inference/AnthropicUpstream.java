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

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.switchboard.inference.OpenAiRequests.untranslatable;

/**
 * Anthropic's Messages API ({@code POST /v1/messages}), translated to and from the OpenAI shapes the gateway
 * speaks: system prompts go to the top-level {@code system}, turns alternate user/assistant as content blocks
 * (text, image, document, tool_use, tool_result), tools and tool_choice are Anthropic's, {@code max_tokens} is
 * always sent; answers come back as OpenAI's message (content, tool_calls, reasoning_content), finish reason and
 * usage. Streams are translated event by event into {@code chat.completion.chunk}s.
 */
final class AnthropicUpstream extends HttpUpstream {
  static final String API_VERSION = "2023-06-01";
  static final int DEFAULT_MAX_TOKENS = 4096;
  /** Error types of an in-stream {@code error} event that a later try (here or elsewhere) can get past. */
  private static final Set<String> TRANSIENT_ERRORS = Set.of("overloaded_error", "api_error", "rate_limit_error",
    "timeout_error");

  AnthropicUpstream(Deployment deployment, String baseUrl, HttpClientAgent client, UpstreamSlots slots) {
    super(deployment, baseUrl + "/messages", client, slots);
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
    return OpenAiRequests.translated(() -> requestBody(request));
  }

  @Override
  protected StreamRelay.Reader streamReader(ChatRequest request, Chunks chunks) {
    return new StreamState(new OpenAiChunks(request), chunks);
  }

  @Override
  protected ChatResult completion(ChatRequest request, Buffer body) {
    return parseMessage(request, body);
  }

  /**
   * The Messages request for an OpenAI-shaped turn: messages become alternating user/assistant turns of content
   * blocks, tools and tool_choice are translated, OpenAI-only sampling options are left out rather than refused.
   * What Anthropic has no way to say (audio input, file ids, legacy functions, custom tools) is a clear 400.
   */
  JsonObject requestBody(ChatRequest request) {
    JsonObject options = request.options() == null ? new JsonObject() : request.options();
    StringBuilder system = new StringBuilder();
    Turns turns = new Turns();
    Set<String> calledTools = new LinkedHashSet<>();
    List<ChatMessage> messages = request.messages();
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage message = messages.get(i);
      String at = "messages[" + i + "]";
      if (message.isSystem()) {
        String text = message.text();
        if (!text.isBlank()) {
          system.append(system.length() > 0 ? "\n\n" : "").append(text);
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

    JsonObject body = new JsonObject().put("model", deployment.upstreamModel());
    if (system.length() > 0) {
      body.put("system", system.toString());
    }
    body.put("messages", messages(turns));
    Number maxTokens = options.getNumber("max_tokens");
    if (maxTokens == null) {
      maxTokens = options.getNumber("max_completion_tokens");
    }
    boolean maxTokensGiven = maxTokens != null && maxTokens.intValue() > 0;
    body.put("max_tokens", maxTokensGiven ? maxTokens.intValue() : DEFAULT_MAX_TOKENS);
    Number temperature = options.getNumber("temperature");
    if (temperature != null) {
      body.put("temperature", Math.min(1.0, Math.max(0.0, temperature.doubleValue()))); // OpenAI's 0..2, Anthropic's 0..1
    }
    Number topP = options.getNumber("top_p");
    if (topP != null) {
      body.put("top_p", topP.doubleValue());
    }
    JsonArray stop = OpenAiRequests.stopSequences(options);
    if (stop != null) {
      body.put("stop_sequences", stop);
    }
    if (options.getValue("user") instanceof String user) {
      body.put("metadata", new JsonObject().put("user_id", user));
    }
    tools(options, calledTools, body);
    thinking(options, turns, maxTokensGiven, body);
    if (request.stream()) {
      body.put("stream", true);
    }
    return body;
  }

  /** Thinking budgets for OpenAI's reasoning_effort; none and minimal think not at all. */
  static final Map<String, Integer> THINKING_BUDGETS = Map.of("low", 1024, "medium", 4096, "high", 16384);

  /**
   * {@code reasoning_effort} as extended thinking, where Anthropic allows it: never with a forced tool choice, never
   * in the middle of a tool round (Anthropic wants the earlier turn's signed thinking block back, which an OpenAI
   * message cannot carry), always below max_tokens, and then without temperature or a top_p under 0.95.
   */
  private static void thinking(JsonObject options, Turns turns, boolean maxTokensGiven, JsonObject body) {
    Integer budget = options.getValue("reasoning_effort") instanceof String effort ? THINKING_BUDGETS.get(effort) : null;
    JsonObject choice = body.getJsonObject("tool_choice");
    String choiceType = choice == null ? "auto" : choice.getString("type");
    if (budget == null || choiceType.equals("any") || choiceType.equals("tool") || endsWithToolResults(turns)) {
      return;
    }
    int maxTokens = body.getInteger("max_tokens");
    if (!maxTokensGiven) {
      maxTokens = DEFAULT_MAX_TOKENS + budget; // thinking on top of the default answer length
      body.put("max_tokens", maxTokens);
    } else if (budget >= maxTokens) {
      budget = maxTokens - 1; // OpenAI counts reasoning inside max_completion_tokens too
    }
    if (budget < 1024) {
      return; // Anthropic's smallest budget does not fit
    }
    body.put("thinking", new JsonObject().put("type", "enabled").put("budget_tokens", budget));
    body.remove("temperature");
    if (body.getDouble("top_p", 1.0) < 0.95) {
      body.remove("top_p");
    }
  }

  /** OpenAI's function tools and tool_choice as Anthropic's tools and tool_choice. */
  private static void tools(JsonObject options, Set<String> calledTools, JsonObject body) {
    OpenAiRequests.refuseLegacyFunctions(options);
    JsonArray tools = new JsonArray();
    if (options.getValue("tools") instanceof JsonArray openAiTools) {
      for (int i = 0; i < openAiTools.size(); i++) {
        tools.add(AnthropicShapes.tool(openAiTools.getValue(i), "tools[" + i + "]"));
      }
    }
    JsonObject choice = AnthropicShapes.toolChoice(options.getValue("tool_choice"));
    if (tools.isEmpty()) {
      if (calledTools.isEmpty()) {
        return;
      }
      // Anthropic refuses tool_use blocks without tool definitions: declare the tools called earlier, uncallable
      calledTools.forEach(name -> tools.add(new JsonObject().put("name", name)
        .put("input_schema", new JsonObject().put("type", "object"))));
      choice = new JsonObject().put("type", "none");
    }
    body.put("tools", tools);
    if (Boolean.FALSE.equals(options.getValue("parallel_tool_calls")) && !(choice != null
      && "none".equals(choice.getString("type")))) {
      choice = (choice == null ? new JsonObject().put("type", "auto") : choice).put("disable_parallel_tool_use", true);
    }
    if (choice != null) {
      body.put("tool_choice", choice);
    }
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
      switch (part.getString("type")) {
        case "text" -> addText(blocks, part.getString("text"));
        case "image_url" -> blocks.add(AnthropicShapes.imageBlock(part.getJsonObject("image_url").getString("url"), partAt));
        case "file" -> blocks.add(document(part.getJsonObject("file"), partAt));
        case "input_audio" -> throw untranslatable("Audio input cannot be sent to this model.", partAt);
        default -> throw untranslatable("Content parts of type '" + part.getString("type") + "' cannot be sent "
          + "to this model.", partAt + ".type");
      }
    }
    return blocks;
  }

  /** Anthropic refuses text blocks that are empty or only whitespace. */
  private static void addText(JsonArray blocks, String text) {
    if (text != null && !text.isBlank()) {
      blocks.add(new JsonObject().put("type", "text").put("text", text));
    }
  }

  /** A PDF given inline is a document block; a file id means nothing to Anthropic. */
  private static JsonObject document(JsonObject file, String at) {
    String data = file.getValue("file_data") instanceof String d ? d : "";
    String prefix = "data:application/pdf;base64,";
    if (!data.startsWith(prefix)) {
      throw untranslatable("Only PDF files given inline as file_data (data:application/pdf;base64,...) can be sent "
        + "to this model.", at + ".file");
    }
    return new JsonObject().put("type", "document").put("source", new JsonObject().put("type", "base64")
      .put("media_type", "application/pdf").put("data", data.substring(prefix.length())));
  }

  private static JsonArray assistantBlocks(ChatMessage message, String at, Set<String> calledTools) {
    JsonArray blocks = new JsonArray();
    JsonArray parts = message.parts();
    if (parts == null) {
      addText(blocks, message.text());
    } else {
      for (Object raw : parts) {
        JsonObject part = (JsonObject) raw;
        addText(blocks, part.getValue("text") instanceof String text ? text
          : part.getValue("refusal") instanceof String refusal ? refusal : null);
      }
    }
    if (message.json().getValue("function_call") != null) {
      throw untranslatable("Legacy function calls cannot be sent to this model; use tool_calls.", at + ".function_call");
    }
    if (message.json().getValue("tool_calls") instanceof JsonArray calls) {
      for (int i = 0; i < calls.size(); i++) {
        String callAt = at + ".tool_calls[" + i + "]";
        JsonObject call = calls.getJsonObject(i);
        if (!(call.getValue("function") instanceof JsonObject function)) {
          throw untranslatable("Only function tool calls can be sent to this model.", callAt);
        }
        String name = function.getString("name");
        calledTools.add(name);
        blocks.add(new JsonObject().put("type", "tool_use").put("id", toolUseId(call.getString("id")))
          .put("name", name).put("input", OpenAiRequests.toolArguments(function.getString("arguments"), callAt)));
      }
    }
    return blocks;
  }

  private static JsonObject toolResult(ChatMessage message) {
    JsonObject result = new JsonObject().put("type", "tool_result")
      .put("tool_use_id", toolUseId(message.json().getString("tool_call_id")));
    JsonArray parts = message.parts();
    if (parts == null) {
      if (!message.text().isEmpty()) {
        result.put("content", message.text());
      }
    } else {
      JsonArray blocks = new JsonArray();
      parts.forEach(part -> addText(blocks, ((JsonObject) part).getValue("text") instanceof String t ? t : null));
      if (!blocks.isEmpty()) {
        result.put("content", blocks);
      }
    }
    return result;
  }

  /**
   * Anthropic's tool_use ids are [a-zA-Z0-9_-]+; other providers' ids (Kimi's "functions.get_weather:0") are mapped
   * the same way wherever they occur, so a call and its result still match.
   */
  static String toolUseId(String id) {
    return id == null || id.isEmpty() ? "call_" : id.replaceAll("[^a-zA-Z0-9_-]", "_");
  }

  private static boolean endsWithToolResults(Turns turns) {
    Turns.Turn last = turns.last();
    return last != null && last.role().equals("user")
      && "tool_result".equals(last.blocks().getJsonObject(0).getString("type"));
  }

  /**
   * Anthropic's messages: strictly alternating, starting with the user (a greeting gets a user turn before it),
   * a turn of one text block written as its text.
   */
  private static JsonArray messages(Turns turns) {
    turns.openWithUser(new JsonObject().put("type", "text").put("text", "."));
    Turns.Turn last = turns.last();
    if (last != null && last.role().equals("assistant")) {
      trimPrefill(last.blocks());
    }
    JsonArray messages = new JsonArray();
    for (Turns.Turn turn : turns.list()) {
      JsonArray blocks = turn.blocks();
      boolean oneText = blocks.size() == 1 && "text".equals(blocks.getJsonObject(0).getString("type"));
      messages.add(new JsonObject().put("role", turn.role())
        .put("content", oneText ? blocks.getJsonObject(0).getString("text") : blocks));
    }
    return messages;
  }

  /** A last assistant turn is a prefill, which Anthropic refuses to see end in whitespace. */
  private static void trimPrefill(JsonArray blocks) {
    JsonObject last = blocks.getJsonObject(blocks.size() - 1);
    if ("text".equals(last.getString("type"))) {
      blocks.set(blocks.size() - 1, last.copy().put("text", last.getString("text").stripTrailing()));
    }
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

  /**
   * A whole Messages answer as OpenAI's: text blocks are the content, tool_use blocks the tool_calls (their input as
   * the arguments' JSON text), thinking blocks the reasoning_content; redacted thinking and server tool blocks have
   * no OpenAI form and are left out.
   */
  private ChatResult parseMessage(ChatRequest request, Buffer buffer) {
    JsonObject message = new JsonObject().put("role", "assistant");
    JsonObject usage;
    String finishReason;
    try {
      JsonObject json = buffer.toJsonObject();
      StringBuilder text = new StringBuilder();
      StringBuilder reasoning = new StringBuilder();
      JsonArray toolCalls = new JsonArray();
      for (Object raw : json.getJsonArray("content")) {
        JsonObject block = (JsonObject) raw;
        switch (block.getString("type", "")) {
          case "text" -> text.append(block.getString("text", ""));
          case "thinking" -> reasoning.append(block.getString("thinking", ""));
          case "tool_use" -> toolCalls.add(new JsonObject().put("id", block.getString("id")).put("type", "function")
            .put("function", new JsonObject().put("name", block.getString("name"))
              .put("arguments", block.getJsonObject("input", new JsonObject()).encode())));
          default -> {
            // redacted_thinking, server_tool_use, web_search_tool_result, ...
          }
        }
      }
      message.put("content", text.length() > 0 || toolCalls.isEmpty() ? text.toString() : null).putNull("refusal");
      if (reasoning.length() > 0) {
        message.put("reasoning_content", reasoning.toString());
      }
      if (!toolCalls.isEmpty()) {
        message.put("tool_calls", toolCalls);
      }
      JsonObject anthropicUsage = json.getJsonObject("usage", new JsonObject());
      usage = usage(anthropicUsage, anthropicUsage.getInteger("output_tokens", 0));
      finishReason = AnthropicShapes.finishReason(json.getString("stop_reason"));
    } catch (RuntimeException e) {
      throw HttpFailures.malformed("a response that is not a message");
    }
    return new ChatResult(request.requestId(), new OpenAiChunks(request).completion(message, finishReason, usage),
      message, finishReason, usage, 0, deployment.id(), 0);
  }

  /**
   * What a Messages event stream has said so far, each event translated into the OpenAI chunk it stands for.
   * Only {@code data:} lines matter: each names its own type.
   */
  private static final class StreamState extends TranslatedStream {
    private final MessageAssembler message = new MessageAssembler();
    /** Anthropic's block index of each tool_use block, to its OpenAI tool call index (0, 1, ... in order). */
    private final Map<Integer, Integer> toolCalls = new HashMap<>();
    JsonObject startUsage = new JsonObject();
    int outputTokens;
    String stopReason;
    boolean stopped;

    StreamState(OpenAiChunks shapes, Chunks out) {
      super(shapes, out);
    }

    @Override
    public JsonObject usage() {
      return AnthropicUpstream.usage(startUsage, outputTokens);
    }

    @Override
    public String finishReason() {
      return AnthropicShapes.finishReason(stopReason);
    }

    @Override
    public JsonObject message() {
      return message.toJson();
    }

    @Override
    public boolean complete() {
      return stopped;
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
        }
        case "content_block_start" -> blockStart(event.getInteger("index", -1), event.getJsonObject("content_block"));
        case "content_block_delta" -> blockDelta(event.getInteger("index", -1), event.getJsonObject("delta"));
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
          role(true);
          sendFinish(finishReason());
          sendUsage(usage());
        }
        case "error" -> throw streamError(event.getJsonObject("error"));
        default -> {
          // ping, content_block_stop and event types added later
        }
      }
    }

    /** A tool_use block opens a tool call: OpenAI's first delta of a call carries its index, id and name. */
    private void blockStart(int index, JsonObject block) {
      String type = block == null ? "" : block.getString("type", "");
      // the first block shows what the answer opens with: an SDK then assembles content null when it only calls tools
      role(type.equals("text"));
      if (type.equals("tool_use")) {
        int call = toolCalls.size();
        toolCalls.put(index, call);
        String id = block.getString("id");
        String name = block.getString("name");
        message.toolCall(call, id, name, "");
        sendToolCallStart(call, id, name, "");
      } else if (type.equals("text")) {
        text(block.getString("text"));
      } else if (type.equals("thinking")) {
        reasoning(block.getString("thinking"));
      }
    }

    private void blockDelta(int index, JsonObject delta) {
      String type = delta == null ? "" : delta.getString("type", "");
      switch (type) {
        case "text_delta" -> text(delta.getString("text"));
        case "thinking_delta" -> reasoning(delta.getString("thinking"));
        case "input_json_delta" -> {
          Integer call = toolCalls.get(index);
          String fragment = delta.getString("partial_json");
          if (call == null) {
            throw HttpFailures.malformed("a tool input delta outside a tool_use block");
          }
          if (fragment != null && !fragment.isEmpty()) {
            message.toolCall(call, null, null, fragment);
            sendToolCallArguments(call, fragment);
          }
        }
        default -> {
          // signature_delta (the thinking block's seal: no OpenAI form), citations_delta, later types
        }
      }
    }

    private void text(String text) {
      if (text != null && !text.isEmpty()) {
        message.content(text);
        sendText(text);
      }
    }

    private void reasoning(String thinking) {
      if (thinking != null && !thinking.isEmpty()) {
        message.text("reasoning_content", thinking);
        sendReasoning(thinking);
      }
    }

    private UpstreamFailure streamError(JsonObject error) {
      String type = error == null ? null : error.getString("type");
      String what = type != null && type.matches("[a-z_]{1,40}") ? " (" + type + ")" : "";
      ApiError apiError = ApiError.upstreamFailed("The model's provider failed mid-stream" + what + " after "
        + chunks() + " chunks.");
      return type == null || TRANSIENT_ERRORS.contains(type) ? UpstreamFailure.retryable(apiError)
        : UpstreamFailure.fatal(apiError);
    }
  }
}

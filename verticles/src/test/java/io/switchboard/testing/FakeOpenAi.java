package io.switchboard.testing;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * OpenAI's chat completions API on loopback, as far as these tests need it, answering in the real wire format and
 * refusing what the real API refuses: a malformed tool round (a tool message without a matching call, a call
 * without its result) and unknown content part types get the API's own 400s. It records every request body.
 * <ul>
 *   <li>with {@code tools} and the last message not a tool result: a call of the first tool (finish_reason
 *   tool_calls), arguments {@code {"city":"Paris"}};</li>
 *   <li>after a tool result: text that quotes it;</li>
 *   <li>a user text containing "refuse": a refusal; "think": DeepSeek-style {@code reasoning_content} first;</li>
 *   <li>an image part: text that names its URL's scheme; {@code logprobs: true}: logprobs per token;
 *   {@code response_format} json_schema: a JSON object text.</li>
 *   <li>streamed, a user text containing "break": the connection drops after the role chunk and the first
 *   piece (of the tool call, when there are tools) — a provider dying mid-stream.</li>
 * </ul>
 * Every answer carries usage with its details, {@code system_fingerprint} and {@code service_tier}.
 */
public final class FakeOpenAi implements AutoCloseable {
  public static final String FINGERPRINT = "fp_fake_0001";
  private final Vertx vertx = Vertx.vertx();
  private final HttpServer server;
  public final List<JsonObject> requests = new CopyOnWriteArrayList<>();
  /** Each request's W3C traceparent header (empty when it had none), in arrival order. */
  public final List<String> traceparents = new CopyOnWriteArrayList<>();
  /** How long each answer takes (0: at once), so that identical requests are in flight together. */
  public volatile long delayMillis;
  /** The usage every answer reports when set (else one worked out from the request and the answer). */
  public volatile JsonObject usage;
  /** How many of the next requests fail with a 500 (after the delay). */
  public final java.util.concurrent.atomic.AtomicInteger failNext = new java.util.concurrent.atomic.AtomicInteger();

  public FakeOpenAi() throws Exception {
    server = vertx.createHttpServer().requestHandler(this::handle).listen(0, "127.0.0.1")
      .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.actualPort() + "/v1";
  }

  public JsonObject last() {
    return requests.get(requests.size() - 1);
  }

  private void handle(HttpServerRequest request) {
    traceparents.add(String.valueOf(request.getHeader("traceparent") == null ? "" : request.getHeader("traceparent")));
    request.body().onSuccess(buffer -> {
      JsonObject body = buffer.toJsonObject();
      requests.add(body);
      if (delayMillis > 0) {
        vertx.setTimer(delayMillis, t -> answer(request, body));
      } else {
        answer(request, body);
      }
    });
  }

  /** How many requests asked with a user message containing this text. */
  public long calls(String text) {
    return requests.stream().filter(body -> body.getJsonArray("messages").encode().contains(text)).count();
  }

  private void answer(HttpServerRequest request, JsonObject body) {
    if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      request.response().setStatusCode(500).putHeader("content-type", "application/json")
        .end(new JsonObject().put("error", new JsonObject().put("message", "The server had an error.")
          .put("type", "server_error").put("param", null).put("code", null)).encode());
      return;
    }
    String refusal = refusal(body.getJsonArray("messages"));
    if (refusal != null) {
      request.response().setStatusCode(400).putHeader("content-type", "application/json")
        .end(new JsonObject().put("error", new JsonObject().put("message", refusal)
          .put("type", "invalid_request_error").put("param", "messages").put("code", null)).encode());
      return;
    }
    Answer answer = answer(body);
    if (body.getBoolean("stream", false)) {
      stream(request, body, answer);
    } else {
      request.response().putHeader("content-type", "application/json").end(completion(body, answer).encode());
    }
  }

  /** What the real API says about a malformed conversation, or null when it is well formed. */
  static String refusal(JsonArray messages) {
    Set<String> open = new HashSet<>();
    for (int i = 0; i < messages.size(); i++) {
      JsonObject message = messages.getJsonObject(i);
      String role = message.getString("role");
      if (!open.isEmpty() && !role.equals("tool")) {
        return "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
          + "'tool_call_id'. The following tool_call_ids did not have response messages: " + String.join(", ", open);
      }
      if (role.equals("tool")) {
        String id = message.getString("tool_call_id");
        if (id == null || !open.remove(id)) {
          return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
            + "'tool_calls'.";
        }
      }
      if (message.getValue("tool_calls") instanceof JsonArray calls) {
        for (Object call : calls) {
          open.add(((JsonObject) call).getString("id"));
        }
      }
      if (message.getValue("content") instanceof JsonArray parts) {
        for (Object part : parts) {
          String type = ((JsonObject) part).getString("type");
          if (!Set.of("text", "image_url", "input_audio", "file", "refusal").contains(type)) {
            return "Invalid value: '" + type + "'. Supported values are: 'text', 'image_url', 'input_audio', "
              + "'refusal', 'audio', and 'file'.";
          }
        }
      }
    }
    return open.isEmpty() ? null : "An assistant message with 'tool_calls' must be followed by tool messages "
      + "responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
      + String.join(", ", open);
  }

  /** What the answer is, whole. */
  record Answer(String content, JsonArray toolCalls, String refusal, String reasoning, String finishReason) {
  }

  private static Answer answer(JsonObject body) {
    JsonArray messages = body.getJsonArray("messages");
    JsonObject last = messages.getJsonObject(messages.size() - 1);
    if (last.getString("role").equals("tool")) {
      return new Answer("The tool said: " + last.getValue("content") + ".", null, null, null, "stop");
    }
    JsonArray tools = body.getJsonArray("tools");
    if (tools != null && !tools.isEmpty() && !"none".equals(body.getValue("tool_choice"))) {
      String name = tools.getJsonObject(0).getJsonObject("function").getString("name");
      JsonArray calls = new JsonArray().add(new JsonObject().put("id", "call_fake_" + messages.size())
        .put("type", "function").put("function", new JsonObject().put("name", name)
          .put("arguments", "{\"city\":\"Paris\"}")));
      return new Answer(null, calls, null, null, "tool_calls");
    }
    String text = text(last);
    if (text.contains("refuse")) {
      return new Answer(null, null, "I can't help with that.", null, "stop");
    }
    if (body.getValue("response_format") instanceof JsonObject format && "json_schema".equals(format.getString("type"))) {
      return new Answer("{\"city\":\"Paris\",\"sunny\":true}", null, null, null, "stop");
    }
    String seen = "";
    if (last.getValue("content") instanceof JsonArray parts) {
      for (Object part : parts) {
        if ("image_url".equals(((JsonObject) part).getString("type"))) {
          String url = ((JsonObject) part).getJsonObject("image_url").getString("url");
          seen += "I see an image (" + url.substring(0, url.indexOf(':')) + "). ";
        }
      }
    }
    return new Answer(seen + "Paris is the capital of France.", null, null,
      text.contains("think") ? "The user asks about capitals." : null, "stop");
  }

  private static String text(JsonObject message) {
    Object content = message.getValue("content");
    if (content instanceof String s) {
      return s;
    }
    StringBuilder text = new StringBuilder();
    if (content instanceof JsonArray parts) {
      for (Object part : parts) {
        if ("text".equals(((JsonObject) part).getString("type"))) {
          text.append(((JsonObject) part).getString("text"));
        }
      }
    }
    return text.toString();
  }

  private JsonObject usage(JsonObject body, Answer answer) {
    JsonObject fixed = usage;
    if (fixed != null) {
      return fixed.copy();
    }
    int prompt = body.getJsonArray("messages").encode().length() / 4;
    int completion = answer.content() == null ? 12 : answer.content().split(" ").length;
    return new JsonObject().put("prompt_tokens", prompt).put("completion_tokens", completion)
      .put("total_tokens", prompt + completion)
      .put("prompt_tokens_details", new JsonObject().put("cached_tokens", 0).put("audio_tokens", 0))
      .put("completion_tokens_details", new JsonObject().put("reasoning_tokens", answer.reasoning() == null ? 0 : 6)
        .put("audio_tokens", 0).put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0));
  }

  private static JsonObject logprobs(List<String> tokens) {
    JsonArray content = new JsonArray();
    for (int i = 0; i < tokens.size(); i++) {
      JsonArray bytes = new JsonArray();
      for (byte b : tokens.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
        bytes.add(b & 0xff);
      }
      content.add(new JsonObject().put("token", tokens.get(i)).put("logprob", -0.25 * (i + 1)).put("bytes", bytes)
        .put("top_logprobs", new JsonArray()));
    }
    return new JsonObject().put("content", content).put("refusal", null);
  }

  private static List<String> tokens(String text) {
    List<String> tokens = new ArrayList<>();
    for (String word : text.split("(?<= )")) {
      tokens.add(word);
    }
    return tokens;
  }

  private JsonObject completion(JsonObject body, Answer answer) {
    JsonObject message = new JsonObject().put("role", "assistant").put("content", answer.content())
      .put("refusal", answer.refusal()).put("annotations", new JsonArray());
    if (answer.toolCalls() != null) {
      message.put("tool_calls", answer.toolCalls());
    }
    if (answer.reasoning() != null) {
      message.put("reasoning_content", answer.reasoning());
    }
    JsonObject choice = new JsonObject().put("index", 0).put("message", message)
      .put("logprobs", body.getBoolean("logprobs", false) && answer.content() != null
        ? logprobs(tokens(answer.content())) : null)
      .put("finish_reason", answer.finishReason());
    return new JsonObject().put("id", "chatcmpl-fake").put("object", "chat.completion").put("created", 1_700_000_000)
      .put("model", body.getString("model") + "-2024-07-18").put("choices", new JsonArray().add(choice))
      .put("usage", usage(body, answer)).put("service_tier", "default").put("system_fingerprint", FINGERPRINT);
  }

  private void stream(HttpServerRequest request, JsonObject body, Answer answer) {
    HttpServerResponse response = request.response();
    response.setChunked(true).putHeader("content-type", "text/event-stream");
    String model = body.getString("model") + "-2024-07-18";
    boolean logprobs = body.getBoolean("logprobs", false);
    List<JsonObject> deltas = new ArrayList<>();
    deltas.add(new JsonObject().put("role", "assistant").put("content", answer.toolCalls() == null ? "" : null)
      .put("refusal", null));
    if (answer.reasoning() != null) {
      for (String piece : tokens(answer.reasoning())) {
        deltas.add(new JsonObject().put("reasoning_content", piece));
      }
    }
    if (answer.refusal() != null) {
      for (String piece : tokens(answer.refusal())) {
        deltas.add(new JsonObject().put("refusal", piece));
      }
    }
    if (answer.content() != null) {
      for (String piece : tokens(answer.content())) {
        deltas.add(new JsonObject().put("content", piece));
      }
    }
    if (answer.toolCalls() != null) {
      for (int i = 0; i < answer.toolCalls().size(); i++) {
        JsonObject call = answer.toolCalls().getJsonObject(i);
        JsonObject function = call.getJsonObject("function");
        deltas.add(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", i)
          .put("id", call.getString("id")).put("type", "function")
          .put("function", new JsonObject().put("name", function.getString("name")).put("arguments", "")))));
        String arguments = function.getString("arguments");
        for (int at = 0; at < arguments.length(); at += 5) {
          deltas.add(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", i)
            .put("function", new JsonObject().put("arguments", arguments.substring(at,
              Math.min(arguments.length(), at + 5)))))));
        }
      }
    }
    JsonArray messages = body.getJsonArray("messages");
    boolean breaks = text(messages.getJsonObject(messages.size() - 1)).contains("break");
    StringBuilder out = new StringBuilder();
    int sent = 0;
    for (JsonObject delta : deltas) {
      if (breaks && sent++ == 2) {
        response.write(out.toString()).onComplete(v -> request.connection().close());
        return;
      }
      JsonObject choice = new JsonObject().put("index", 0).put("delta", delta)
        .put("logprobs", logprobs && delta.getValue("content") instanceof String piece && !piece.isEmpty()
          ? logprobs(List.of(piece)) : null)
        .put("finish_reason", null);
      out.append(event(model, choice, null));
    }
    out.append(event(model, new JsonObject().put("index", 0).put("delta", new JsonObject()).put("logprobs", null)
      .put("finish_reason", answer.finishReason()), null));
    JsonObject streamOptions = body.getJsonObject("stream_options");
    if (streamOptions != null && streamOptions.getBoolean("include_usage", false)) {
      out.append(event(model, null, usage(body, answer)));
    }
    out.append("data: [DONE]\n\n");
    response.end(out.toString());
  }

  private static String event(String model, JsonObject choice, JsonObject usage) {
    JsonObject chunk = new JsonObject().put("id", "chatcmpl-fake").put("object", "chat.completion.chunk")
      .put("created", 1_700_000_000).put("model", model).put("service_tier", "default")
      .put("system_fingerprint", FINGERPRINT)
      .put("choices", choice == null ? new JsonArray() : new JsonArray().add(choice)).put("usage", usage);
    return "data: " + chunk.encode() + "\n\n";
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}

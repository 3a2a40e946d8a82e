package io.switchboard.inference;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Anthropic's Messages API on loopback, speaking its wire protocol: JSON messages, and event streams shaped like
 * the real ones (message_start, content_block_start, ping, text / input_json / thinking deltas,
 * content_block_stop, message_delta, message_stop). It checks requests the way Anthropic does and refuses what
 * Anthropic refuses with its 400 and error JSON (turns that do not alternate or do not start with the user, a
 * tool_result not answering a tool_use of the turn before, a bad image media type, OpenAI-only fields, ...).
 * It records every request.
 *
 * <p>Answers: given a tool_result, text quoting it; given tools (and a tool_choice that allows them), a call of the
 * first (or the chosen) tool, two with {@link #TWO_TOOLS}; given an image, text describing its source; otherwise
 * {@link #DELTAS} (the whole answer is "Hello, wörld." cut by max_tokens). With thinking enabled a thinking block
 * comes first. The last user turn picks a misbehaviour when it contains one of the markers below.
 */
final class FakeAnthropic implements AutoCloseable {
  static final List<String> DELTAS = List.of("Hello", ", wörld", " 你好", "!\n");
  static final String RATE_LIMITED = "[429]";
  static final String BAD_KEY = "[401]";
  static final String OVERLOADED = "[529]";
  static final String INVALID = "[400]";
  static final String ERROR_EVENT = "[error-event]";
  static final String DROP = "[drop]";
  static final String TRUNCATE = "[truncate]";
  static final String HANG = "[hang]";
  /** With two tools or more (and parallel use allowed): call the first two. */
  static final String TWO_TOOLS = "[two-tools]";
  /** Usage reports prompt tokens read from and written to the cache. */
  static final String CACHED = "[cached]";
  static final String THOUGHT = "The user wants a tool. I will call it.";
  static final String TOOL_INTRO = "Let me check that.";

  record Received(String method, String path, MultiMap headers, JsonObject body) {
    String header(String name) {
      return headers.get(name);
    }
  }

  private final Vertx vertx;
  private final HttpServer server;
  final List<Received> received = new CopyOnWriteArrayList<>();
  /** Completes when the connection of a [hang] request closes. */
  volatile CompletableFuture<Void> hungConnectionClosed = new CompletableFuture<>();

  private FakeAnthropic(Vertx vertx, HttpServer server) {
    this.vertx = vertx;
    this.server = server;
  }

  static FakeAnthropic start(Vertx vertx) throws Exception {
    FakeAnthropic[] self = new FakeAnthropic[1];
    HttpServer server = vertx.createHttpServer().requestHandler(request -> self[0].handle(request));
    self[0] = new FakeAnthropic(vertx, server);
    server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return self[0];
  }

  String baseUrl() {
    return "http://127.0.0.1:" + server.actualPort() + "/v1";
  }

  Received last() {
    return received.get(received.size() - 1);
  }

  @Override
  public void close() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private void handle(HttpServerRequest request) {
    request.body().onSuccess(buffer -> {
      JsonObject body = buffer.toJsonObject();
      received.add(new Received(request.method().name(), request.path(), MultiMap.caseInsensitiveMultiMap()
        .addAll(request.headers()), body));
      HttpServerResponse response = request.response();
      String refusal = AnthropicRules.refusal(body);
      if (refusal != null) {
        error(response, 400).end(errorBody("invalid_request_error", refusal));
        return;
      }
      JsonArray messages = body.getJsonArray("messages");
      JsonObject last = messages.getJsonObject(messages.size() - 1);
      String prompt = text(last.getValue("content"));
      JsonArray answer = answer(body, last);
      if (prompt.contains(RATE_LIMITED)) {
        error(response, 429)
          .putHeader("retry-after", "7");
        response.end(errorBody("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"));
      } else if (prompt.contains(BAD_KEY)) {
        error(response, 401)
          .end(errorBody("authentication_error", "invalid x-api-key " + request.getHeader("x-api-key")));
      } else if (prompt.contains(OVERLOADED)) {
        error(response, 529).end(errorBody("overloaded_error", "Overloaded"));
      } else if (prompt.contains(INVALID)) {
        error(response, 400)
          .end(errorBody("invalid_request_error", "max_tokens: 999999 > 64000, which is the maximum"));
      } else if (answer != null) {
        JsonObject usage = usage(30, 15);
        if (prompt.contains(CACHED)) {
          usage.put("cache_read_input_tokens", 1800).put("cache_creation_input_tokens", 200);
        }
        String stopReason = answer.stream().anyMatch(b -> "tool_use".equals(((JsonObject) b).getString("type")))
          ? "tool_use" : "end_turn";
        if (body.getBoolean("stream", false)) {
          streamBlocks(request, body, answer, stopReason, usage);
        } else {
          response.putHeader("content-type", "application/json").end(message(body, answer, stopReason, usage).encode());
        }
      } else if (body.getBoolean("stream", false)) {
        stream(request, body, prompt);
      } else {
        message(response, body);
      }
    });
  }

  /** The text of a turn's content (a string, or its text blocks joined). */
  static String text(Object content) {
    if (content instanceof String text) {
      return text;
    }
    StringBuilder text = new StringBuilder();
    if (content instanceof JsonArray blocks) {
      for (Object block : blocks) {
        if (block instanceof JsonObject b && "text".equals(b.getValue("type")) && b.getValue("text") instanceof String t) {
          text.append(t);
        }
      }
    }
    return text.toString();
  }

  /** The content blocks the model answers with, when the request is more than text (else null). */
  private static JsonArray answer(JsonObject body, JsonObject last) {
    JsonArray blocks = new JsonArray();
    if (body.getValue("thinking") instanceof JsonObject) {
      blocks.add(new JsonObject().put("type", "thinking").put("thinking", THOUGHT).put("signature", "EqQBCgIYAhIM"));
    }
    JsonArray content = last.getValue("content") instanceof JsonArray array ? array : new JsonArray();
    List<String> results = new ArrayList<>();
    List<String> images = new ArrayList<>();
    for (Object raw : content) {
      JsonObject block = (JsonObject) raw;
      if ("tool_result".equals(block.getString("type"))) {
        results.add(text(block.getValue("content")));
      } else if ("image".equals(block.getString("type"))) {
        JsonObject source = block.getJsonObject("source");
        images.add(source.getString("type").equals("url") ? "at " + source.getString("url")
          : source.getString("media_type") + ", " + source.getString("data").length() + " base64 characters");
      }
    }
    JsonArray tools = body.getJsonArray("tools", new JsonArray());
    JsonObject choice = body.getJsonObject("tool_choice", new JsonObject().put("type", "auto"));
    if (!results.isEmpty()) {
      return blocks.add(textBlock("The tool said: " + String.join("; ", results)));
    }
    if (!tools.isEmpty() && !choice.getString("type").equals("none")) {
      String prompt = text(last.getValue("content"));
      List<JsonObject> called = new ArrayList<>();
      for (Object tool : tools) {
        JsonObject t = (JsonObject) tool;
        if (!choice.getString("type").equals("tool") || t.getString("name").equals(choice.getString("name"))) {
          called.add(t);
        }
      }
      int calls = prompt.contains(TWO_TOOLS) && !choice.getBoolean("disable_parallel_tool_use", false) ? 2 : 1;
      if (choice.getString("type").equals("auto")) {
        blocks.add(textBlock(TOOL_INTRO));
      }
      for (int i = 0; i < Math.min(calls, called.size()); i++) {
        JsonObject tool = called.get(i);
        JsonObject input = new JsonObject();
        JsonObject properties = tool.getJsonObject("input_schema").getJsonObject("properties", new JsonObject());
        properties.fieldNames().stream().findFirst().ifPresent(field -> input.put(field, prompt));
        blocks.add(new JsonObject().put("type", "tool_use").put("id", "toolu_01A09q90qw90lq917835lq9" + i)
          .put("name", tool.getString("name")).put("input", input));
      }
      return blocks;
    }
    if (!images.isEmpty()) {
      return blocks.add(textBlock("I see an image " + String.join(" and an image ", images) + "."));
    }
    return blocks.isEmpty() ? null : blocks.add(textBlock("Hello, wörld."));
  }

  private static JsonObject textBlock(String text) {
    return new JsonObject().put("type", "text").put("text", text);
  }

  private static JsonObject message(JsonObject request, JsonArray content, String stopReason, JsonObject usage) {
    return new JsonObject().put("id", "msg_01XFDUDYJgAACzvnptvVoYEL").put("type", "message")
      .put("role", "assistant").put("model", request.getString("model")).put("content", content)
      .put("stop_reason", stopReason).put("stop_sequence", null).put("usage", usage);
  }

  /** JSON as Anthropic's stream writes tool input: with a space after colons and commas. */
  static String spaced(JsonObject input) {
    StringBuilder json = new StringBuilder("{");
    input.forEach(entry -> json.append(json.length() > 1 ? ", " : "").append(Json.encode(entry.getKey()))
      .append(": ").append(Json.encode(entry.getValue())));
    return json.append('}').toString();
  }

  /** A text cut in pieces of about {@code size} characters, as deltas arrive. */
  private static List<String> pieces(String text, int size) {
    List<String> pieces = new ArrayList<>();
    for (int i = 0; i < text.length(); i += size) {
      pieces.add(text.substring(i, Math.min(text.length(), i + size)));
    }
    return pieces;
  }

  /** The blocks of an answer as Anthropic streams them, in the real order of events. */
  private void streamBlocks(HttpServerRequest request, JsonObject body, JsonArray blocks, String stopReason,
                            JsonObject usage) {
    HttpServerResponse response = request.response().setChunked(true)
      .putHeader("content-type", "text/event-stream; charset=utf-8").putHeader("cache-control", "no-cache");
    List<String> events = new ArrayList<>();
    events.add(event("message_start", new JsonObject().put("message", message(body, new JsonArray(), null,
      usage.copy().put("output_tokens", 1)))));
    for (int index = 0; index < blocks.size(); index++) {
      int i = index;
      JsonObject block = blocks.getJsonObject(i);
      String type = block.getString("type");
      JsonObject start = switch (type) {
        case "text" -> textBlock("");
        case "thinking" -> new JsonObject().put("type", "thinking").put("thinking", "").put("signature", "");
        default -> block.copy().put("input", new JsonObject());
      };
      events.add(event("content_block_start", new JsonObject().put("index", i).put("content_block", start)));
      if (i == 0) {
        events.add(event("ping", new JsonObject()));
      }
      switch (type) {
        case "text" -> pieces(block.getString("text"), 7).forEach(piece -> events.add(delta(i, new JsonObject()
          .put("type", "text_delta").put("text", piece))));
        case "thinking" -> {
          pieces(block.getString("thinking"), 9).forEach(piece -> events.add(delta(i, new JsonObject()
            .put("type", "thinking_delta").put("thinking", piece))));
          events.add(delta(i, new JsonObject().put("type", "signature_delta").put("signature",
            block.getString("signature"))));
        }
        default -> {
          events.add(delta(i, new JsonObject().put("type", "input_json_delta").put("partial_json", "")));
          pieces(spaced(block.getJsonObject("input")), 6).forEach(piece -> events.add(delta(i, new JsonObject()
            .put("type", "input_json_delta").put("partial_json", piece))));
        }
      }
      events.add(event("content_block_stop", new JsonObject().put("index", i)));
    }
    events.add(event("message_delta", new JsonObject()
      .put("delta", new JsonObject().put("stop_reason", stopReason).put("stop_sequence", null))
      .put("usage", usage.copy().put("output_tokens", usage.getInteger("output_tokens")))));
    events.add(event("message_stop", new JsonObject()));
    write(response, events, response::end);
  }

  private static String delta(int index, JsonObject delta) {
    return event("content_block_delta", new JsonObject().put("index", index).put("delta", delta));
  }

  private static HttpServerResponse error(HttpServerResponse response, int status) {
    return response.setStatusCode(status).putHeader("content-type", "application/json")
      .putHeader("request-id", "req_011CTest");
  }

  private static String errorBody(String type, String message) {
    return new JsonObject().put("type", "error")
      .put("error", new JsonObject().put("type", type).put("message", message))
      .put("request_id", "req_011CTest").encode();
  }

  private static JsonObject usage(int input, int output) {
    return new JsonObject().put("input_tokens", input).put("cache_creation_input_tokens", 0)
      .put("cache_read_input_tokens", 0).put("output_tokens", output)
      .put("service_tier", "standard");
  }

  private static void message(HttpServerResponse response, JsonObject request) {
    JsonObject message = new JsonObject().put("id", "msg_01XFDUDYJgAACzvnptvVoYEL").put("type", "message")
      .put("role", "assistant").put("model", request.getString("model"))
      .put("content", new JsonArray()
        .add(new JsonObject().put("type", "text").put("text", "Hello, "))
        .add(new JsonObject().put("type", "text").put("text", "wörld.")))
      .put("stop_reason", "max_tokens").put("stop_sequence", null)
      .put("usage", usage(21, 9));
    response.putHeader("content-type", "application/json").end(message.encode());
  }

  private static String event(String type, JsonObject data) {
    return "event: " + type + "\ndata: " + data.put("type", type).encode() + "\n\n";
  }

  private void stream(HttpServerRequest request, JsonObject body, String prompt) {
    HttpServerResponse response = request.response().setChunked(true)
      .putHeader("content-type", "text/event-stream; charset=utf-8").putHeader("cache-control", "no-cache");
    List<String> events = new ArrayList<>();
    events.add(event("message_start", new JsonObject().put("message", new JsonObject()
      .put("id", "msg_01Stream").put("type", "message").put("role", "assistant").put("model", body.getString("model"))
      .put("content", new JsonArray()).put("stop_reason", null).put("stop_sequence", null).put("usage", usage(25, 1)))));
    events.add(event("content_block_start", new JsonObject().put("index", 0)
      .put("content_block", new JsonObject().put("type", "text").put("text", ""))));
    events.add(event("ping", new JsonObject()));
    int deltas = prompt.contains(HANG) || prompt.contains(ERROR_EVENT) || prompt.contains(DROP) ? 2 : DELTAS.size();
    for (int i = 0; i < deltas; i++) {
      events.add(event("content_block_delta", new JsonObject().put("index", 0)
        .put("delta", new JsonObject().put("type", "text_delta").put("text", DELTAS.get(i)))));
    }
    if (prompt.contains(HANG)) {
      CompletableFuture<Void> closed = hungConnectionClosed;
      request.connection().closeHandler(v -> closed.complete(null));
      write(response, events, () -> { });
      return;
    }
    if (prompt.contains(ERROR_EVENT)) {
      events.add(event("error", new JsonObject().put("error", new JsonObject().put("type", "overloaded_error")
        .put("message", "Overloaded"))));
      write(response, events, response::end);
      return;
    }
    if (prompt.contains(DROP)) {
      write(response, events, () -> request.connection().close());
      return;
    }
    if (!prompt.contains(TRUNCATE)) {
      events.add(event("content_block_stop", new JsonObject().put("index", 0)));
      events.add(event("message_delta", new JsonObject()
        .put("delta", new JsonObject().put("stop_reason", "end_turn").put("stop_sequence", null))
        .put("usage", new JsonObject().put("output_tokens", 12))));
      events.add(event("message_stop", new JsonObject()));
    }
    write(response, events, response::end);
  }

  /**
   * Writes the events a few milliseconds apart, each split in two writes mid-line, so the client sees lines
   * arrive in pieces as it would from a real network.
   */
  private void write(HttpServerResponse response, List<String> events, Runnable then) {
    if (events.isEmpty()) {
      vertx.setTimer(2, t -> then.run());
      return;
    }
    String next = events.get(0);
    int half = next.length() / 2;
    response.write(next.substring(0, half));
    vertx.setTimer(2, t -> {
      response.write(next.substring(half));
      write(response, events.subList(1, events.size()), then);
    });
  }
}

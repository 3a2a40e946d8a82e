package io.switchboard.inference;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Google's Gemini API on loopback: {@code models/{model}:generateContent} and {@code :streamGenerateContent?alt=sse}
 * with its JSON (camelCase), its stream (one GenerateContentResponse per {@code data:} event, usageMetadata on each,
 * the finish reason on the last) and its refusals in Google's error shape
 * ({@code {"error":{"code":400,"message":...,"status":"INVALID_ARGUMENT"}}}): unknown fields, no contents, a role
 * other than user and model, a function call turn not after a user turn, function responses not matching the calls
 * before them, unsupported MIME types, and for gemini-3 models a
 * function call sent back without its thought signature. A bad API key is a 400 whose ErrorInfo says API_KEY_INVALID,
 * as Google answers it.
 *
 * <p>Answers: to function responses, "The tool said: ..."; given function declarations, a call of the first (or the
 * only allowed one) with the last user text as its first property; given an image, its MIME type and size; otherwise
 * {@link #DELTAS}. "[blocked]" in the prompt blocks it (promptFeedback), "[safety]" stops the answer with SAFETY.
 */
final class FakeGemini extends FakeProvider {
  static final Set<String> KEYS = Set.of("AIzaSyA-fake-key-one-000000000000000000", "AIzaSyB-fake-key-two-00000000000000000");
  static final List<String> DELTAS = List.of("Hello", " from", " Gemini", ".");
  static final String SIGNATURE = "CiQB0e2Kb7sEXAMPLEthoughtsignature==";
  static final String BLOCKED = "[blocked]";
  static final String SAFETY = "[safety]";
  /** The stream breaks off after its first event with an error event, as Gemini ends a failing stream. */
  static final String STREAM_ERROR = "[stream-error]";
  private static final Pattern PATH = Pattern.compile("/v1beta/models/([^/:]+):(generateContent|streamGenerateContent)");
  private static final Set<String> FIELDS = Set.of("contents", "systemInstruction", "tools", "toolConfig",
    "generationConfig", "safetySettings", "cachedContent");
  private static final Set<String> CONFIG_FIELDS = Set.of("temperature", "topP", "topK", "maxOutputTokens",
    "stopSequences", "candidateCount", "presencePenalty", "frequencyPenalty", "seed", "responseMimeType",
    "responseSchema", "responseJsonSchema", "thinkingConfig", "responseLogprobs", "logprobs");
  private static final Set<String> MIME_TYPES = Set.of("image/png", "image/jpeg", "image/webp", "image/heic",
    "image/heif", "application/pdf", "audio/wav", "audio/mp3");

  static FakeGemini start(Vertx vertx) throws Exception {
    return new FakeGemini().listen(vertx);
  }

  @Override
  void handle(HttpServerRequest request, Buffer raw) {
    HttpServerResponse response = request.response();
    Matcher path = PATH.matcher(request.path());
    if (!path.matches()) {
      error(response, 404, "NOT_FOUND", "Requested entity was not found.");
      return;
    }
    String key = request.getHeader("x-goog-api-key");
    if (key == null) {
      error(response, 403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without "
        + "established identity). Please use API Key or other form of API consumer identity to call this API.");
      return;
    }
    if (!KEYS.contains(key)) {
      response.setStatusCode(400).putHeader("content-type", "application/json; charset=UTF-8")
        .end(new JsonObject().put("error", new JsonObject().put("code", 400)
          .put("message", "API key not valid. Please pass a valid API key.").put("status", "INVALID_ARGUMENT")
          .put("details", new JsonArray().add(new JsonObject().put("@type", "type.googleapis.com/google.rpc.ErrorInfo")
            .put("reason", "API_KEY_INVALID").put("domain", "googleapis.com")
            .put("metadata", new JsonObject().put("service", "generativelanguage.googleapis.com"))))).encode());
      return;
    }
    JsonObject body = raw.toJsonObject();
    String refusal = refusal(body, path.group(1));
    if (refusal != null) {
      error(response, 400, "INVALID_ARGUMENT", refusal);
      return;
    }
    int failure = queuedFailure();
    if (failure == 429) {
      error(response, 429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
      return;
    } else if (failure != 0) {
      error(response, failure, "UNAVAILABLE", "The model is overloaded. Please try again later.");
      return;
    }
    boolean stream = path.group(2).equals("streamGenerateContent");
    if (stream && !"sse".equals(request.getParam("alt"))) {
      error(response, 400, "INVALID_ARGUMENT", "this fake streams only with alt=sse");
      return;
    }
    JsonArray contents = body.getJsonArray("contents");
    JsonObject last = contents.getJsonObject(contents.size() - 1);
    String prompt = text(last);
    JsonObject usage = new JsonObject().put("promptTokenCount", 12).put("candidatesTokenCount", 6)
      .put("cachedContentTokenCount", 4).put("thoughtsTokenCount", 3).put("totalTokenCount", 21);
    if (prompt.contains(BLOCKED)) {
      json(response, new JsonObject().put("promptFeedback", new JsonObject().put("blockReason", "SAFETY"))
        .put("usageMetadata", new JsonObject().put("promptTokenCount", 12).put("totalTokenCount", 12)), stream);
      return;
    }
    List<JsonArray> pieces = answer(body, last, prompt);
    String finish = prompt.contains(SAFETY) ? "SAFETY" : "STOP";
    if (!stream) {
      JsonArray parts = new JsonArray();
      pieces.forEach(parts::addAll);
      response.putHeader("content-type", "application/json; charset=UTF-8").end(candidate(parts, finish, usage)
        .encode());
      return;
    }
    response.setChunked(true).putHeader("content-type", "text/event-stream");
    for (int i = 0; i < pieces.size(); i++) {
      boolean end = i == pieces.size() - 1;
      JsonObject event = candidate(pieces.get(i), end ? finish : null, end ? usage
        : new JsonObject().put("promptTokenCount", 12).put("totalTokenCount", 12));
      response.write("data: " + event.encode() + "\r\n\r\n");
      if (prompt.contains(STREAM_ERROR)) {
        response.end("data: " + new JsonObject().put("error", new JsonObject().put("code", 503)
          .put("message", "The model is overloaded. Please try again later.").put("status", "UNAVAILABLE")).encode()
          + "\r\n\r\n");
        return;
      }
    }
    response.end();
  }

  /** The answer's parts, in the pieces a stream sends them in. */
  private static List<JsonArray> answer(JsonObject body, JsonObject last, String prompt) {
    List<JsonArray> pieces = new ArrayList<>();
    List<String> results = new ArrayList<>();
    List<String> images = new ArrayList<>();
    for (Object raw : last.getJsonArray("parts")) {
      JsonObject part = (JsonObject) raw;
      if (part.getValue("functionResponse") instanceof JsonObject response) {
        JsonObject result = response.getJsonObject("response");
        results.add(result.containsKey("content") ? String.valueOf(result.getValue("content")) : result.encode());
      } else if (part.getValue("inlineData") instanceof JsonObject data) {
        images.add(data.getString("mimeType") + ", " + data.getString("data").length() + " base64 characters");
      }
    }
    JsonArray declarations = new JsonArray();
    body.getJsonArray("tools", new JsonArray()).forEach(tool ->
      declarations.addAll(((JsonObject) tool).getJsonArray("functionDeclarations", new JsonArray())));
    JsonObject calling = body.getJsonObject("toolConfig", new JsonObject())
      .getJsonObject("functionCallingConfig", new JsonObject());
    if (!results.isEmpty()) {
      pieces.add(texts("The tool said: "));
      pieces.add(texts(String.join("; ", results)));
    } else if (!declarations.isEmpty() && !"NONE".equals(calling.getString("mode"))) {
      JsonArray allowed = calling.getJsonArray("allowedFunctionNames");
      JsonObject declaration = declarations.stream().map(JsonObject.class::cast)
        .filter(d -> allowed == null || allowed.contains(d.getString("name"))).findFirst().orElseThrow();
      JsonObject schema = declaration.getJsonObject("parametersJsonSchema", declaration.getJsonObject("parameters"));
      JsonObject args = new JsonObject();
      schema.getJsonObject("properties").fieldNames().stream().findFirst().ifPresent(p -> args.put(p, prompt));
      pieces.add(new JsonArray().add(new JsonObject().put("functionCall", new JsonObject()
        .put("name", declaration.getString("name")).put("args", args)).put("thoughtSignature", SIGNATURE)));
    } else if (!images.isEmpty()) {
      pieces.add(texts("I see an image " + String.join(" and an image ", images) + "."));
    } else if (prompt.contains(SAFETY)) {
      pieces.add(texts("I can"));
    } else {
      DELTAS.forEach(delta -> pieces.add(texts(delta)));
    }
    return pieces;
  }

  private static JsonArray texts(String text) {
    return new JsonArray().add(new JsonObject().put("text", text));
  }

  private static JsonObject candidate(JsonArray parts, String finish, JsonObject usage) {
    JsonObject candidate = new JsonObject().put("content", new JsonObject().put("parts", parts).put("role", "model"))
      .put("index", 0);
    if (finish != null) {
      candidate.put("finishReason", finish);
    }
    return new JsonObject().put("candidates", new JsonArray().add(candidate)).put("usageMetadata", usage)
      .put("modelVersion", "gemini-2.5-flash").put("responseId", "mBQyaK3xBfyq1dkP7Jf4oQY");
  }

  private static String text(JsonObject content) {
    StringBuilder text = new StringBuilder();
    content.getJsonArray("parts", new JsonArray()).forEach(part -> {
      if (((JsonObject) part).getValue("text") instanceof String t) {
        text.append(t);
      }
    });
    return text.toString();
  }

  /** What Gemini refuses in a request, in its words; null when it takes it. */
  static String refusal(JsonObject body, String model) {
    for (String field : body.fieldNames()) {
      if (!FIELDS.contains(field)) {
        return "Invalid JSON payload received. Unknown name \"" + field + "\": Cannot find field.";
      }
    }
    for (String field : body.getJsonObject("generationConfig", new JsonObject()).fieldNames()) {
      if (!CONFIG_FIELDS.contains(field)) {
        return "Invalid JSON payload received. Unknown name \"" + field + "\" at 'generation_config': Cannot find "
          + "field.";
      }
    }
    JsonArray contents = body.getJsonArray("contents");
    if (contents == null || contents.isEmpty()) {
      return "* GenerateContentRequest.contents: contents is not specified\n";
    }
    int calls = 0;
    String previous = null;
    for (int i = 0; i < contents.size(); i++) {
      JsonObject content = contents.getJsonObject(i);
      String role = content.getString("role", "user");
      if (!role.equals("user") && !role.equals("model")) {
        return "Please use a valid role: user, model.";
      }
      JsonArray parts = content.getJsonArray("parts", new JsonArray());
      if (parts.isEmpty()) {
        return "* GenerateContentRequest.contents[" + i + "].parts: contents.parts must not be empty.\n";
      }
      int turnCalls = 0;
      int responses = 0;
      for (Object raw : parts) {
        JsonObject part = (JsonObject) raw;
        if (part.containsKey("functionCall")) {
          turnCalls++;
          if (model.startsWith("gemini-3") && !part.containsKey("thoughtSignature")) {
            return "Function call is missing a thought_signature in functionCall parts. This is required for tools "
              + "to work correctly, and missing thought_signature may lead to degraded model performance.";
          }
        } else if (part.containsKey("functionResponse")) {
          responses++;
        } else if (part.getValue("inlineData") instanceof JsonObject data
          && !MIME_TYPES.contains(data.getString("mimeType"))) {
          return "Unsupported MIME type: " + data.getString("mimeType");
        }
      }
      if (turnCalls > 0 && !(previous != null && previous.equals("user")) && i > 0) {
        return "Please ensure that function call turn comes immediately after a user turn or after a function "
          + "response turn.";
      }
      if (responses > 0 && (calls == 0 || responses != calls)) {
        return calls == 0 ? "Please ensure that function response turn comes immediately after a function call turn."
          : "Please ensure that the number of function response parts is equal to the number of function call parts "
          + "of the function call turn.";
      }
      calls = turnCalls;
      previous = role;
    }
    return null;
  }

  private static void json(HttpServerResponse response, JsonObject answer, boolean stream) {
    if (stream) {
      response.putHeader("content-type", "text/event-stream").end("data: " + answer.encode() + "\r\n\r\n");
    } else {
      response.putHeader("content-type", "application/json; charset=UTF-8").end(answer.encode());
    }
  }

  private static void error(HttpServerResponse response, int status, String grpcStatus, String message) {
    response.setStatusCode(status).putHeader("content-type", "application/json; charset=UTF-8")
      .end(new JsonObject().put("error", new JsonObject().put("code", status).put("message", message)
        .put("status", grpcStatus)).encode());
  }
}

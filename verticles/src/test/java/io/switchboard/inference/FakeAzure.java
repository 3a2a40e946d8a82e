package io.switchboard.inference;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Azure OpenAI on loopback: OpenAI's wire format at deployment URLs, with Azure's ways. It wants an
 * {@code api-version} it knows (none: 404 "Resource not found"; unknown: 400), an {@code api-key} header or an Entra
 * ID bearer token (else 401 in Azure's error shape), a deployment it has (else 404 DeploymentNotFound); its streams
 * open with a chunk of no choices carrying {@code prompt_filter_results} and its choices carry
 * {@code content_filter_results}, as Azure's do.
 *
 * <p>Answers: to a tool result, "The tool said: ..."; given tools, a call of the first with the last user text as its
 * first property; otherwise {@link #DELTAS}.
 */
final class FakeAzure extends FakeProvider {
  static final String KEY = "0123456789abcdef0123456789abcdef";
  static final String AD_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra.token";
  static final String DEPLOYMENT = "gpt-4o-prod";
  static final List<String> DELTAS = List.of("Hello", " from", " Azure", ".");
  private static final Set<String> API_VERSIONS = Set.of("2024-10-21", "2025-01-01-preview");
  private static final Pattern PATH = Pattern.compile("/openai/deployments/([^/]+)/(chat/completions|embeddings)");
  private static final JsonObject SAFE = new JsonObject()
    .put("hate", new JsonObject().put("filtered", false).put("severity", "safe"))
    .put("self_harm", new JsonObject().put("filtered", false).put("severity", "safe"))
    .put("sexual", new JsonObject().put("filtered", false).put("severity", "safe"))
    .put("violence", new JsonObject().put("filtered", false).put("severity", "safe"));

  static FakeAzure start(Vertx vertx) throws Exception {
    return new FakeAzure().listen(vertx);
  }

  @Override
  void handle(HttpServerRequest request, Buffer raw) {
    HttpServerResponse response = request.response().putHeader("apim-request-id", "4b8d6c3e-0d5b-4a5e-9a7b-1e2f3a4b5c6d");
    Matcher path = PATH.matcher(request.path());
    String version = request.getParam("api-version");
    if (!path.matches() || version == null) {
      error(response, 404, "404", "Resource not found");
      return;
    }
    if (!API_VERSIONS.contains(version)) {
      error(response, 400, "BadRequest", "API version not supported");
      return;
    }
    String key = request.getHeader("api-key");
    String bearer = request.getHeader("authorization");
    if (key == null && bearer == null) {
      error(response, 401, "401", "Access denied due to missing subscription key. Make sure to include subscription "
        + "key when making requests to an API.");
      return;
    }
    if (!(KEY.equals(key) || ("Bearer " + AD_TOKEN).equals(bearer))) {
      error(response, 401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
        + "to provide a valid key for an active subscription and use a correct regional API endpoint for your "
        + "resource.");
      return;
    }
    if (!path.group(1).equals(DEPLOYMENT)) {
      error(response, 404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you "
        + "created the deployment within the last 5 minutes, please wait a moment and try again.");
      return;
    }
    int failure = queuedFailure();
    if (failure == 429) {
      response.putHeader("retry-after", "1");
      error(response, 429, "429", "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
        + version + " have exceeded token rate limit of your current OpenAI S0 pricing tier.");
      return;
    } else if (failure != 0) {
      error(response, failure, "InternalServerError", "The server had an error while processing your request.");
      return;
    }
    JsonObject body = raw.toJsonObject();
    if (path.group(2).equals("embeddings")) {
      response.putHeader("content-type", "application/json").end(new JsonObject().put("object", "list")
        .put("data", new JsonArray().add(new JsonObject().put("object", "embedding").put("index", 0)
          .put("embedding", new JsonArray().add(0.25).add(-0.5))))
        .put("model", "text-embedding-3-small").put("usage", new JsonObject().put("prompt_tokens", 3)
          .put("total_tokens", 3)).encode());
      return;
    }
    JsonObject message = answer(body);
    String finish = message.containsKey("tool_calls") ? "tool_calls" : "stop";
    JsonObject usage = new JsonObject().put("prompt_tokens", 21).put("completion_tokens", 9).put("total_tokens", 30)
      .put("prompt_tokens_details", new JsonObject().put("cached_tokens", 0));
    if (!body.getBoolean("stream", false)) {
      response.putHeader("content-type", "application/json").end(new JsonObject()
        .put("id", "chatcmpl-AzureA1").put("object", "chat.completion").put("created", 1733000000)
        .put("model", "gpt-4o-2024-11-20").put("system_fingerprint", "fp_azure1")
        .put("prompt_filter_results", promptFilter())
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("message", message)
          .put("finish_reason", finish).put("logprobs", null).put("content_filter_results", SAFE)))
        .put("usage", usage).encode());
      return;
    }
    response.setChunked(true).putHeader("content-type", "text/event-stream");
    data(response, new JsonObject().put("choices", new JsonArray()).put("created", 0).put("id", "").put("model", "")
      .put("object", "").put("prompt_filter_results", promptFilter()));
    String text = message.getString("content");
    data(response, chunk(new JsonObject().put("role", "assistant").put("content", text == null ? null : "")
      .put("refusal", null), null));
    if (message.getValue("tool_calls") instanceof JsonArray calls) {
      JsonObject call = calls.getJsonObject(0);
      String arguments = call.getJsonObject("function").getString("arguments");
      data(response, chunk(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", 0)
        .put("id", call.getString("id")).put("type", "function").put("function", new JsonObject()
          .put("name", call.getJsonObject("function").getString("name")).put("arguments", "")))), null));
      int half = arguments.length() / 2;
      for (String piece : List.of(arguments.substring(0, half), arguments.substring(half))) {
        data(response, chunk(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", 0)
          .put("function", new JsonObject().put("arguments", piece)))), null));
      }
    } else {
      List<String> pieces = text.equals(String.join("", DELTAS)) ? DELTAS
        : List.of(text.substring(0, text.length() / 2), text.substring(text.length() / 2));
      pieces.forEach(piece -> data(response, chunk(new JsonObject().put("content", piece), null)));
    }
    data(response, chunk(new JsonObject(), finish));
    if (body.getJsonObject("stream_options", new JsonObject()).getBoolean("include_usage", false)) {
      data(response, new JsonObject().put("id", "chatcmpl-AzureA1").put("object", "chat.completion.chunk")
        .put("created", 1733000000).put("model", "gpt-4o-2024-11-20").put("choices", new JsonArray()).put("usage", usage));
    }
    response.end("data: [DONE]\n\n");
  }

  private static JsonObject answer(JsonObject body) {
    JsonArray messages = body.getJsonArray("messages");
    JsonObject last = messages.getJsonObject(messages.size() - 1);
    if ("tool".equals(last.getString("role"))) {
      return new JsonObject().put("role", "assistant").put("content", "The tool said: " + last.getString("content"));
    }
    JsonArray tools = body.getJsonArray("tools", new JsonArray());
    if (!tools.isEmpty() && !"none".equals(body.getValue("tool_choice"))) {
      JsonObject function = tools.getJsonObject(0).getJsonObject("function");
      String property = function.getJsonObject("parameters").getJsonObject("properties").fieldNames().iterator().next();
      return new JsonObject().put("role", "assistant").put("content", (String) null)
        .put("tool_calls", new JsonArray().add(new JsonObject().put("id", "call_azure_0001").put("type", "function")
          .put("function", new JsonObject().put("name", function.getString("name"))
            .put("arguments", new JsonObject().put(property, last.getValue("content")).encode()))));
    }
    return new JsonObject().put("role", "assistant").put("content", String.join("", DELTAS)).put("refusal", null);
  }

  private static JsonArray promptFilter() {
    return new JsonArray().add(new JsonObject().put("prompt_index", 0).put("content_filter_results", SAFE));
  }

  private static JsonObject chunk(JsonObject delta, String finish) {
    return new JsonObject().put("id", "chatcmpl-AzureA1").put("object", "chat.completion.chunk")
      .put("created", 1733000000).put("model", "gpt-4o-2024-11-20").put("system_fingerprint", "fp_azure1")
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("delta", delta)
        .put("finish_reason", finish).put("logprobs", null)
        .put("content_filter_results", finish == null && delta.containsKey("content") ? SAFE : new JsonObject())));
  }

  private static void data(HttpServerResponse response, JsonObject event) {
    response.write("data: " + event.encode() + "\n\n");
  }

  private static void error(HttpServerResponse response, int status, String code, String message) {
    response.setStatusCode(status).putHeader("content-type", "application/json")
      .end(new JsonObject().put("error", new JsonObject().put("code", code).put("message", message)).encode());
  }
}

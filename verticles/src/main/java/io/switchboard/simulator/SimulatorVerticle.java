package io.switchboard.simulator;

import io.switchboard.json.JsonText;
import io.switchboard.routing.Continuation;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The built-in upstream: an OpenAI-compatible chat completions server on loopback that Switchboard calls
 * over real HTTP, exactly as it calls a provider. Its text is deterministic (a function of the prompt) and
 * its behaviour follows {@link SimulatorKnobs}, taken from the request path {@code /sim/<knobs>/v1/...}.
 */
public final class SimulatorVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(SimulatorVerticle.class);
  public static final String MODEL = "switchboard-simulator";
  private static final String[] WORDS = ("the quick brown fox jumps over a lazy dog while switchboard relays every "
    + "token from model to person and back again with memory speed and care so that nobody waits longer than "
    + "needed for an answer").split(" ");

  private final String host;
  private final int port;
  private final SimulatorKnobs defaults;
  private final AtomicLong calls = new AtomicLong();
  private HttpServer server;

  public SimulatorVerticle(String host, int port, SimulatorKnobs defaults) {
    this.host = host;
    this.port = port;
    this.defaults = defaults;
  }

  /** The base URL for a deployment with these knobs, once the server listens. */
  public String baseUrl(SimulatorKnobs knobs) {
    return "http://" + host + ":" + server.actualPort() + "/sim/" + knobs.toPathSegment() + "/v1";
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer();
    server.requestHandler(this::handle);
    return server.listen(port, host).onSuccess(s ->
      LOG.info("simulator (not a real model) listening on http://{}:{}", host, s.actualPort()));
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }

  private void handle(HttpServerRequest request) {
    String path = request.path();
    SimulatorKnobs knobs = defaults;
    if (path.startsWith("/sim/")) {
      int end = path.indexOf('/', 5);
      if (end < 0) {
        error(request.response(), 404, "no such simulator path");
        return;
      }
      try {
        knobs = SimulatorKnobs.parse(path.substring(5, end), defaults);
      } catch (IllegalArgumentException e) {
        error(request.response(), 400, e.getMessage());
        return;
      }
      path = path.substring(end);
    }
    if (path.equals("/v1/models")) {
      request.response().putHeader("content-type", "application/json").end(new JsonObject()
        .put("object", "list").put("data", new JsonArray().add(new JsonObject().put("id", MODEL)
          .put("object", "model").put("created", 0).put("owned_by", "switchboard-simulator"))).encode());
      return;
    }
    if (!path.equals("/v1/chat/completions") || request.method().name().equals("GET")) {
      error(request.response(), 404, "no such simulator path");
      return;
    }
    SimulatorKnobs chosen = knobs;
    request.body().onSuccess(body -> complete(request, body, chosen));
  }

  private void complete(HttpServerRequest request, Buffer body, SimulatorKnobs knobs) {
    HttpServerResponse response = request.response();
    JsonObject json;
    try {
      json = body.toJsonObject();
    } catch (DecodeException e) {
      error(response, 400, "body is not JSON");
      return;
    }
    calls.incrementAndGet();
    if (knobs.hang()) {
      return; // the caller's timeout is what is being tested; the connection stays open until it gives up
    }
    if (knobs.errorRate() > 0 && ThreadLocalRandom.current().nextDouble() < knobs.errorRate()) {
      if (knobs.retryAfterSeconds() > 0) {
        response.putHeader("retry-after", String.valueOf(knobs.retryAfterSeconds()));
      }
      after(knobs.ttftMillis(),
        () -> error(response, knobs.errorStatus(), "simulated failure (error_rate=" + knobs.errorRate() + ")"));
      return;
    }
    JsonArray messages = json.getJsonArray("messages", new JsonArray());
    int promptTokens = Math.max(1, messages.encode().length() / 4);
    String[] tokens = answer(messages, replyLength(json, knobs));
    String id = "chatcmpl-sim" + calls.get();
    if (json.getBoolean("stream", false)) {
      boolean usage = json.getJsonObject("stream_options", new JsonObject()).getBoolean("include_usage", false);
      stream(request, id, tokens, promptTokens, usage, knobs);
    } else {
      after(knobs.ttftMillis(), () -> response.putHeader("content-type", "application/json")
        .end(completion(id, String.join("", tokens), promptTokens, tokens.length)));
    }
  }

  /** Runs {@code action} after a delay; with no delay, at once (so a benchmark measures no timer). */
  private void after(long millis, Runnable action) {
    if (millis <= 0) {
      action.run();
    } else {
      vertx.setTimer(millis, t -> action.run());
    }
  }

  private static int replyLength(JsonObject request, SimulatorKnobs knobs) {
    Object max = request.getValue("max_tokens", request.getValue("max_completion_tokens"));
    return max instanceof Number n ? Math.min(knobs.replyTokens(), Math.max(0, n.intValue())) : knobs.replyTokens();
  }

  /**
   * The answer to the last user message; asked to continue a partial answer (the gateway's mid-stream
   * failover), the rest of that same answer, so a continued stream reads exactly like an unbroken one.
   */
  static String[] answer(JsonArray messages, int length) {
    int last = messages.size() - 1;
    if (last >= 2 && Continuation.INSTRUCTION.equals(text(messages, last))
      && "assistant".equals(messages.getJsonObject(last - 1).getString("role"))) {
      String partial = text(messages, last - 1);
      String[] whole = reply(text(messages, last - 2), length);
      StringBuilder said = new StringBuilder();
      for (int i = 0; i < whole.length; i++) {
        if (said.toString().equals(partial)) {
          return java.util.Arrays.copyOfRange(whole, i, whole.length);
        }
        said.append(whole[i]);
      }
    }
    return reply(last < 0 ? "" : text(messages, last), length);
  }

  private static String text(JsonArray messages, int index) {
    return String.valueOf(messages.getJsonObject(index).getValue("content"));
  }

  /** The same prompt always gets the same answer; each token is one word with its leading space. */
  static String[] reply(String prompt, int length) {
    long seed = prompt.hashCode();
    String[] tokens = new String[length];
    for (int i = 0; i < length; i++) {
      seed = seed * 6364136223846793005L + 1442695040888963407L;
      String word = WORDS[(int) ((seed >>> 33) % WORDS.length)];
      tokens[i] = i == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : " " + word;
    }
    if (length > 0) {
      tokens[length - 1] = tokens[length - 1] + ".";
    }
    return tokens;
  }

  private void stream(HttpServerRequest request, String id, String[] tokens, int promptTokens, boolean usage,
                      SimulatorKnobs knobs) {
    HttpServerResponse response = request.response();
    response.setChunked(true).putHeader("content-type", "text/event-stream").putHeader("cache-control", "no-cache");
    String prefix = "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":"
      + System.currentTimeMillis() / 1000 + ",\"model\":\"" + MODEL + "\",\"choices\":[{\"index\":0,\"delta\":";
    Runnable finish = () -> {
      StringBuilder end = new StringBuilder(prefix).append("{},\"finish_reason\":\"stop\"}]}\n\n");
      if (usage) {
        end.append("data: {\"id\":\"").append(id).append("\",\"object\":\"chat.completion.chunk\",\"created\":")
          .append(System.currentTimeMillis() / 1000).append(",\"model\":\"").append(MODEL)
          .append("\",\"choices\":[],\"usage\":").append(usage(promptTokens, tokens.length)).append("}\n\n");
      }
      end.append("data: [DONE]\n\n");
      response.end(end.toString());
    };
    if (knobs.tokensPerSecond() == 0) {
      after(knobs.ttftMillis(), () -> writeAsFastAsRead(request, prefix, tokens, 0, knobs,
        finish));
      return;
    }
    long gap = Math.max(1, 1000L / knobs.tokensPerSecond());
    int[] next = {0};
    vertx.setTimer(Math.max(1, knobs.ttftMillis()), first -> vertx.setPeriodic(0, gap, timer -> {
      if (response.closed()) {
        vertx.cancelTimer(timer);
      } else if (next[0] == knobs.dropAfterChunks()) {
        vertx.cancelTimer(timer);
        request.connection().close();
      } else if (next[0] == tokens.length) {
        vertx.cancelTimer(timer);
        finish.run();
      } else {
        response.write(chunk(prefix, next[0], tokens[next[0]]));
        next[0]++;
      }
    }));
  }

  /** Every token at once, in batches, as fast as the reader takes them (and no faster: it honours backpressure). */
  private void writeAsFastAsRead(HttpServerRequest request, String prefix, String[] tokens, int from,
                                 SimulatorKnobs knobs, Runnable finish) {
    HttpServerResponse response = request.response();
    int i = from;
    while (i < tokens.length && !response.writeQueueFull()) {
      StringBuilder batch = new StringBuilder();
      for (int end = Math.min(tokens.length, i + 64); i < end; i++) {
        if (i == knobs.dropAfterChunks()) {
          response.write(batch.toString());
          request.connection().close();
          return;
        }
        batch.append(chunk(prefix, i, tokens[i]));
      }
      response.write(batch.toString());
    }
    if (i == tokens.length) {
      finish.run();
    } else if (!response.closed()) {
      int next = i;
      response.drainHandler(v -> writeAsFastAsRead(request, prefix, tokens, next, knobs, finish));
    }
  }

  private static String chunk(String prefix, int index, String token) {
    String delta = index == 0 ? "{\"role\":\"assistant\",\"content\":" + JsonText.quote(token) + "}"
      : "{\"content\":" + JsonText.quote(token) + "}";
    return prefix + delta + ",\"finish_reason\":null}]}\n\n";
  }

  private static String completion(String id, String text, int promptTokens, int completionTokens) {
    return new JsonObject().put("id", id).put("object", "chat.completion")
      .put("created", System.currentTimeMillis() / 1000).put("model", MODEL)
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0)
        .put("message", new JsonObject().put("role", "assistant").put("content", text))
        .put("finish_reason", "stop")))
      .put("usage", new JsonObject(usage(promptTokens, completionTokens)))
      .encode();
  }

  private static String usage(int prompt, int completion) {
    return "{\"prompt_tokens\":" + prompt + ",\"completion_tokens\":" + completion + ",\"total_tokens\":"
      + (prompt + completion) + "}";
  }

  private static void error(HttpServerResponse response, int status, String message) {
    response.setStatusCode(status).putHeader("content-type", "application/json")
      .end(new JsonObject().put("error", new JsonObject().put("message", message).put("type", "simulator_error")
        .putNull("param").put("code", "simulated")).encode());
  }
}

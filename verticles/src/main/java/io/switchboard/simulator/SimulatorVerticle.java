package io.switchboard.simulator;

import io.switchboard.json.JsonText;
import io.switchboard.vertx.WriteQueues;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * The built-in upstream: an OpenAI-compatible server on loopback that Switchboard calls over real HTTP, exactly as
 * it calls a provider. It speaks Chat Completions (text, content parts, tool calls and tool results, max_tokens,
 * logprobs, JSON response formats, streaming with OpenAI's chunk sequence), Embeddings and Audio transcriptions
 * ({@link Transcriptions}), and refuses what OpenAI
 * refuses with OpenAI's error JSON. Everything it says is deterministic (a function of the request) and its
 * behaviour follows {@link SimulatorKnobs}, taken from the request path {@code /sim/<knobs>/v1/...}. It serves
 * HTTP/1.1 and HTTP/2 over plain TCP (h2c, with prior knowledge or by upgrade), {@value #HTTP2_MAX_STREAMS} streams
 * a connection, so a deployment with {@code http2: true} is tested against it as against a provider speaking h2.
 */
public final class SimulatorVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(SimulatorVerticle.class);
  public static final String MODEL = "switchboard-simulator";
  static final String FINGERPRINT = "fp_switchboard_sim";
  /** What the simulator advertises in SETTINGS_MAX_CONCURRENT_STREAMS (Vert.x's default is 100). */
  public static final long HTTP2_MAX_STREAMS = 1_000;
  /** OpenAI's limit on an audio upload. */
  static final int MAX_AUDIO_BYTES = 25 * 1024 * 1024;

  private final String host;
  private final int port;
  private final SimulatorKnobs defaults;
  private final Moderations moderations;
  private final AtomicLong calls = new AtomicLong();
  /** Calls in flight per knobs path, for {@link SimulatorKnobs#ttftPerInflightMillis()}. */
  private final Map<String, AtomicInteger> inflight = new ConcurrentHashMap<>();
  private HttpServer server;

  public SimulatorVerticle(String host, int port, SimulatorKnobs defaults) {
    this(host, port, defaults, java.util.List.of(Moderations.DEFAULT_WORD));
  }

  /** @param moderationWords its moderation model flags an input holding one of these */
  public SimulatorVerticle(String host, int port, SimulatorKnobs defaults, java.util.List<String> moderationWords) {
    this.host = host;
    this.port = port;
    this.defaults = defaults;
    this.moderations = new Moderations(moderationWords);
  }

  /** The base URL for a deployment with these knobs, once the server listens. */
  public String baseUrl(SimulatorKnobs knobs) {
    return "http://" + host + ":" + server.actualPort() + "/sim/" + knobs.toPathSegment() + "/v1";
  }

  @Override
  public Future<?> start() {
    // strict thread mode: HTTP/1 connections write straight to the channel, with no 4 KB write queue each (every
    // write here is on the request's own context; the gateway's API server links its queues instead, WriteQueues)
    server = vertx.createHttpServer(new HttpServerOptions().setStrictThreadMode(true).setHttp2ClearTextEnabled(true)
      .setPerMessageWebSocketCompressionSupported(false).setPerFrameWebSocketCompressionSupported(false)
      .setInitialSettings(new Http2Settings().setMaxConcurrentStreams(HTTP2_MAX_STREAMS))
      // clients that leave reset their streams: Vert.x's rapid-reset guard (200 per 30 s) would end the connection
      // and every other stream on it, which is not what is being simulated
      .setHttp2RstFloodMaxRstFramePerWindow(Integer.MAX_VALUE));
    server.requestHandler(this::handle);
    return server.listen(port, host).onSuccess(s ->
      LOG.info("simulator (not a real model) listening on http://{}:{}", host, s.actualPort()));
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }

  private void handle(HttpServerRequest request) {
    WriteQueues.link(request); // as the gateway does for its own HTTP/2 streams: a simulated stream holds what one
    // to a provider would, not 4 KB more that a run with thousands of streams open would count as the gateway's
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
    boolean chat = path.equals("/v1/chat/completions");
    boolean audio = path.equals("/v1/audio/transcriptions");
    boolean moderation = path.equals("/v1/moderations");
    if (!(chat || audio || moderation || path.equals("/v1/embeddings")) || request.method().name().equals("GET")) {
      error(request.response(), 404, "no such simulator path");
      return;
    }
    SimulatorKnobs chosen = knobs.ttftPerInflightMillis() > 0 ? loaded(request, knobs) : knobs;
    if (audio) {
      transcribe(request, chosen);
      return;
    }
    request.body().onSuccess(body -> {
      if (chat) {
        complete(request, body, chosen);
      } else if (moderation) {
        answerJson(request, body, chosen, moderations::respond);
      } else {
        answerJson(request, body, chosen, Embeddings::respond);
      }
    });
  }

  /** The knobs of one more call in flight on this path: its delay grows with the calls already there. */
  private SimulatorKnobs loaded(HttpServerRequest request, SimulatorKnobs knobs) {
    AtomicInteger count = inflight.computeIfAbsent(request.path(), p -> new AtomicInteger());
    int others = count.getAndIncrement();
    AtomicBoolean released = new AtomicBoolean();
    Runnable release = () -> {
      if (released.compareAndSet(false, true)) {
        count.decrementAndGet();
      }
    };
    request.response().endHandler(v -> release.run()).closeHandler(v -> release.run());
    return knobs.withLoad(others);
  }

  /** The body as a JSON object, or null once a 400 is sent. */
  private static JsonObject json(HttpServerResponse response, Buffer body) {
    try {
      JsonObject json = body.length() == 0 ? null : body.toJsonObject();
      if (json != null) {
        return json;
      }
    } catch (DecodeException | ClassCastException e) {
      // answered below
    }
    error(response, new SimulatorError("We could not parse the JSON body of your request. (HINT: This likely means "
      + "you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was "
      + "not valid JSON.)", null, null));
    return null;
  }

  /**
   * Whether the call is answered: a hanging deployment never answers, a failing one answers with its error after
   * the first-token delay.
   */
  private boolean answers(HttpServerResponse response, SimulatorKnobs knobs) {
    if (knobs.hang()) {
      return false; // the caller's timeout is what is being tested; the connection stays open until it gives up
    }
    if (knobs.errorRate() > 0 && ThreadLocalRandom.current().nextDouble() < knobs.errorRate()) {
      if (knobs.retryAfterSeconds() > 0) {
        response.putHeader("retry-after", String.valueOf(knobs.retryAfterSeconds()));
      }
      after(knobs.ttftMillis(),
        () -> error(response, knobs.errorStatus(), "simulated failure (error_rate=" + knobs.errorRate() + ")"));
      return false;
    }
    return true;
  }

  /**
   * A JSON call answered whole by {@code respond} (embeddings, moderations): its body read and checked, its errors
   * OpenAI's, the answer sent after the first-token delay.
   */
  private void answerJson(HttpServerRequest request, Buffer body, SimulatorKnobs knobs,
                          Function<JsonObject, String> respond) {
    HttpServerResponse response = request.response();
    JsonObject json = json(response, body);
    if (json == null) {
      return;
    }
    String answer;
    try {
      answer = respond.apply(json);
    } catch (SimulatorError e) {
      error(response, e);
      return;
    }
    calls.incrementAndGet();
    if (answers(response, knobs)) {
      after(knobs.ttftMillis(), () -> response.putHeader("content-type", "application/json").end(answer));
    }
  }

  /** A multipart upload, read as it arrives; OpenAI's limit on its size (25 MB) applies. */
  private void transcribe(HttpServerRequest request, SimulatorKnobs knobs) {
    HttpServerResponse response = request.response();
    String type = request.getHeader("content-type");
    if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("multipart/form-data")) {
      error(response, new SimulatorError("Invalid Content-Type header (" + type + "), expected multipart/form-data. "
        + "(HINT: If you're using curl, you can pass -H 'Content-Type: multipart/form-data')", null, null));
      return;
    }
    request.setExpectMultipart(true);
    Buffer[] file = new Buffer[1];
    String[] fileName = new String[1];
    request.uploadHandler(upload -> {
      if (!upload.name().equals("file") || file[0] != null) {
        upload.handler(chunk -> { });
        return;
      }
      Buffer bytes = Buffer.buffer();
      file[0] = bytes;
      fileName[0] = upload.filename();
      upload.handler(chunk -> {
        if (bytes.length() + chunk.length() > MAX_AUDIO_BYTES) {
          if (!response.ended()) {
            error(response, new SimulatorError(413, "invalid_request_error", "Maximum content size limit ("
              + MAX_AUDIO_BYTES + ") exceeded (" + (bytes.length() + chunk.length()) + " bytes read)", null, null));
          }
        } else {
          bytes.appendBuffer(chunk);
        }
      });
    });
    request.endHandler(end -> {
      if (response.ended()) {
        return;
      }
      java.util.Map<String, String> fields = new java.util.HashMap<>();
      request.formAttributes().forEach(field -> fields.putIfAbsent(field.getKey(), field.getValue()));
      Transcriptions.Reply reply;
      try {
        reply = Transcriptions.respond(fields, fileName[0], file[0]);
      } catch (SimulatorError e) {
        error(response, e);
        return;
      }
      calls.incrementAndGet();
      if (answers(response, knobs)) {
        after(knobs.ttftMillis(), () -> response.putHeader("content-type", reply.contentType()).end(reply.body()));
      }
    });
  }

  private void complete(HttpServerRequest request, Buffer body, SimulatorKnobs knobs) {
    HttpServerResponse response = request.response();
    JsonObject json = json(response, body);
    if (json == null) {
      return;
    }
    ChatTurn turn;
    Answer answer;
    try {
      turn = ChatTurn.read(json, knobs.tools());
      answer = Answer.to(turn, knobs);
    } catch (SimulatorError e) {
      error(response, e);
      return;
    }
    String id = "chatcmpl-sim" + calls.incrementAndGet();
    if (!answers(response, knobs)) {
      return;
    }
    if (turn.stream()) {
      stream(request, id, turn, answer, knobs);
    } else {
      after(knobs.ttftMillis(), () -> response.putHeader("content-type", "application/json")
        .end(completion(id, turn, answer)));
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

  /**
   * OpenAI's chunk sequence. Text: the first chunk carries the role and the first token, one chunk per token after
   * it. A tool call: the first chunk carries the role and the call's index, id, type, name and empty arguments;
   * each later one only the index and a fragment of the arguments. Then a chunk with the finish reason, the usage
   * chunk (choices empty) when asked for, and {@code data: [DONE]}. Text chunks are strings built from a prefix
   * made once per stream (no JSON object per chunk).
   */
  private void stream(HttpServerRequest request, String id, ChatTurn turn, Answer answer, SimulatorKnobs knobs) {
    HttpServerResponse response = request.response();
    response.setChunked(true).putHeader("content-type", "text/event-stream").putHeader("cache-control", "no-cache");
    String head = "{\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":"
      + System.currentTimeMillis() / 1000 + ",\"model\":\"" + MODEL + "\",\"service_tier\":\"default\","
      + "\"system_fingerprint\":\"" + FINGERPRINT + "\",";
    String prefix = "data: " + head + "\"choices\":[{\"index\":0,\"delta\":";
    String close = turn.includeUsage() ? "],\"usage\":null}\n\n" : "]}\n\n";
    String tail = ",\"logprobs\":null,\"finish_reason\":null}" + close;
    String[] tokens = answer.tokens();
    int count;
    IntFunction<String> chunkAt;
    if (answer.toolCall()) {
      count = tokens.length + 1;
      String first = prefix + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":"
        + JsonText.quote(answer.callId()) + ",\"type\":\"function\",\"function\":{\"name\":"
        + JsonText.quote(answer.callName()) + ",\"arguments\":\"\"}}],\"refusal\":null}" + tail;
      chunkAt = i -> i == 0 ? first : prefix + "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
        + JsonText.quote(tokens[i - 1]) + "}}]}" + tail;
    } else if (turn.logprobs()) {
      count = tokens.length;
      int top = turn.topLogprobs();
      chunkAt = i -> {
        StringBuilder chunk = new StringBuilder(prefix.length() + 256 + top * 64).append(prefix);
        appendDelta(chunk, i, tokens[i]).append(",\"logprobs\":{\"content\":[");
        Tokens.appendLogprob(chunk, tokens[i], i, top);
        return chunk.append("],\"refusal\":null},\"finish_reason\":null}").append(close).toString();
      };
    } else {
      count = tokens.length;
      chunkAt = i -> appendDelta(new StringBuilder(prefix.length() + tokens[i].length() + tail.length() + 48)
        .append(prefix), i, tokens[i]).append(tail).toString();
    }
    StringBuilder end = new StringBuilder(prefix).append("{},\"logprobs\":null,\"finish_reason\":\"")
      .append(answer.finishReason()).append("\"}").append(close);
    if (turn.includeUsage()) {
      end.append("data: ").append(head).append("\"choices\":[],\"usage\":");
      appendUsage(end, turn.promptTokens(), tokens.length).append("}\n\n");
    }
    String finish = end.append("data: [DONE]\n\n").toString();
    if (knobs.tokensPerSecond() == 0) {
      after(knobs.ttftMillis(), () -> writeAsFastAsRead(request, chunkAt, count, 0, knobs, finish));
      return;
    }
    long gap = Math.max(1, 1000L / knobs.tokensPerSecond());
    int[] next = {0};
    vertx.setTimer(Math.max(1, knobs.ttftMillis()), first -> vertx.setPeriodic(0, gap, timer -> {
      if (response.closed()) {
        vertx.cancelTimer(timer);
      } else if (next[0] == knobs.dropAfterChunks()) {
        vertx.cancelTimer(timer);
        drop(request);
      } else if (next[0] == count) {
        vertx.cancelTimer(timer);
        response.end(finish);
      } else {
        response.write(chunkAt.apply(next[0]));
        next[0]++;
      }
    }));
  }

  /** Every chunk at once, in batches, as fast as the reader takes them (and no faster: it honours backpressure). */
  private void writeAsFastAsRead(HttpServerRequest request, IntFunction<String> chunkAt, int count, int from,
                                 SimulatorKnobs knobs, String finish) {
    HttpServerResponse response = request.response();
    int i = from;
    while (i < count && !response.writeQueueFull()) {
      StringBuilder batch = new StringBuilder();
      for (int end = Math.min(count, i + 64); i < end; i++) {
        if (i == knobs.dropAfterChunks()) {
          response.write(batch.toString());
          drop(request);
          return;
        }
        batch.append(chunkAt.apply(i));
      }
      response.write(batch.toString());
    }
    if (i == count && i == knobs.dropAfterChunks()) {
      drop(request); // every chunk written, the end never: as the paced path drops it
    } else if (i == count) {
      response.end(finish);
    } else if (!response.closed()) {
      int next = i;
      response.drainHandler(v -> writeAsFastAsRead(request, chunkAt, count, next, knobs, finish));
    }
  }

  /** The stream breaks off: its connection closes (HTTP/1.1), or only it is reset (HTTP/2: others share the connection). */
  private static void drop(HttpServerRequest request) {
    if (request.version() == HttpVersion.HTTP_2) {
      request.response().reset();
    } else {
      request.connection().close();
    }
  }

  /** A text delta: the first carries the role too. */
  private static StringBuilder appendDelta(StringBuilder out, int index, String token) {
    out.append(index == 0 ? "{\"role\":\"assistant\",\"content\":" : "{\"content\":");
    JsonText.appendQuoted(out, token);
    return out.append(index == 0 ? ",\"refusal\":null}" : "}");
  }

  private static String completion(String id, ChatTurn turn, Answer answer) {
    JsonObject message = new JsonObject().put("role", "assistant");
    if (answer.toolCall()) {
      message.putNull("content").put("tool_calls", new JsonArray().add(new JsonObject().put("id", answer.callId())
        .put("type", "function").put("function", new JsonObject().put("name", answer.callName())
          .put("arguments", answer.joined()))));
    } else {
      message.put("content", answer.joined());
    }
    message.putNull("refusal").put("annotations", new JsonArray());
    JsonObject choice = new JsonObject().put("index", 0).put("message", message);
    if (turn.logprobs() && !answer.toolCall()) {
      StringBuilder logprobs = new StringBuilder("{\"content\":[");
      String[] tokens = answer.tokens();
      for (int i = 0; i < tokens.length; i++) {
        Tokens.appendLogprob(i == 0 ? logprobs : logprobs.append(','), tokens[i], i, turn.topLogprobs());
      }
      choice.put("logprobs", new JsonObject(logprobs.append("],\"refusal\":null}").toString()));
    } else {
      choice.putNull("logprobs");
    }
    choice.put("finish_reason", answer.finishReason());
    int completionTokens = answer.tokens().length;
    return new JsonObject().put("id", id).put("object", "chat.completion")
      .put("created", System.currentTimeMillis() / 1000).put("model", MODEL)
      .put("choices", new JsonArray().add(choice))
      .put("usage", new JsonObject().put("prompt_tokens", turn.promptTokens())
        .put("completion_tokens", completionTokens).put("total_tokens", turn.promptTokens() + completionTokens)
        .put("prompt_tokens_details", new JsonObject().put("cached_tokens", 0).put("audio_tokens", 0))
        .put("completion_tokens_details", new JsonObject().put("reasoning_tokens", 0).put("audio_tokens", 0)
          .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0)))
      .put("service_tier", "default").put("system_fingerprint", FINGERPRINT)
      .encode();
  }

  private static StringBuilder appendUsage(StringBuilder out, int prompt, int completion) {
    return out.append("{\"prompt_tokens\":").append(prompt).append(",\"completion_tokens\":").append(completion)
      .append(",\"total_tokens\":").append(prompt + completion)
      .append(",\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},\"completion_tokens_details\":"
        + "{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}");
  }

  private static void error(HttpServerResponse response, SimulatorError e) {
    response.setStatusCode(e.status).putHeader("content-type", "application/json").end(e.toJson());
  }

  private static void error(HttpServerResponse response, int status, String message) {
    response.setStatusCode(status).putHeader("content-type", "application/json")
      .end(new JsonObject().put("error", new JsonObject().put("message", message).put("type", "simulator_error")
        .putNull("param").put("code", "simulated")).encode());
  }
}

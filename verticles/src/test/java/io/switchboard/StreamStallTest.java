package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The stall watch on a streamed upstream call (idle_timeout_ms): a stream whose chunks keep coming, each within the
 * idle time, runs for as long as it takes, however much longer than the idle time that is; one that goes silent
 * mid-answer ends with an error about the stall once the idle time has passed, not before. The upstream is a real
 * HTTP server writing OpenAI's SSE chunks: eight, 120 ms apart ("paced"), or two and then nothing ("stall").
 */
class StreamStallTest {
  private static final long IDLE_MILLIS = 400;
  /** upstream-brief's whole-call limit: more than the idle time, less than the paced stream's ~1 s. */
  private static final long TOTAL_MILLIS = 600;
  private static final Vertx UPSTREAM = Vertx.vertx();
  private static HttpServer server;
  private static TestNode node;
  private static String url;

  @BeforeAll
  static void start() throws Exception {
    server = UPSTREAM.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      String text = body.toJsonObject().getJsonArray("messages").getJsonObject(0).getString("content");
      HttpServerResponse response = request.response().setChunked(true).putHeader("content-type", "text/event-stream");
      int chunks = text.equals("paced") ? 8 : 2;
      for (int i = 0; i < chunks; i++) {
        String chunk = chunk(new JsonObject().put("content", "t" + i + " "), null);
        UPSTREAM.setTimer(1 + 120L * i, t -> response.write(chunk));
      }
      if (text.equals("paced")) {
        UPSTREAM.setTimer(1 + 120L * chunks, t -> response.end(chunk(new JsonObject(), "stop") + "data: [DONE]\n\n"));
      }
    })).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    node = TestNode.start("""
      model_list:
        - {model_name: upstream, provider: openai, api_base: "http://127.0.0.1:%d/v1", api_key: test-key-0123456789,
           idle_timeout_ms: %d}
        - {model_name: upstream-brief, provider: openai, api_base: "http://127.0.0.1:%d/v1",
           api_key: test-key-0123456789, idle_timeout_ms: %d, timeout_ms: %d}
      routes:
        - {model_name: upstream, num_retries: 0}
        - {model_name: upstream-brief, num_retries: 0}
      """.formatted(server.actualPort(), IDLE_MILLIS, server.actualPort(), IDLE_MILLIS, TOTAL_MILLIS));
    url = node.baseUrl() + "/v1/chat/completions";
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    UPSTREAM.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static String chunk(JsonObject delta, String finishReason) {
    return "data: " + new JsonObject().put("id", "chatcmpl-up").put("object", "chat.completion.chunk")
      .put("created", 1).put("model", "up-1").put("choices", new JsonArray().add(new JsonObject().put("index", 0)
        .put("delta", delta).put("logprobs", null).put("finish_reason", finishReason))).encode() + "\n\n";
  }

  private static String body(String text) {
    return body("upstream", text);
  }

  private static String body(String model, String text) {
    return new JsonObject().put("model", model).put("stream", true).put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  /** Each SSE data payload with the milliseconds since the request when it arrived. */
  private record Event(String data, long atMillis) {
  }

  private static List<Event> stream(String text) {
    return stream("upstream", text);
  }

  private static List<Event> stream(String model, String text) {
    long start = System.nanoTime();
    HttpResponse<Stream<String>> response = Http.postLines(url, body(model, text));
    assertEquals(200, response.statusCode());
    List<Event> events = new ArrayList<>();
    response.body().filter(line -> line.startsWith("data: "))
      .forEach(line -> events.add(new Event(line.substring(6), (System.nanoTime() - start) / 1_000_000)));
    return events;
  }

  @Test
  void a_stream_whose_chunks_keep_coming_runs_longer_than_the_idle_time() {
    List<Event> events = stream("paced");
    StringBuilder text = new StringBuilder();
    for (Event event : events.subList(0, events.size() - 1)) {
      JsonObject chunk = new JsonObject(event.data());
      assertTrue(!chunk.containsKey("error"), event.data());
      String content = chunk.getJsonArray("choices").getJsonObject(0).getJsonObject("delta").getString("content");
      text.append(content == null ? "" : content);
    }
    assertEquals("t0 t1 t2 t3 t4 t5 t6 t7 ", text.toString());
    assertEquals("[DONE]", events.get(events.size() - 1).data());
    assertTrue(events.get(events.size() - 1).atMillis() > 2 * IDLE_MILLIS,
      "the whole stream took longer than the idle time twice over: " + events.get(events.size() - 1).atMillis() + " ms");
  }

  @Test
  void a_stream_that_goes_silent_ends_with_the_stall_once_the_idle_time_has_passed() {
    List<Event> events = stream("stall");
    List<Event> errors = events.stream().filter(e -> e.data().contains("\"error\"")).toList();
    assertEquals(1, errors.size(), "one error event: " + events);
    String message = new JsonObject(errors.get(0).data()).getJsonObject("error").getString("message");
    assertTrue(message.contains("stalled for " + IDLE_MILLIS + " ms"), message);
    Event lastText = events.get(events.indexOf(errors.get(0)) - 1);
    assertTrue(lastText.data().contains("t1 "), "both chunks came first: " + events);
    long silence = errors.get(0).atMillis() - lastText.atMillis();
    assertTrue(silence >= IDLE_MILLIS - 20 && silence < IDLE_MILLIS + 1_500,
      "the error came once the idle time had passed after the last chunk: " + silence + " ms");
  }

  @Test
  void a_stream_that_keeps_coming_still_ends_at_the_whole_call_limit() {
    List<Event> events = stream("upstream-brief", "paced");
    List<Event> errors = events.stream().filter(e -> e.data().contains("\"error\"")).toList();
    assertEquals(1, errors.size(), "one error event: " + events);
    String message = new JsonObject(errors.get(0).data()).getJsonObject("error").getString("message");
    assertTrue(message.contains("did not finish within " + TOTAL_MILLIS + " ms"), message);
    assertTrue(events.indexOf(errors.get(0)) >= 3, "chunks came first, each within the idle time: " + events);
    assertTrue(errors.get(0).atMillis() >= TOTAL_MILLIS - 20 && errors.get(0).atMillis() < TOTAL_MILLIS + 1_500,
      "the error came at the limit: " + errors.get(0).atMillis() + " ms");
  }
}

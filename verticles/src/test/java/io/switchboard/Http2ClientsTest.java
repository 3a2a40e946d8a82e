package io.switchboard;

import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clients that speak HTTP/2 to the API in clear text (the JDK's client, upgrading with h2c as it does; an ingress
 * that multiplexes does the same): answers and event streams arrive whole, many streams share one connection, and an
 * open stream holds no 4 KB write queue of its own in the gateway.
 */
class Http2ClientsTest {
  private static final String CONFIG = """
    simulator:
      ttft_ms: 5
      tokens_per_second: 0
      reply_tokens: 12
    model_list:
      - model_name: switchboard-simulator
        provider: simulator
      - model_name: sim-slow
        provider: simulator
        simulator: {tokens_per_second: 4, reply_tokens: 16}
    """;
  /** Streams open at once on the one connection (under the server's 100 concurrent streams). */
  private static final int STREAMS = 48;
  private static TestNode node;
  private static HttpClient client;
  private static ExecutorService readers;

  @BeforeAll
  static void start() {
    node = TestNode.start(CONFIG);
    client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
    readers = Executors.newFixedThreadPool(STREAMS);
  }

  @AfterAll
  static void stop() throws Exception {
    readers.shutdownNow();
    node.close();
  }

  private static HttpRequest chat(String model, boolean stream, String text) {
    String body = new JsonObject().put("model", model).put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
    return HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/chat/completions")).timeout(Duration.ofSeconds(30))
      .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }

  @Test
  void an_answer_and_a_stream_arrive_whole_over_http2() throws Exception {
    HttpResponse<String> json = client.send(chat("switchboard-simulator", false, "hello over h2"),
      HttpResponse.BodyHandlers.ofString());
    assertEquals(200, json.statusCode(), json.body());
    assertEquals(HttpClient.Version.HTTP_2, json.version(), "the JDK's client upgraded the connection (h2c)");
    JsonObject answer = new JsonObject(json.body());
    assertEquals("chat.completion", answer.getString("object"));
    assertTrue(answer.getJsonObject("usage").getInteger("completion_tokens") > 0, json.body());

    HttpResponse<String> sse = client.send(chat("switchboard-simulator", true, "hello over h2"),
      HttpResponse.BodyHandlers.ofString());
    assertEquals(200, sse.statusCode(), sse.body());
    assertEquals(HttpClient.Version.HTTP_2, sse.version());
    assertTrue(sse.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"), sse.headers()
      .toString());
    List<String> events = events(sse.body());
    assertEquals("[DONE]", events.get(events.size() - 1), sse.body());
    assertEquals(answer.getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content"),
      text(events), "the same answer as a whole or as a stream");
  }

  @Test
  void many_streams_on_one_connection_arrive_whole_and_hold_no_write_queue_of_their_own() throws Exception {
    // the connection upgraded first, so that every stream below goes over it
    assertEquals(HttpClient.Version.HTTP_2, client.send(chat("switchboard-simulator", false, "warm up"),
      HttpResponse.BodyHandlers.ofString()).version());
    long before = writeQueueArrays();
    CountDownLatch firstEvents = new CountDownLatch(STREAMS);
    CountDownLatch measured = new CountDownLatch(1);
    List<CompletableFuture<List<String>>> streams = new ArrayList<>();
    Set<HttpClient.Version> versions = java.util.concurrent.ConcurrentHashMap.newKeySet();
    for (int i = 0; i < STREAMS; i++) {
      CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> response =
        client.sendAsync(chat("sim-slow", true, "stream " + i), HttpResponse.BodyHandlers.ofLines());
      streams.add(response.thenApplyAsync(r -> {
        versions.add(r.version());
        List<String> lines = new ArrayList<>();
        boolean first = true;
        for (String line : (Iterable<String>) r.body()::iterator) {
          lines.add(line);
          if (first && line.startsWith("data: ")) {
            first = false;
            firstEvents.countDown();
            await(measured); // the stream stays open while the heap is counted
          }
        }
        return lines;
      }, readers));
    }
    assertTrue(firstEvents.await(30, TimeUnit.SECONDS), "every stream began: " + firstEvents.getCount() + " left");
    long open = writeQueueArrays();
    measured.countDown();
    Set<String> answers = new HashSet<>();
    for (CompletableFuture<List<String>> stream : streams) {
      List<String> events = events(String.join("\n", stream.get(30, TimeUnit.SECONDS)));
      assertEquals("[DONE]", events.get(events.size() - 1), events.toString());
      answers.add(text(events));
    }
    assertEquals(Set.of(HttpClient.Version.HTTP_2), versions);
    assertTrue(answers.stream().noneMatch(String::isBlank), answers.toString());
    // without the link, each open stream holds one: STREAMS more than before
    assertTrue(open - before < STREAMS / 4, "write queues with " + STREAMS + " streams open: " + before + " -> " + open);
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The data of each event of a stream, in order. */
  private static List<String> events(String body) {
    return body.lines().filter(line -> line.startsWith("data: ")).map(line -> line.substring(6))
      .collect(Collectors.toList());
  }

  /** The answer's text, joined from a stream's chunks. */
  private static String text(List<String> events) {
    StringBuilder text = new StringBuilder();
    for (String event : events) {
      if (!event.equals("[DONE]")) {
        JsonArray choices = new JsonObject(event).getJsonArray("choices");
        if (choices != null && !choices.isEmpty()) {
          String delta = choices.getJsonObject(0).getJsonObject("delta").getString("content");
          text.append(delta == null ? "" : delta);
        }
      }
    }
    return text.toString();
  }

  /**
   * Live MPSC queues (Vert.x's per-connection and per-stream write queues, each with its 4 KB first chunk) in this
   * JVM, counted by the class histogram after a full collection. The JDK's client holds none.
   */
  private static long writeQueueArrays() throws Exception {
    String histogram = (String) ManagementFactory.getPlatformMBeanServer().invoke(
      new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
      new Object[] {new String[0]}, new String[] {String[].class.getName()});
    long count = 0;
    for (String line : histogram.lines().toList()) {
      String[] columns = line.trim().split("\\s+");
      if (columns.length >= 4 && columns[3].endsWith(".MpscUnboundedArrayQueue")) {
        count += Long.parseLong(columns[1]);
      }
    }
    return count;
  }
}

package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.NodeProcess;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three nodes in separate JVMs: a front node, and two nodes that serve the model. The node streaming an
 * answer is killed with SIGKILL mid-stream; the client's one stream goes on from the other node.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeFailoverTest {
  private static final Map<String, String> ENV = Map.of("SWITCHBOARD_SIMULATOR_TOKENS_PER_SECOND", "20",
    "SWITCHBOARD_SIMULATOR_REPLY_TOKENS", "60", "SWITCHBOARD_SIMULATOR_TTFT_MS", "5",
    "SWITCHBOARD_SERVER_REQUEST_TIMEOUT_MS", "20000", "SWITCHBOARD_SESSION_ALLOW_LOCAL_MEMORY_IN_CLUSTER", "true");
  private static NodeProcess front;
  private static final List<NodeProcess> backs = new ArrayList<>();

  @BeforeAll
  static void start() {
    backs.add(NodeProcess.start("back-a", ENV, "--cluster", "--verticles", "inference-proxy,monitoring"));
    backs.add(NodeProcess.start("back-b", ENV, "--cluster", "--verticles", "inference-proxy,monitoring"));
    front = NodeProcess.start("front-f", ENV, "--cluster", "--verticles", "connection,session,routing,monitoring");
    backs.forEach(b -> b.awaitHealthy(90_000));
    front.awaitHealthy(90_000);
  }

  @AfterAll
  static void stop() {
    if (front != null) {
      front.close();
    }
    backs.forEach(NodeProcess::close);
  }

  private static String body(boolean stream) {
    return new JsonObject().put("model", "switchboard-simulator").put("stream", stream).put("messages",
      new JsonArray().add(new JsonObject().put("role", "user").put("content", "a story that survives"))).encode();
  }

  private static double inflight(NodeProcess node) {
    try {
      return Http.get("http://127.0.0.1:" + node.managementPort + "/metrics").body().lines()
        .filter(l -> l.startsWith("switchboard_inference_inflight "))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1))).findFirst().orElse(0);
    } catch (RuntimeException gone) {
      return 0;
    }
  }

  @Test
  @Order(1)
  void a_stream_survives_the_node_serving_it_being_killed() throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    HttpResponse<String> whole;
    do { // until both back nodes' registrations reached the front node
      whole = Http.post(front.baseUrl() + "/v1/chat/completions", body(false));
      Thread.sleep(200);
    } while (whole.statusCode() != 200 && System.currentTimeMillis() < deadline);
    assertEquals(200, whole.statusCode(), whole.body());
    String expected = new JsonObject(whole.body()).getJsonArray("choices").getJsonObject(0).getJsonObject("message")
      .getString("content");

    HttpResponse<InputStream> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create(front.baseUrl() + "/v1/chat/completions")).header("content-type", "application/json")
      .POST(HttpRequest.BodyPublishers.ofString(body(true))).build(), HttpResponse.BodyHandlers.ofInputStream());
    BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
    StringBuilder text = new StringBuilder();
    List<String> events = new ArrayList<>();
    String line;
    boolean killed = false;
    NodeProcess victim = null;
    while ((line = lines.readLine()) != null) {
      if (!line.startsWith("data: ")) {
        continue;
      }
      String data = line.substring(6);
      events.add(data);
      if (data.equals("[DONE]")) {
        break;
      }
      JsonObject chunk = new JsonObject(data);
      assertFalse(chunk.containsKey("error"), "no error event: " + data);
      JsonArray choices = chunk.getJsonArray("choices");
      if (!choices.isEmpty() && choices.getJsonObject(0).getJsonObject("delta").getString("content") != null) {
        text.append(choices.getJsonObject(0).getJsonObject("delta").getString("content"));
        if (!killed && events.size() == 10) {
          victim = inflight(backs.get(0)) > 0 ? backs.get(0) : backs.get(1);
          victim.kill(); // SIGKILL, mid-answer
          killed = true;
        }
      }
    }
    assertTrue(killed, "the stream was long enough to kill its node mid-way");
    assertEquals("[DONE]", events.get(events.size() - 1), "one stream, one [DONE]");
    assertEquals(1, events.stream().filter("[DONE]"::equals).count());
    assertEquals(expected, text.toString(), "the client got the whole answer, nothing repeated or lost");
    String metrics = Http.get("http://127.0.0.1:" + front.managementPort + "/metrics").body();
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("switchboard_stream_rescued_total") && !l.endsWith(" 0.0")),
      "the front node carried the stream over");
  }

  /** One stream read on its own thread: when each event came, and how it ended. */
  private static final class Reader extends Thread {
    final List<Long> arrivals = new java.util.concurrent.CopyOnWriteArrayList<>();
    volatile String end;

    @Override
    public void run() {
      try {
        HttpResponse<InputStream> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create(front.baseUrl() + "/v1/chat/completions")).header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body(true))).build(), HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
        String line;
        while ((line = lines.readLine()) != null) {
          if (line.startsWith("data: ")) {
            arrivals.add(System.nanoTime());
            String data = line.substring(6);
            if (data.equals("[DONE]") || data.contains("\"error\"")) {
              end = data;
              return;
            }
          }
        }
        end = "closed without an end";
      } catch (Exception e) {
        end = "failed: " + e;
      }
    }
  }

  @Test
  @Order(2)
  void sixteen_streams_in_flight_on_a_killed_node_none_stalls() throws Exception {
    NodeProcess third = NodeProcess.start("back-c", ENV, "--cluster", "--verticles", "inference-proxy,monitoring");
    backs.add(third);
    third.awaitHealthy(90_000);
    List<NodeProcess> alive = backs.stream().filter(b -> inflight(b) >= 0 && isUp(b)).toList();
    List<Reader> readers = new ArrayList<>();
    long deadline = System.currentTimeMillis() + 30_000;
    NodeProcess victim = null;
    while (victim == null && System.currentTimeMillis() < deadline) { // until the new node takes streams too
      readers.forEach(Reader::interrupt);
      readers.clear();
      for (int i = 0; i < 16; i++) {
        Reader reader = new Reader();
        reader.setDaemon(true);
        reader.start();
        readers.add(reader);
      }
      Thread.sleep(1_000); // every stream has started: ~20 of its 60 tokens are out
      for (NodeProcess back : alive) {
        if (inflight(back) >= 4 && alive.stream().filter(b -> inflight(b) > 0).count() == 2) {
          victim = back;
        }
      }
      if (victim == null) {
        for (Reader reader : readers) {
          reader.join(20_000);
        }
      }
    }
    assertTrue(victim != null, "streams ran on both serving nodes");
    long inFlightThere = (long) inflight(victim);
    victim.kill();
    long killed = System.nanoTime();
    for (Reader reader : readers) {
      reader.join(30_000);
    }
    int stalled = 0;
    long worstGapMillis = 0;
    for (Reader reader : readers) {
      assertTrue(reader.end != null && (reader.end.equals("[DONE]") || reader.end.contains("\"error\"")),
        "every stream ends with [DONE] or an error event: " + reader.end);
      long next = reader.arrivals.stream().filter(t -> t > killed).findFirst().orElse(Long.MAX_VALUE);
      long gap = next == Long.MAX_VALUE ? Long.MAX_VALUE : (next - killed) / 1_000_000;
      worstGapMillis = Math.max(worstGapMillis, gap);
      if (gap > 3_000) {
        stalled++;
      }
    }
    System.out.println("NodeFailoverTest: " + inFlightThere + " of 16 streams were on the killed node; the slowest "
      + "stream heard again " + worstGapMillis + " ms after the kill");
    assertEquals(0, stalled, "no stream waited more than 3 s after the kill (worst " + worstGapMillis + " ms)");
  }

  private static boolean isUp(NodeProcess node) {
    try {
      return Http.get("http://127.0.0.1:" + node.managementPort + "/health").statusCode() == 200;
    } catch (RuntimeException gone) {
      return false;
    }
  }
}

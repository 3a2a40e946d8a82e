package io.switchboard;

import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Priority admission under overload: a deployment at its concurrency limit makes turns wait in a bounded
 * queue, highest tenant priority first and fair between tenants of one priority; a full queue or a wait past
 * the deadline is answered with 429/503 and Retry-After instead of piling onto the upstream.
 */
class AdmissionTest {
  private static final String CONFIG = """
    auth:
      enabled: true
      keys:
        - {key: key-gold-000000000001, tenant: gold, priority: 5}
        - {key: key-bronze-a-00000001, tenant: bronze-a, priority: 0}
        - {key: key-bronze-b-00000001, tenant: bronze-b, priority: 0}
    simulator:
      tokens_per_second: 0
      reply_tokens: 4
    model_list:
      - model_name: narrow
        provider: simulator
        max_concurrency: 1
        simulator: {ttft_ms: 400}
      - model_name: narrow-short
        provider: simulator
        max_concurrency: 1
        simulator: {ttft_ms: 1000}
    routes:
      - model_name: narrow
        queue: {max_waiting: 4, max_wait_ms: 5000}
      - model_name: narrow-short
        queue: {max_waiting: 10, max_wait_ms: 200}
    """;
  private static TestNode node;
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() {
    node = TestNode.start(CONFIG, java.util.Map.of("SWITCHBOARD_SERVER_INSTANCES", "1"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static CompletableFuture<HttpResponse<String>> ask(String model, String key, String label, List<String> done) {
    String body = new JsonObject().put("model", model).put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", label))).encode();
    return CLIENT.sendAsync(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/chat/completions"))
        .header("authorization", "Bearer " + key).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString())
      .whenComplete((response, failure) -> {
        if (response != null && response.statusCode() == 200) {
          done.add(label);
        }
      });
  }

  @Test
  void a_higher_priority_goes_first_and_tenants_of_one_priority_take_turns() throws Exception {
    List<String> done = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    all.add(ask("narrow", "key-bronze-a-00000001", "a1", done));
    Thread.sleep(100);
    all.add(ask("narrow", "key-bronze-a-00000001", "a2", done));
    Thread.sleep(30);
    all.add(ask("narrow", "key-bronze-a-00000001", "a3", done));
    Thread.sleep(30);
    all.add(ask("narrow", "key-bronze-b-00000001", "b1", done));
    Thread.sleep(30);
    all.add(ask("narrow", "key-gold-000000000001", "gold", done));
    Thread.sleep(30);
    HttpResponse<String> overflow = ask("narrow", "key-bronze-b-00000001", "overflow", done).get();
    assertEquals(429, overflow.statusCode(), overflow.body());
    assertTrue(overflow.headers().firstValue("retry-after").isPresent());
    assertEquals("overloaded", new JsonObject(overflow.body()).getJsonObject("error").getString("code"));
    for (CompletableFuture<HttpResponse<String>> request : all) {
      assertEquals(200, request.get().statusCode());
    }
    assertEquals(List.of("a1", "gold", "a2", "b1", "a3"), done);
  }

  @Test
  void a_turn_that_waits_past_the_queue_deadline_gets_503_with_retry_after() throws Exception {
    List<String> done = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<HttpResponse<String>> first = ask("narrow-short", "key-gold-000000000001", "first", done);
    Thread.sleep(100);
    long start = System.nanoTime();
    HttpResponse<String> waited = ask("narrow-short", "key-gold-000000000001", "second", done).get();
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(503, waited.statusCode(), waited.body());
    assertTrue(waited.headers().firstValue("retry-after").isPresent());
    assertTrue(millis < 900, "rejected after the 200 ms queue deadline, not when the slot freed: " + millis);
    assertEquals(200, first.get().statusCode());
  }
}

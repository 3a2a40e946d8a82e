package io.switchboard.simulator;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator speaks HTTP/2 over plain TCP (h2c with prior knowledge) as a provider would, many streams on one
 * connection; a stream told to break off is reset alone, and the others on its connection go on.
 */
class SimulatorHttp2Test {
  private static final SimulatorKnobs PACED = new SimulatorKnobs(20, 100, 6, 0, 500, false, -1, 0);
  private static Vertx vertx;
  private static SimulatorVerticle simulator;
  private static HttpClientAgent client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    simulator = new SimulatorVerticle("127.0.0.1", 0, PACED);
    vertx.deployVerticle(simulator).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    client = vertx.httpClientBuilder()
      .with(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false))
      .with(new PoolOptions().setHttp2MaxSize(1))
      .build();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private record Answer(HttpVersion version, Object connection, int status, String body) {
  }

  private static Future<Answer> post(SimulatorKnobs knobs, boolean stream) {
    String body = new JsonObject().put("model", SimulatorVerticle.MODEL).put("stream", stream)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))).encode();
    return client.request(new RequestOptions().setMethod(HttpMethod.POST)
        .setAbsoluteURI(simulator.baseUrl(knobs) + "/chat/completions").putHeader("content-type", "application/json"))
      .compose(request -> request.send(Buffer.buffer(body)).compose(response -> response.body()
        .map(answer -> new Answer(response.version(), request.connection(), response.statusCode(), answer.toString()))));
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Test
  void json_and_streams_share_one_h2c_connection() throws Exception {
    Answer json = await(post(PACED, false));
    assertEquals(HttpVersion.HTTP_2, json.version());
    assertEquals(200, json.status(), json.body());
    assertEquals("chat.completion", new JsonObject(json.body()).getString("object"));

    Set<Object> connections = ConcurrentHashMap.newKeySet();
    connections.add(json.connection());
    Future<?>[] streams = new Future<?>[20];
    for (int i = 0; i < streams.length; i++) {
      streams[i] = post(PACED, true).onSuccess(answer -> connections.add(answer.connection()));
    }
    for (Future<?> stream : streams) {
      Answer answer = (Answer) await(stream);
      assertEquals(HttpVersion.HTTP_2, answer.version());
      assertEquals(200, answer.status());
      assertTrue(answer.body().contains("\"content\":") && answer.body().endsWith("data: [DONE]\n\n"), answer.body());
    }
    assertEquals(1, connections.size(), "every call on the one connection");
  }

  @Test
  void a_dropped_stream_is_reset_alone_and_its_neighbours_finish() throws Exception {
    SimulatorKnobs dropping = new SimulatorKnobs(20, 100, 6, 0, 500, false, 2, 0);
    Future<Answer> neighbour = post(PACED, true);
    Throwable dropped = post(dropping, true).toCompletionStage().toCompletableFuture()
      .handle((answer, failure) -> failure).get(20, TimeUnit.SECONDS);
    assertTrue(dropped != null, "the dropped stream fails");
    Answer finished = await(neighbour);
    assertTrue(finished.body().endsWith("data: [DONE]\n\n"), "the neighbour finished: " + finished.body());
  }
}

package io.switchboard.simulator;

import io.switchboard.testing.Http;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code POST /v1/embeddings} on the simulator, over real HTTP. */
class SimulatorEmbeddingsTest {
  private static Vertx vertx;
  private static SimulatorVerticle simulator;
  private static String url;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    simulator = new SimulatorVerticle("127.0.0.1", 0, SimulatorApiTest.FAST);
    vertx.deployVerticle(simulator).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    url = simulator.baseUrl(SimulatorApiTest.FAST) + "/embeddings";
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static JsonObject embed(JsonObject body) {
    HttpResponse<String> response = Http.post(url, body.encode());
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  private static float[] floats(JsonObject item) {
    JsonArray values = item.getJsonArray("embedding");
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.getDouble(i).floatValue();
    }
    return out;
  }

  private static float[] decode(String base64) {
    ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[bytes.remaining() / 4];
    for (int i = 0; i < out.length; i++) {
      out[i] = bytes.getFloat();
    }
    return out;
  }

  private static double norm(float[] v) {
    double sum = 0;
    for (float f : v) {
      sum += (double) f * f;
    }
    return Math.sqrt(sum);
  }

  @Test
  void a_string_gets_a_deterministic_unit_vector_in_the_real_shape() {
    JsonObject response = embed(new JsonObject().put("model", "text-embedding-3-small").put("input", "hello world"));
    assertEquals(Set.of("object", "data", "model", "usage"), response.fieldNames());
    assertEquals("list", response.getString("object"));
    assertEquals("text-embedding-3-small", response.getString("model"));
    JsonObject item = response.getJsonArray("data").getJsonObject(0);
    assertEquals(Set.of("object", "index", "embedding"), item.fieldNames());
    assertEquals("embedding", item.getString("object"));
    assertEquals(0, item.getInteger("index"));
    float[] vector = floats(item);
    assertEquals(8, vector.length, "8 dimensions by default");
    assertEquals(1.0, norm(vector), 1e-5);
    JsonObject usage = response.getJsonObject("usage");
    assertTrue(usage.getInteger("prompt_tokens") > 0);
    assertEquals(usage.getInteger("prompt_tokens"), usage.getInteger("total_tokens"));
    assertArrayEquals(vector, floats(embed(new JsonObject().put("input", "hello world")).getJsonArray("data")
      .getJsonObject(0)), "the same input, the same vector");
    assertFalse(java.util.Arrays.equals(vector, floats(embed(new JsonObject().put("input", "hello there"))
      .getJsonArray("data").getJsonObject(0))));
  }

  @Test
  void base64_decodes_to_the_float_vector() {
    JsonObject body = new JsonObject().put("input", new JsonArray().add("one").add("two")).put("dimensions", 256);
    JsonObject floats = embed(body.copy().put("encoding_format", "float"));
    JsonObject base64 = embed(body.copy().put("encoding_format", "base64"));
    for (int i = 0; i < 2; i++) {
      float[] expected = floats(floats.getJsonArray("data").getJsonObject(i));
      assertEquals(256, expected.length);
      float[] decoded = decode(base64.getJsonArray("data").getJsonObject(i).getString("embedding"));
      assertArrayEquals(expected, decoded);
      assertEquals(1.0, norm(decoded), 1e-5);
    }
    assertEquals(floats.getJsonObject("usage"), base64.getJsonObject("usage"));
  }

  @Test
  void dimensions_shorten_the_vector_as_openai_does() {
    float[] full = floats(embed(new JsonObject().put("input", "cut me").put("dimensions", 3072))
      .getJsonArray("data").getJsonObject(0));
    assertEquals(3072, full.length);
    float[] shortened = floats(embed(new JsonObject().put("input", "cut me").put("dimensions", 4))
      .getJsonArray("data").getJsonObject(0));
    assertEquals(4, shortened.length);
    assertEquals(1.0, norm(shortened), 1e-5);
    double prefixNorm = norm(java.util.Arrays.copyOf(full, 4));
    for (int i = 0; i < 4; i++) {
      assertEquals(full[i] / prefixNorm, shortened[i], 1e-5, "the long vector's start, normalised");
    }
  }

  @Test
  void every_input_form_is_taken_and_indexed() {
    JsonObject strings = embed(new JsonObject().put("input", new JsonArray().add("a").add("b").add("a")));
    JsonArray data = strings.getJsonArray("data");
    assertEquals(3, data.size());
    for (int i = 0; i < 3; i++) {
      assertEquals(i, data.getJsonObject(i).getInteger("index"));
    }
    assertArrayEquals(floats(data.getJsonObject(0)), floats(data.getJsonObject(2)));
    assertFalse(java.util.Arrays.equals(floats(data.getJsonObject(0)), floats(data.getJsonObject(1))));

    JsonObject tokens = embed(new JsonObject().put("input", new JsonArray().add(15339).add(1917)));
    assertEquals(1, tokens.getJsonArray("data").size());
    assertEquals(2, tokens.getJsonObject("usage").getInteger("prompt_tokens"));
    JsonObject arrays = embed(new JsonObject().put("input", new JsonArray()
      .add(new JsonArray().add(15339).add(1917)).add(new JsonArray().add(7))));
    assertEquals(2, arrays.getJsonArray("data").size());
    assertEquals(3, arrays.getJsonObject("usage").getInteger("prompt_tokens"));
    assertArrayEquals(floats(tokens.getJsonArray("data").getJsonObject(0)),
      floats(arrays.getJsonArray("data").getJsonObject(0)), "the same tokens, the same vector");
    assertEquals(1.0, norm(floats(arrays.getJsonArray("data").getJsonObject(1))), 1e-5);
  }

  private static JsonObject refused(JsonObject body) {
    HttpResponse<String> response = Http.post(url, body.encode());
    assertEquals(400, response.statusCode(), response.body());
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertEquals(Set.of("message", "type", "param", "code"), error.fieldNames());
    assertEquals("invalid_request_error", error.getString("type"));
    return error;
  }

  @Test
  void bad_requests_are_refused_in_openais_shape() {
    assertEquals("input", refused(new JsonObject().put("model", "m")).getString("param"));
    refused(new JsonObject().put("input", ""));
    refused(new JsonObject().put("input", new JsonArray()));
    refused(new JsonObject().put("input", new JsonArray().add("")));
    refused(new JsonObject().put("input", new JsonArray().add("a").add(1)));
    refused(new JsonObject().put("input", new JsonArray().add(1).add("a")));
    refused(new JsonObject().put("input", new JsonArray().add(new JsonArray())));
    refused(new JsonObject().put("input", new JsonArray().add(new JsonArray().add("x"))));
    refused(new JsonObject().put("input", 42));
    refused(new JsonObject().put("input", new JsonObject()));
    assertEquals("dimensions", refused(new JsonObject().put("input", "x").put("dimensions", 0)).getString("param"));
    assertEquals("dimensions", refused(new JsonObject().put("input", "x").put("dimensions", 3073)).getString("param"));
    assertEquals("dimensions", refused(new JsonObject().put("input", "x").put("dimensions", "8")).getString("param"));
    JsonObject encoding = refused(new JsonObject().put("input", "x").put("encoding_format", "hex"));
    assertEquals("encoding_format", encoding.getString("param"));
    assertEquals("Invalid value: 'hex'. Supported values are: 'float' and 'base64'.", encoding.getString("message"));
  }

  @Test
  void the_knobs_apply_to_embeddings() throws Exception {
    SimulatorKnobs failing = new SimulatorKnobs(0, 0, 12, 1, 503, false, -1, 7);
    HttpResponse<String> failed = Http.post(simulator.baseUrl(failing) + "/embeddings",
      new JsonObject().put("input", "x").encode());
    assertEquals(503, failed.statusCode());
    assertEquals("7", failed.headers().firstValue("retry-after").orElseThrow());

    SimulatorKnobs slow = new SimulatorKnobs(300, 0, 12, 0, 500, false, -1, 0);
    long start = System.nanoTime();
    assertEquals(200, Http.post(simulator.baseUrl(slow) + "/embeddings",
      new JsonObject().put("input", "x").encode()).statusCode());
    assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(290), "ttft_ms delays the answer");

    SimulatorKnobs hanging = new SimulatorKnobs(0, 0, 12, 0, 500, true, -1, 0);
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create(simulator.baseUrl(hanging) + "/embeddings"))
      .timeout(Duration.ofMillis(400)).header("content-type", "application/json")
      .POST(HttpRequest.BodyPublishers.ofString("{\"input\":\"x\"}")).build();
    assertThrows(HttpTimeoutException.class, () -> client.send(request, HttpResponse.BodyHandlers.ofString()));
  }
}

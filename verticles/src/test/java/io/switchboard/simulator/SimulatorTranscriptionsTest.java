package io.switchboard.simulator;

import io.switchboard.testing.Audio;
import io.switchboard.testing.Http;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code POST /v1/audio/transcriptions} on the simulator, over real HTTP: the same audio always gives the same
 * transcript, a WAV's length is its duration, and what OpenAI refuses is refused with OpenAI's error JSON.
 */
class SimulatorTranscriptionsTest {
  private static Vertx vertx;
  private static String url;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    SimulatorVerticle simulator = new SimulatorVerticle("127.0.0.1", 0, SimulatorApiTest.FAST);
    vertx.deployVerticle(simulator).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    url = simulator.baseUrl(SimulatorApiTest.FAST) + "/audio/transcriptions";
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static HttpResponse<String> post(Map<String, String> fields, String fileName, byte[] file) {
    return Audio.post(url, null, fields, fileName, file);
  }

  private static JsonObject error(HttpResponse<String> response, int status) {
    assertEquals(status, response.statusCode(), response.body());
    return new JsonObject(response.body()).getJsonObject("error");
  }

  @Test
  void the_same_audio_gives_the_same_words_and_other_audio_other_words() {
    Map<String, String> fields = Map.of("model", Transcriptions.MODEL, "response_format", "verbose_json");
    JsonObject first = new JsonObject(post(fields, "a.wav", Audio.wav(4_000, null)).body());
    JsonObject again = new JsonObject(post(fields, "a.wav", Audio.wav(4_000, null)).body());
    assertEquals(first, again);
    assertEquals(4.0, first.getDouble("duration"), 0.001);
    assertEquals(10, first.getString("text").split(" ").length, "2.5 words a second");
    assertEquals(4, first.getJsonObject("usage").getInteger("seconds"));
    assertNotEquals(first.getString("text"), new JsonObject(post(fields, "a.wav", Audio.wav(4_100, null)).body())
      .getString("text"));
    assertEquals(2.0, Transcriptions.wavSeconds(Buffer.buffer(Audio.wav(2_000, "with a comment chunk"))), 0.001);
    assertEquals("你好 world", Transcriptions.said(Buffer.buffer(Audio.amr("你好 world"))));
  }

  @Test
  void what_openai_refuses_is_refused_in_its_words() {
    JsonObject notMultipart = error(Http.post(url, "{\"model\":\"whisper-1\"}"), 400);
    assertTrue(notMultipart.getString("message").startsWith("Invalid Content-Type header"), notMultipart.encode());
    assertTrue(error(post(Map.of("model", "m"), null, null), 400).getString("message").contains("body -> file"));
    assertTrue(error(post(Map.of(), "a.wav", Audio.wav(100, "x")), 400).getString("message")
      .contains("body -> model"));
    assertTrue(error(post(Map.of("model", "m"), "a.txt", Audio.wav(100, "x")), 400).getString("message")
      .startsWith("Invalid file format. Supported formats:"));
    assertEquals("response_format", error(post(Map.of("model", "m", "response_format", "mp3"), "a.wav",
      Audio.wav(100, "x")), 400).getString("param"));
  }
}

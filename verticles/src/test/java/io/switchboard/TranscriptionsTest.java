package io.switchboard;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.MultipartField;
import com.openai.errors.BadRequestException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.PermissionDeniedException;
import com.openai.errors.RateLimitException;
import com.openai.models.audio.AudioResponseFormat;
import com.openai.models.audio.transcriptions.Transcription;
import com.openai.models.audio.transcriptions.TranscriptionCreateParams;
import com.openai.models.audio.transcriptions.TranscriptionVerbose;
import io.switchboard.testing.Audio;
import io.switchboard.testing.FreePorts;
import io.switchboard.testing.Http;
import io.switchboard.testing.RawHttp;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code POST /v1/audio/transcriptions} through the gateway: the official OpenAI SDK gets the simulator's
 * deterministic transcript in each response format, an OpenAI-compatible provider receives the client's form with
 * the audio byte for byte (its key pool dropping a refused key), a failing deployment falls back, and the gateway's
 * rules hold as for chat: allow-lists, rate limits, a 413 on audio over the limit, OpenAI-shaped refusals.
 */
class TranscriptionsTest {
  private static final String KEY = "test-key-audio-0123456789";
  private static final String NARROW_KEY = "test-key-narrow-0123456789";
  private static final String LIMITED_KEY = "test-key-limited-0123456789";
  private static final String REFUSED_KEY = "sk-refused-key-0000000000000001";
  private static final String GOOD_KEY = "sk-good-key-00000000000000000003";
  private static final int MAX_AUDIO = 256 * 1024;
  private static Vertx vertx;
  private static HttpServer provider;
  /** What the fake provider received: its fields, the key under "_key", the file under "_file" / "_filename". */
  private static final List<JsonObject> seen = new CopyOnWriteArrayList<>();
  private static TestNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    provider = vertx.createHttpServer().requestHandler(TranscriptionsTest::openAiTranscriptions)
      .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    node = TestNode.start("""
      server:
        request_timeout_ms: 10000
        max_audio_bytes: %d
      auth:
        enabled: true
        keys:
          - key: %s
            tenant: acme
          - key: %s
            tenant: acme
            models: [chat]
          - key: %s
            tenant: acme
            rpm_limit: 1
      simulator:
        port: %d
        ttft_ms: 2
      model_list:
        - model_name: whisper
          provider: simulator
          model_info: {mode: audio_transcription}
        - model_name: whisper-broken
          provider: simulator
          model_info: {mode: audio_transcription}
          simulator: {error_rate: 1}
          circuit_breaker: {max_failures: 1000}
        - model_name: whisper-pool
          provider: openai
          api_base: http://127.0.0.1:%d/v1
          api_keys: [%s, %s]
          upstream_model: gpt-4o-transcribe
          model_info: {mode: audio_transcription}
        - model_name: chat
          provider: simulator
      routes:
        - {model_name: whisper-broken, fallbacks: [whisper], num_retries: 1, retry_base_ms: 5}
      """.formatted(MAX_AUDIO, KEY, NARROW_KEY, LIMITED_KEY, FreePorts.next(), provider.actualPort(), REFUSED_KEY,
      GOOD_KEY));
    client = sdk(KEY);
  }

  private static OpenAIClient sdk(String key) {
    return OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(key).maxRetries(0)
      .timeout(Duration.ofSeconds(30)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * OpenAI's transcriptions endpoint as far as these tests need it, with its real refusals: multipart only, a
   * refused key gets 401 invalid_api_key, a form without file or model 400.
   */
  private static void openAiTranscriptions(HttpServerRequest request) {
    String type = request.getHeader("content-type");
    if (type == null || !type.startsWith("multipart/form-data; boundary=")) {
      request.body().onSuccess(b -> error(request, 400, "Invalid Content-Type header (" + type
        + "), expected multipart/form-data."));
      return;
    }
    request.setExpectMultipart(true);
    Buffer file = Buffer.buffer();
    JsonObject got = new JsonObject();
    request.uploadHandler(upload -> {
      got.put("_filename", upload.filename()).put("_filetype", upload.contentType());
      upload.handler(file::appendBuffer);
    });
    request.endHandler(end -> {
      String authorization = request.getHeader("authorization");
      String key = authorization == null ? null : authorization.substring("Bearer ".length());
      JsonArray order = new JsonArray();
      request.formAttributes().forEach(field -> {
        order.add(field.getKey());
        got.put(field.getKey(), field.getValue());
      });
      seen.add(got.put("_key", key).put("_order", order).put("_file", file.getBytes()));
      if (!request.path().equals("/v1/audio/transcriptions")) {
        error(request, 404, "Invalid URL (POST " + request.path() + ")");
      } else if (REFUSED_KEY.equals(key)) {
        error(request, 401, "Incorrect API key provided: sk-refu*****0001.");
      } else if (!GOOD_KEY.equals(key)) {
        error(request, 401, "You didn't provide an API key.");
      } else if (file.length() == 0 || !got.containsKey("model")) {
        error(request, 400, "1 validation error for Request\nbody -> file\n  field required");
      } else {
        request.response().putHeader("content-type", "application/json").end(new JsonObject()
          .put("text", "provider heard " + file.length() + " bytes").put("logprobs", new JsonArray())
          .put("usage", new JsonObject().put("type", "tokens").put("input_tokens", 14).put("output_tokens", 5)
            .put("total_tokens", 19)).encode());
      }
    });
  }

  private static void error(HttpServerRequest request, int status, String message) {
    request.response().setStatusCode(status).putHeader("content-type", "application/json")
      .end(new JsonObject().put("error", new JsonObject().put("message", message)
        .put("type", "invalid_request_error").putNull("param").put("code", status == 401 ? "invalid_api_key"
          : null)).encode());
  }

  private static MultipartField<java.io.InputStream> file(String name, byte[] bytes) {
    return MultipartField.<java.io.InputStream>builder().value(new ByteArrayInputStream(bytes)).filename(name)
      .contentType("audio/wav").build();
  }

  private static HttpResponse<String> raw(Map<String, String> fields, String fileName, byte[] bytes) {
    return Audio.post(node.baseUrl() + "/v1/audio/transcriptions", "Bearer " + KEY, fields, fileName, bytes);
  }

  @Test
  void the_sdk_gets_what_the_simulator_heard_in_a_wav() {
    Transcription answer = client.audio().transcriptions().create(TranscriptionCreateParams.builder()
      .file(file("hello.wav", Audio.wav(3_000, "hello from the gateway"))).model("whisper").build()).asTranscription();
    assertEquals("hello from the gateway", answer.text());
    JsonObject usage = new JsonObject(raw(Map.of("model", "whisper"), "hello.wav",
      Audio.wav(3_000, "hello from the gateway")).body()).getJsonObject("usage");
    assertEquals(new JsonObject().put("type", "duration").put("seconds", 3), usage, "a WAV's own length is billed");
  }

  @Test
  void verbose_json_carries_the_wavs_duration_and_the_language_asked_for() {
    TranscriptionVerbose answer = client.audio().transcriptions().create(TranscriptionCreateParams.builder()
      .file(file("speech.wav", Audio.wav(2_500, null))).model("whisper").language("de").prompt("a fox")
      .temperature(0.2).responseFormat(AudioResponseFormat.VERBOSE_JSON).build()).asVerbose();
    assertEquals(2.5, answer.duration(), 0.001);
    assertEquals("de", answer.language());
    assertFalse(answer.text().isBlank(), "words chosen by the audio's checksum");
    assertEquals(answer.text(), client.audio().transcriptions().create(TranscriptionCreateParams.builder()
      .file(file("speech.wav", Audio.wav(2_500, null))).model("whisper")
      .responseFormat(AudioResponseFormat.VERBOSE_JSON).build()).asVerbose().text(), "the same audio, the same text");
    assertEquals(1, answer.segments().orElseThrow().size());
  }

  @Test
  void text_srt_and_vtt_come_back_as_text() {
    byte[] wav = Audio.wav(1_200, "plain words");
    HttpResponse<String> text = raw(Map.of("model", "whisper", "response_format", "text"), "a.wav", wav);
    assertEquals(200, text.statusCode(), text.body());
    assertTrue(text.headers().firstValue("content-type").orElseThrow().startsWith("text/plain"));
    assertEquals("plain words\n", text.body());
    HttpResponse<String> srt = raw(Map.of("model", "whisper", "response_format", "srt"), "a.wav", wav);
    assertEquals("1\n00:00:00,000 --> 00:00:01,200\nplain words\n\n", srt.body());
    HttpResponse<String> vtt = raw(Map.of("model", "whisper", "response_format", "vtt"), "a.wav", wav);
    assertEquals("WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nplain words\n\n", vtt.body());
    assertTrue(text.headers().firstValue("x-request-id").isPresent(), "a request id, as on chat");
  }

  @Test
  void a_provider_gets_the_clients_form_and_audio_byte_for_byte_and_a_refused_key_leaves_the_pool() {
    byte[] wav = Audio.wav(800, "for the provider");
    seen.clear();
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("model", "whisper-pool");
    fields.put("language", "zh");
    fields.put("prompt", "会议记录");
    fields.put("temperature", "0.3");
    fields.put("chunking_strategy", "auto");
    HttpResponse<String> first = null;
    for (int i = 0; i < 3; i++) {
      first = raw(fields, "会议.wav", wav);
      if (first.statusCode() == 200) {
        break;
      }
    }
    assertEquals(200, first.statusCode(), first.body());
    JsonObject answer = new JsonObject(first.body());
    assertEquals("provider heard " + wav.length + " bytes", answer.getString("text"));
    assertEquals(19, answer.getJsonObject("usage").getInteger("total_tokens"), "the provider's answer as it wrote it");
    JsonObject got = seen.get(seen.size() - 1);
    assertEquals(GOOD_KEY, got.getString("_key"));
    assertEquals("gpt-4o-transcribe", got.getString("model"), "the deployment's upstream model");
    assertEquals("zh", got.getString("language"));
    assertEquals("会议记录", got.getString("prompt"));
    assertEquals("0.3", got.getString("temperature"));
    assertEquals("auto", got.getString("chunking_strategy"), "a field the gateway does not read goes on");
    assertEquals(new JsonArray().add("model").add("language").add("prompt").add("temperature")
      .add("chunking_strategy"), got.getJsonArray("_order"));
    assertEquals("会议.wav", got.getString("_filename"));
    assertArrayEquals(wav, got.getBinary("_file"), "the audio byte for byte");
    seen.clear();
    assertEquals(200, raw(fields, "b.wav", wav).statusCode());
    assertTrue(seen.stream().allMatch(s -> GOOD_KEY.equals(s.getString("_key"))), "the refused key is out: " + seen);
  }

  @Test
  void a_failing_deployment_falls_back() {
    Transcription answer = client.audio().transcriptions().create(TranscriptionCreateParams.builder()
      .file(file("x.wav", Audio.wav(500, "saved by the fallback"))).model("whisper-broken").build())
      .asTranscription();
    assertEquals("saved by the fallback", answer.text());
  }

  @Test
  void audio_over_the_limit_gets_413() {
    OpenAIServiceException tooBig = assertThrows(OpenAIServiceException.class, () -> client.audio().transcriptions()
      .create(TranscriptionCreateParams.builder().file(file("long.wav", Audio.wav(10_000, null))).model("whisper")
        .build()));
    assertEquals(413, tooBig.statusCode());
    assertEquals("request_too_large", tooBig.code().orElseThrow());
    byte[] justOver = Arrays.copyOf(Audio.wav(100, "x"), MAX_AUDIO + 1);
    HttpResponse<String> raw = raw(Map.of("model", "whisper"), "x.wav", justOver);
    assertEquals(413, raw.statusCode(), raw.body());
    assertEquals("file", new JsonObject(raw.body()).getJsonObject("error").getString("param"));
    assertEquals(200, raw(Map.of("model", "whisper"), "x.wav", Arrays.copyOf(Audio.wav(100, "x"), MAX_AUDIO))
      .statusCode(), "exactly the limit is taken");
  }

  @Test
  void an_upload_that_asks_to_continue_first_is_let_in_or_refused_before_it_is_sent() {
    String url = node.baseUrl() + "/v1/audio/transcriptions";
    HttpResponse<String> taken = Audio.post(url, "Bearer " + KEY, Map.of("model", "whisper"), "x.wav",
      Audio.wav(2_000, "asked first"), true);
    assertEquals(200, taken.statusCode(), taken.body());
    assertEquals("asked first", new JsonObject(taken.body()).getString("text"));
    // the head alone, as curl sends it before a large upload: the answer comes before any of the body is sent
    String head = "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY
      + "\r\nContent-Type: multipart/form-data; boundary=b\r\nExpect: 100-continue\r\nContent-Length: ";
    RawHttp.Exchange tooBig = RawHttp.exchange(node.apiPort, head + (MAX_AUDIO + 100_000) + "\r\n\r\n", 3_000);
    assertEquals(List.of("HTTP/1.1 413 Request Entity Too Large"), tooBig.statusLines(), tooBig.text());
    assertEquals("request_too_large", tooBig.error().getString("code"));
    RawHttp.Exchange fits = RawHttp.exchange(node.apiPort, head + 10_000 + "\r\n\r\n", 3_000);
    assertEquals("HTTP/1.1 100 Continue", fits.statusLines().get(0), fits.text());
  }

  @Test
  void a_field_longer_than_the_form_takes_is_a_400_not_a_hang() {
    HttpResponse<String> response = raw(Map.of("model", "whisper", "prompt", "word ".repeat(4_000)), "x.wav",
      Audio.wav(300, "x"));
    assertEquals(400, response.statusCode(), response.body());
    assertTrue(response.body().contains("\"error\""), response.body());
  }

  @Test
  void allow_lists_and_rate_limits_apply() {
    OpenAIClient narrow = sdk(NARROW_KEY);
    OpenAIClient limited = sdk(LIMITED_KEY);
    try {
      PermissionDeniedException outside = assertThrows(PermissionDeniedException.class, () -> narrow.audio()
        .transcriptions().create(TranscriptionCreateParams.builder().file(file("x.wav", Audio.wav(300, "x")))
          .model("whisper").build()));
      assertEquals("model_not_allowed", outside.code().orElseThrow());
      limited.audio().transcriptions().create(TranscriptionCreateParams.builder()
        .file(file("x.wav", Audio.wav(300, "one"))).model("whisper").build());
      RateLimitException second = assertThrows(RateLimitException.class, () -> limited.audio().transcriptions()
        .create(TranscriptionCreateParams.builder().file(file("x.wav", Audio.wav(300, "two"))).model("whisper")
          .build()));
      assertEquals("rate_limit_exceeded", second.code().orElseThrow());
    } finally {
      narrow.close();
      limited.close();
    }
    HttpResponse<String> anonymous = Audio.post(node.baseUrl() + "/v1/audio/transcriptions", null,
      Map.of("model", "whisper"), "x.wav", Audio.wav(300, "x"));
    assertEquals(401, anonymous.statusCode());
  }

  @Test
  void requests_openai_would_refuse_are_refused_naming_their_field() {
    BadRequestException chatModel = assertThrows(BadRequestException.class, () -> client.audio().transcriptions()
      .create(TranscriptionCreateParams.builder().file(file("x.wav", Audio.wav(300, "x"))).model("chat").build()));
    assertTrue(chatModel.getMessage().contains("does not serve audio transcriptions"), chatModel.getMessage());
    HttpResponse<String> chatToWhisper = Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject()
      .put("model", "whisper").put("messages", new JsonArray().add(new JsonObject().put("role", "user")
        .put("content", "hi"))).encode(), "authorization", "Bearer " + KEY);
    assertEquals(400, chatToWhisper.statusCode(), chatToWhisper.body());
    assertTrue(chatToWhisper.body().contains("/v1/audio/transcriptions"), chatToWhisper.body());
    assertEquals("file", param(raw(Map.of("model", "whisper"), null, null)));
    assertEquals("model", param(raw(Map.of(), "x.wav", Audio.wav(300, "x"))));
    assertEquals("response_format", param(raw(Map.of("model", "whisper", "response_format", "mp3"), "x.wav",
      Audio.wav(300, "x"))));
    assertEquals("temperature", param(raw(Map.of("model", "whisper", "temperature", "hot"), "x.wav",
      Audio.wav(300, "x"))));
    HttpResponse<String> json = Http.post(node.baseUrl() + "/v1/audio/transcriptions", "{\"model\":\"whisper\"}",
      "authorization", "Bearer " + KEY, "content-type", "application/json");
    assertEquals(400, json.statusCode(), json.body());
    HttpResponse<String> format = raw(Map.of("model", "whisper"), "notes.txt", "not audio".getBytes());
    assertEquals(400, format.statusCode(), format.body());
    assertTrue(format.body().contains("Invalid file format"), "the upstream's refusal: " + format.body());
  }

  private static String param(HttpResponse<String> response) {
    assertEquals(400, response.statusCode(), response.body());
    return new JsonObject(response.body()).getJsonObject("error").getString("param");
  }
}

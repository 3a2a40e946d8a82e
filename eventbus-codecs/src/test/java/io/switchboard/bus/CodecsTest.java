package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CodecsTest {

  private static <T> T roundTrip(RecordCodec<T> codec, T record) {
    Buffer buffer = Buffer.buffer().appendString("prefix"); // codecs must honour the position they are given
    codec.encodeToWire(buffer, record);
    return codec.decodeFromWire(6, buffer);
  }

  @Test
  void every_record_survives_the_wire_unchanged() {
    List<ChatMessage> messages = List.of(new ChatMessage("system", "be brief"),
      new ChatMessage(new JsonObject().put("role", "user").put("name", "ada").put("content", new JsonArray()
        .add(new JsonObject().put("type", "text").put("text", "héllo \"wörld\" 你好 \n"))
        .add(new JsonObject().put("type", "image_url").put("image_url", new JsonObject().put("url", "data:image/png;base64,AAAA"))))),
      new ChatMessage(new JsonObject().put("role", "assistant").putNull("content").put("tool_calls", new JsonArray()
        .add(new JsonObject().put("id", "call_1").put("type", "function")
          .put("function", new JsonObject().put("name", "f").put("arguments", "{\"a\":1}"))))),
      new ChatMessage(new JsonObject().put("role", "tool").put("tool_call_id", "call_1").put("content", "42")));
    ChatRequest request = new ChatRequest("req_1", "acme", "gpt-4o", messages, true,
      new JsonObject().put("temperature", 0.2).put("tools", new JsonArray().add(new JsonObject().put("type", "function"))),
      "switchboard.inbox.n1.0", 30_000, "conv-1", 3);
    assertEquals(request, roundTrip(ChatRequest.CODEC, request));
    ChatRequest tagged = request.withRouteHeaders(new JsonObject().put("x-pool", "gpu"));
    assertEquals(tagged, roundTrip(ChatRequest.CODEC, tagged));
    assertEquals("gpu", tagged.retry("fallback", messages, 1, 0, 999, null).routeHeaders().getString("x-pool"));
    ChatRequest plain = new ChatRequest("req_2", "acme", "m", messages, false, null, null, 1, null, 0);
    assertEquals(plain, roundTrip(ChatRequest.CODEC, plain));
    ChatRequest retry = request.retry("fallback", messages, 3, 17, 999, "switchboard.routing.grant.n1");
    assertEquals(retry, roundTrip(ChatRequest.CODEC, retry));
    assertEquals(new StreamGrant("req_1", 2), roundTrip(StreamGrant.CODEC, new StreamGrant("req_1", 2)));
    assertEquals(new CancelTurn("req_1", -1, "client left"),
      roundTrip(CancelTurn.CODEC, new CancelTurn("req_1", -1, "client left")));
    StreamChunk chunk = StreamChunk.chunk("req_1", 7, Buffer.buffer("{\"id\":\"x\"}"), " wörld", StreamChunk.TOOL_CALLS);
    assertEquals(chunk, roundTrip(StreamChunk.CODEC, chunk));
    StreamChunk first = StreamChunk.first("req_1", 0, Buffer.buffer("data: {}\n\n"), "", 0, "gpt-4o.0");
    assertEquals(first, roundTrip(StreamChunk.CODEC, first));
    JsonObject usage = new JsonObject().put("prompt_tokens", 10).put("completion_tokens", 20)
      .put("completion_tokens_details", new JsonObject().put("reasoning_tokens", 5));
    ChatResult result = new ChatResult("req_1", Buffer.buffer("{\"object\":\"chat.completion\"}"),
      new JsonObject().put("role", "assistant").put("content", "answer"), "length", usage, 0, "gpt-4o.0", 120);
    assertEquals(result, roundTrip(ChatResult.CODEC, result));
    assertEquals(10, result.promptTokens());
    assertEquals("answer", result.content());
    StreamChunk end = StreamChunk.end("req_1", 8, result.withStreamFacts(8, 3));
    assertEquals(end, roundTrip(StreamChunk.CODEC, end));
    StreamBurst burst = new StreamBurst(List.of(first, chunk, end));
    assertEquals(burst, roundTrip(StreamBurst.CODEC, burst));
    StreamProgress progress = new StreamProgress("req_1", 5, "Hello", false, true);
    assertEquals(progress, roundTrip(StreamProgress.CODEC, progress));
    PromptQuery prompt = new PromptQuery("acme", "c-1", messages, 4096);
    assertEquals(prompt, roundTrip(PromptQuery.CODEC, prompt));
    assertEquals(new History(messages), roundTrip(History.CODEC, new History(messages)));
    assertEquals(new HistoryQuery("acme", "c-1"), roundTrip(HistoryQuery.CODEC, new HistoryQuery("acme", "c-1")));
    HistoryAppend append = new HistoryAppend("acme", "c-1", messages);
    assertEquals(append, roundTrip(HistoryAppend.CODEC, append));
    ModelCatalog catalog = new ModelCatalog(List.of(new ModelCatalog.Model("a", "openai", 1),
      new ModelCatalog.Model("b", "switchboard-simulator", 2)));
    assertEquals(catalog, roundTrip(ModelCatalog.CODEC, catalog));
  }

  @Test
  void a_bus_failure_keeps_what_the_next_attempt_needs() {
    BusFailure failure = new BusFailure(ApiError.upstreamFailed("broke"), true, 1500, 3, "Hello wor");
    assertEquals(failure, BusFailure.from(failure.toException()));
    assertEquals(2, failure.retryAfterSeconds());
    assertEquals(ApiError.upstreamFailed("broke"), ApiError.from(failure.toException()), "clients read the error part");
  }

  @Test
  void locally_the_same_instance_is_handed_on() {
    StreamChunk chunk = StreamChunk.chunk("r", 0, Buffer.buffer("{}"), "x", 0);
    assertSame(chunk, StreamChunk.CODEC.transform(chunk));
  }

  @Test
  void a_chunk_on_the_wire_is_compact() {
    Buffer buffer = Buffer.buffer();
    Buffer data = Buffer.buffer("{\"choices\":[{\"delta\":{\"content\":\" token\"}}]}");
    StreamChunk.CODEC.encodeToWire(buffer, StreamChunk.chunk("req_0123456789abcdef01234567", 41, data, " token", 0));
    // length, request id, seq, flags, text, the chunk's bytes as they are, no deployment, the end marker
    assertEquals(4 + (4 + 28) + 4 + 1 + (4 + 6) + (4 + data.length()) + 4 + 1, buffer.length());
  }

  @Test
  void an_embeddings_call_and_its_answer_survive_the_wire_unchanged() {
    JsonObject body = new JsonObject().put("input", new JsonArray().add(new JsonArray().add(1).add(2)))
      .put("encoding_format", "base64").put("dimensions", 4).put("user", "ada");
    EmbeddingRequest request = new EmbeddingRequest("req_e", "acme", "embed", body, 5_000, 2);
    assertEquals(request, roundTrip(EmbeddingRequest.CODEC, request));
    EmbeddingRequest retry = request.retry("embed-backup", 2, 900, "switchboard.routing.control.n1");
    assertEquals(retry, roundTrip(EmbeddingRequest.CODEC, retry));
    assertEquals("text-embedding-3-small", new JsonObject(retry.upstreamBody("text-embedding-3-small"))
      .getString("model"));
    assertEquals(false, body.containsKey("model"), "the request's own body is never changed");
    assertEquals("switchboard.embeddings.embed.0", request.inferenceAddress("embed.0"));
    EmbeddingResult result = new EmbeddingResult("req_e", Buffer.buffer("{\"object\":\"list\"}"),
      new JsonObject().put("prompt_tokens", 3).put("total_tokens", 3), "embed.0", 12);
    assertEquals(result, roundTrip(EmbeddingResult.CODEC, result));
    assertEquals(3, result.promptTokens());
    assertThrows(IllegalArgumentException.class, () -> new EmbeddingRequest("r", "t", "m",
      new JsonObject().put("model", "m").put("input", "x"), 1, 0), "the model is the record's, not the body's");
    assertThrows(IllegalArgumentException.class, () -> new EmbeddingRequest("r", "t", "m", new JsonObject(), 1, 0));
  }

  @Test
  void a_transcription_and_its_answer_survive_the_wire_with_the_audio_byte_for_byte() {
    byte[] audio = new byte[70_000];
    for (int i = 0; i < audio.length; i++) {
      audio[i] = (byte) (i * 7);
    }
    JsonArray fields = new JsonArray().add(new JsonArray().add("language").add("zh"))
      .add(new JsonArray().add("timestamp_granularities[]").add("word"))
      .add(new JsonArray().add("timestamp_granularities[]").add("segment"));
    TranscriptionRequest request = new TranscriptionRequest("req_t", "acme", "whisper", fields, Buffer.buffer(audio),
      "会议.wav", "audio/wav", 5_000, 1);
    assertEquals(request, roundTrip(TranscriptionRequest.CODEC, request));
    TranscriptionRequest retry = request.retry("whisper-backup", 1, 800, "switchboard.routing.control.n1");
    assertEquals(retry, roundTrip(TranscriptionRequest.CODEC, retry));
    assertEquals("zh", request.field("language"));
    assertEquals("word", request.field("timestamp_granularities[]"), "the first of a repeated field");
    assertEquals("audio_transcription", request.mode());
    assertEquals("switchboard.transcriptions.whisper.0", request.inferenceAddress("whisper.0"));
    TranscriptionResult result = new TranscriptionResult("req_t", Buffer.buffer("hello\n"), "text/plain",
      "hello\n", null, "whisper.0", 40);
    assertEquals(result, roundTrip(TranscriptionResult.CODEC, result));
    assertThrows(IllegalArgumentException.class, () -> new TranscriptionRequest("r", "t", "m",
      new JsonArray().add(new JsonArray().add("model").add("x")), Buffer.buffer("a"), "a.wav", null, 1, 0),
      "the model is the record's, not a field");
    assertThrows(IllegalArgumentException.class, () -> new TranscriptionRequest("r", "t", "m", new JsonArray(),
      Buffer.buffer(), "a.wav", null, 1, 0), "no audio");
  }

  @Test
  void records_refuse_invalid_values() {
    assertThrows(IllegalArgumentException.class, () -> new ChatMessage("wizard", "x"));
    assertThrows(IllegalArgumentException.class, () -> new ChatMessage(new JsonObject().put("content", "no role")));
    assertThrows(IllegalArgumentException.class, () -> new StreamChunk("r", 0, null, "", 0, null, null),
      "a stream message is a chunk or an end");
    assertThrows(IllegalArgumentException.class, () -> new StreamBurst(List.of()), "a burst has a chunk");
    assertThrows(IllegalArgumentException.class, () -> new ChatRequest("r", "t", "m", List.of(), false, (JsonObject) null,
      null, 1, null, 0));
    assertThrows(IllegalArgumentException.class, () -> new ChatRequest("r", "t", "m",
      List.of(new ChatMessage("user", "x")), true, (JsonObject) null, null, 1, null, 0), "a stream needs an inbox");
    assertThrows(IllegalArgumentException.class, () -> new HistoryQuery("t", "a:b"));
    assertThrows(IllegalArgumentException.class, () -> new ApiError(200, "x", null, "m", null));
  }

  @Test
  void an_api_error_crosses_the_bus_as_itself() {
    ApiError error = ApiError.modelNotFound("gpt-17");
    assertEquals(error, ApiError.from(error.toException()));
    assertEquals(504, ApiError.from(new ReplyException(ReplyFailure.TIMEOUT, "t")).status());
    assertEquals(503, ApiError.from(new ReplyException(ReplyFailure.NO_HANDLERS, "n")).status());
    ApiError internal = ApiError.from(new IllegalStateException("secret detail at 10.0.0.1"));
    assertEquals(500, internal.status());
    assertEquals(false, internal.message().contains("secret"));
  }
}

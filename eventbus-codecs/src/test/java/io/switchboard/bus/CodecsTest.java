package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
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
      new ChatMessage("user", "héllo \"wörld\" 你好 \n", "ada"), new ChatMessage("assistant", ""));
    ChatRequest request = new ChatRequest("req_1", "acme", "gpt-4o", messages, true, "{\"temperature\":0.2}",
      "switchboard.inbox.n1.0", 30_000, "conv-1", 3);
    assertEquals(request, roundTrip(ChatRequest.CODEC, request));
    ChatRequest plain = new ChatRequest("req_2", "acme", "m", messages, false, null, null, 1, null, 0);
    assertEquals(plain, roundTrip(ChatRequest.CODEC, plain));
    ChatRequest retry = request.retry("fallback", messages, 3, 17, 999, "switchboard.routing.grant.n1");
    assertEquals(retry, roundTrip(ChatRequest.CODEC, retry));
    assertEquals(new StreamGrant("req_1", 2), roundTrip(StreamGrant.CODEC, new StreamGrant("req_1", 2)));
    assertEquals(new CancelTurn("req_1", -1, "client left"),
      roundTrip(CancelTurn.CODEC, new CancelTurn("req_1", -1, "client left")));
    assertEquals(new StreamChunk("req_1", 7, " wörld"), roundTrip(StreamChunk.CODEC, new StreamChunk("req_1", 7, " wörld")));
    ChatResult result = new ChatResult("req_1", "answer", "length", 10, 20, 0, "gpt-4o.0", 120);
    assertEquals(result, roundTrip(ChatResult.CODEC, result));
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
    StreamChunk chunk = new StreamChunk("r", 0, "x");
    assertSame(chunk, StreamChunk.CODEC.transform(chunk));
  }

  @Test
  void a_chunk_on_the_wire_is_compact() {
    Buffer buffer = Buffer.buffer();
    StreamChunk.CODEC.encodeToWire(buffer, new StreamChunk("req_0123456789abcdef01234567", 41, " token"));
    assertEquals(4 + (4 + 28) + 4 + (4 + 6), buffer.length());
  }

  @Test
  void records_refuse_invalid_values() {
    assertThrows(IllegalArgumentException.class, () -> new ChatMessage("wizard", "x"));
    assertThrows(IllegalArgumentException.class, () -> new ChatRequest("r", "t", "m", List.of(), false, null,
      null, 1, null, 0));
    assertThrows(IllegalArgumentException.class, () -> new ChatRequest("r", "t", "m",
      List.of(new ChatMessage("user", "x")), true, null, null, 1, null, 0), "a stream needs an inbox");
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

package io.switchboard.guardrails;

import io.switchboard.bus.StreamChunk;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The stream-side filter: a match split across chunks is caught, and only what is safe is let through. */
class StreamGuardTest {
  private int seq;

  private StreamChunk chunk(String text) {
    JsonObject json = new JsonObject().put("id", "chatcmpl-x").put("object", "chat.completion.chunk")
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0)
        .put("delta", new JsonObject().put("content", text)).put("finish_reason", null)))
      .put("x_upstream_field", 7);
    return StreamChunk.chunk("r", seq++, StreamChunk.event(json.toBuffer()), text, 0);
  }

  private static StreamGuard guard(Policy... policies) {
    return new StreamGuard(List.of(policies), new Guardrails.Decisions("r", "output"), t -> Future.succeededFuture());
  }

  private static String texts(List<StreamChunk> chunks) {
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> text.append(c.text()));
    return text.toString();
  }

  @Test
  void aWordSplitAcrossChunksBlocksTheStreamBeforeAnyOfItIsWritten() {
    StreamGuard guard = guard(DetectorsTest.words("block", "forbidden"));
    List<StreamChunk> written = new ArrayList<>();
    for (String piece : List.of("Here is some text that is ", "long enough, ", "and then forb", "idd", "en words")) {
      written.addAll(guard.accept(chunk(piece)));
      if (guard.blocked() != null) {
        break;
      }
    }
    assertNotNull(guard.blocked());
    assertEquals("content_policy_violation", guard.blocked().code());
    assertTrue(guard.blocked().message().contains("p-words"));
    assertFalse(texts(written).contains("forb"), texts(written));
    assertFalse(texts(written).isEmpty(), "text well before the word went out");
    assertTrue(guard.finish().isEmpty());
  }

  @Test
  void heldBackIsBoundedByTheWindow() {
    StreamGuard guard = guard(DetectorsTest.words("block", "abcdefgh"));
    List<StreamChunk> written = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      written.addAll(guard.accept(chunk("x")));
      assertTrue(guard.heldText().length() <= 8, guard.heldText());
    }
    assertEquals(50 - guard.heldText().length(), written.size());
    written.addAll(guard.finish());
    assertEquals(50, written.size());
  }

  @Test
  void aRedactedNumberIsRewrittenInTheChunksJsonAndUntouchedChunksKeepTheirBytes() {
    StreamGuard guard = guard(DetectorsTest.pii("redact", "cn_mobile"));
    List<StreamChunk> sent = new ArrayList<>();
    List<StreamChunk> written = new ArrayList<>();
    for (String piece : List.of("My number is 138", "0013", "8000", " and that is all I will say here.")) {
      StreamChunk c = chunk(piece);
      sent.add(c);
      written.addAll(guard.accept(c));
    }
    written.addAll(guard.finish());
    assertEquals("My number is [PHONE] and that is all I will say here.", texts(written));
    for (StreamChunk c : written) {
      Buffer json = c.json();
      JsonObject parsed = new JsonObject(json);
      assertEquals(c.text(), parsed.getJsonArray("choices").getJsonObject(0).getJsonObject("delta").getString("content"));
      assertEquals(7, parsed.getInteger("x_upstream_field"), "the upstream's other fields are kept");
    }
    assertSame(sent.get(3), written.get(3), "an untouched chunk goes on as it came");
    assertNull(guard.blocked());
  }

  @Test
  void aNumberThatMayStillGrowWaitsForTheNextChunk() {
    StreamGuard guard = guard(DetectorsTest.pii("redact", "cn_mobile"));
    List<StreamChunk> written = new ArrayList<>(guard.accept(chunk("id 13800138000")));
    written.addAll(guard.accept(chunk("12 is not a phone")));
    written.addAll(guard.finish());
    assertEquals("id 1380013800012 is not a phone", texts(written));
  }

  @Test
  void theEndFlushesWhatIsHeld() {
    StreamGuard guard = guard(DetectorsTest.pii("redact", "email"));
    List<StreamChunk> written = new ArrayList<>(guard.accept(chunk("write to a@example.com")));
    assertTrue(texts(written).isEmpty());
    written.addAll(guard.finish());
    assertEquals("write to [EMAIL]", texts(written));
  }
}

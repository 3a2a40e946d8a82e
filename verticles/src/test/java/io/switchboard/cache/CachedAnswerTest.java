package io.switchboard.cache;

import io.switchboard.bus.ChatResult;
import io.switchboard.bus.StreamChunk;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A replayed answer gets the new turn's id and nothing else changes: text that mentions the old id keeps it. */
class CachedAnswerTest {
  private static final String COMPLETION = "{\"id\":\"chatcmpl-a\",\"object\":\"chat.completion\",\"model\":\"m\","
    + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"see chatcmpl-a and \\\"chatcmpl-a\\\"\"},"
    + "\"finish_reason\":\"stop\"}]}";

  @Test
  void a_whole_answer_replayed_changes_only_its_id() {
    JsonObject message = new JsonObject(COMPLETION).getJsonArray("choices").getJsonObject(0).getJsonObject("message");
    CachedAnswer stored = CachedAnswer.whole(new ChatResult("a", Buffer.buffer(COMPLETION), message, "stop", null, 0,
      "d", 0), Long.MAX_VALUE);
    String replayed = stored.result("req_b").completion().toString();
    assertEquals(COMPLETION.replace("\"id\":\"chatcmpl-a\"", "\"id\":\"chatcmpl-req_b\""), replayed);
    assertEquals("see chatcmpl-a and \"chatcmpl-a\"", new JsonObject(replayed).getJsonArray("choices")
      .getJsonObject(0).getJsonObject("message").getString("content"), "the text is the model's, untouched");
  }

  @Test
  void a_streamed_answer_replayed_changes_only_each_chunk_s_id() {
    String chunk = "{\"id\":\"chatcmpl-a\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"chatcmpl-a\"}}]}";
    CachedAnswer stored = CachedAnswer.streamed(List.of(StreamChunk.chunk("a", 0, StreamChunk.event(Buffer.buffer(chunk)),
      "chatcmpl-a", 0)), new ChatResult("a", null, new JsonObject().put("role", "assistant").put("content",
      "chatcmpl-a"), "stop", null, 1, "d", 0), new JsonObject().put("role", "assistant").put("content", "chatcmpl-a"),
      Long.MAX_VALUE);
    List<StreamChunk> replayed = stored.replay("req_b", "m");
    assertEquals("data: " + chunk.replace("\"id\":\"chatcmpl-a\"", "\"id\":\"chatcmpl-req_b\"") + "\n\n",
      replayed.get(0).data().toString());
  }
}

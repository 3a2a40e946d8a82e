package io.switchboard.inference;

import io.switchboard.bus.StreamChunk;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lines as OpenAI sends them (captured shapes), through the relay's reader: relayed whole, read for what we need. */
class OpenAiStreamReaderTest {
  private record Relayed(String data, String text, int flags) {
  }

  private final List<Relayed> out = new ArrayList<>();
  private final OpenAiStreamReader reader = new OpenAiStreamReader("chatcmpl-req_ours", "public-model",
    (data, text, flags) -> {
      String event = data.toString();
      assertTrue(event.startsWith("data: ") && event.endsWith("\n\n"), "framed once as an SSE event: " + event);
      out.add(new Relayed(event.substring(6, event.length() - 2), text, flags));
    });

  private void feed(String... lines) {
    for (String line : lines) {
      reader.line(Buffer.buffer(line));
    }
  }

  @Test
  void every_chunk_goes_on_byte_for_byte_but_for_the_gateways_id_and_model() {
    String first = "{\"id\":\"chatcmpl-theirs\",\"object\":\"chat.completion.chunk\",\"created\":1,"
      + "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_44709d6fcb\",\"service_tier\":\"default\","
      + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
      + "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null,\"obfuscation\":\"x1\"}";
    String second = "{\"id\":\"chatcmpl-theirs\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\\\"lo\\n wörld 你好\"},"
      + "\"finish_reason\":null}],\"future_field\":{\"a\":[1,2]}}";
    feed(": keep-alive", "data: " + first, "", "data:" + second + "\r", "data: [DONE]");

    assertEquals(2, out.size());
    assertEquals(first.replace("chatcmpl-theirs", "chatcmpl-req_ours").replace("gpt-4o-mini-2024-07-18", "public-model"),
      out.get(0).data(), "only id and model differ, every other byte is the upstream's");
    assertEquals(second.replace("chatcmpl-theirs", "chatcmpl-req_ours"), out.get(1).data());
    assertEquals("", out.get(0).text());
    assertEquals("Hel\"lo\n wörld 你好", out.get(1).text());
    assertEquals(0, out.get(0).flags(), "role, empty content and a null refusal are plain text");
    assertTrue(reader.complete());
    assertEquals("Hel\"lo\n wörld 你好", reader.message().getString("content"));
  }

  @Test
  void tool_call_deltas_are_relayed_flagged_and_assembled_like_the_sdk_does() {
    feed("data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
        + "\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        + "\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
        + "{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}",
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
        + "{\"arguments\":\"\\\"Paris\\\"}\"}},{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":"
        + "{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}",
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
      "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":80,\"completion_tokens\":20,\"total_tokens\":100,"
        + "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}",
      "data: [DONE]");

    assertEquals(5, out.size());
    for (int i = 0; i < 3; i++) {
      assertTrue((out.get(i).flags() & StreamChunk.TOOL_CALLS) != 0, "chunk " + i + " carries a tool call");
      assertTrue(out.get(i).data().contains("tool_calls"), "and goes on whole");
    }
    assertEquals(0, out.get(3).flags());
    assertEquals(StreamChunk.USAGE_ONLY, out.get(4).flags());
    assertEquals("tool_calls", reader.finishReason());
    assertEquals(80, reader.usage().getInteger("prompt_tokens"));
    assertEquals(0, reader.usage().getJsonObject("completion_tokens_details").getInteger("reasoning_tokens"));

    JsonObject message = reader.message();
    assertNull(message.getValue("content"), "a message that only calls tools has null content");
    JsonArray calls = message.getJsonArray("tool_calls");
    assertEquals(new JsonObject().put("id", "call_a").put("type", "function").put("function",
      new JsonObject().put("name", "get_weather").put("arguments", "{\"city\":\"Paris\"}")), calls.getJsonObject(0));
    assertEquals("get_time", calls.getJsonObject(1).getJsonObject("function").getString("name"));
  }

  @Test
  void refusal_reasoning_logprobs_and_other_choices_are_flagged_and_kept() {
    feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Let me think\"}}]}",
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":{\"content\":[{\"token\":\"Hi\","
        + "\"logprob\":-0.1,\"bytes\":[72,105],\"top_logprobs\":[]}]}}]}",
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"I can't\"}}]}",
      "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other\"}}]}");
    assertEquals(StreamChunk.OTHER, out.get(0).flags());
    assertEquals(StreamChunk.OTHER, out.get(1).flags());
    assertEquals("Hi", out.get(1).text());
    assertEquals(StreamChunk.OTHER, out.get(2).flags());
    assertEquals(StreamChunk.CHOICES, out.get(3).flags(), "a second choice cannot be continued by another model");
    assertEquals("", out.get(3).text(), "the text of a continuation is the first choice's");
    JsonObject message = reader.message();
    assertEquals("Let me think", message.getString("reasoning_content"));
    assertEquals("I can't", message.getString("refusal"));
    assertEquals("Hi", message.getString("content"));
    assertFalse(reader.complete(), "no finish reason and no [DONE] yet");
  }

  @Test
  void errors_and_garbage_fail_the_stream() {
    assertThrows(UpstreamFailure.class, () -> feed("data: {\"error\":{\"message\":\"overloaded\"}}"));
    assertThrows(UpstreamFailure.class, () -> feed("data: {\"choices\":[{\"delta\":{\"content\":"));
    assertThrows(UpstreamFailure.class, () -> feed("data: [1,2]"));
  }

  private static String textChunk(String json) {
    return "data: {\"id\":\"chatcmpl-theirs\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m-1\","
      + "\"choices\":[{\"index\":0,\"delta\":{\"content\":" + json + "},\"logprobs\":null,\"finish_reason\":null}],"
      + "\"usage\":null}";
  }

  private static String relayedText(String json) {
    return textChunk(json).substring(6).replace("chatcmpl-theirs", "chatcmpl-req_ours").replace("m-1", "public-model");
  }

  @Test
  void chunks_of_the_streams_shape_are_relayed_as_a_walk_would_relay_them() {
    String[] texts = {"\"Hel\"", "\"lo\"", "\"\"", "\" w\u00f6rld\\n\\\"q\\\" \\u4f60\"", "\"好 \\\\\"", "\"end\""};
    String[] decoded = {"Hel", "lo", "", " w\u00f6rld\n\"q\" \u4f60", "好 \\", "end"};
    for (String text : texts) {
      feed(textChunk(text));
    }
    feed("data: {\"id\":\"chatcmpl-theirs\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m-1\","
      + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}");

    assertEquals(texts.length + 1, out.size());
    for (int i = 0; i < texts.length; i++) {
      assertEquals(relayedText(texts[i]), out.get(i).data(), "chunk " + i);
      assertEquals(decoded[i], out.get(i).text(), "chunk " + i);
      assertEquals(0, out.get(i).flags(), "chunk " + i);
    }
    assertEquals("stop", reader.finishReason(), "the last chunk has another shape, and is walked");
    assertEquals(String.join("", decoded), reader.message().getString("content"));
    assertEquals(texts.length + 1, reader.chunks());
  }

  @Test
  void a_line_that_only_looks_like_the_streams_shape_is_walked() {
    feed(textChunk("\"a\""), textChunk("\"b\""));
    // the same bytes around the "text", but the text closes early and a refusal follows: a walk sees it
    feed(textChunk("\"c\",\"refusal\":\"no\""));
    assertEquals(StreamChunk.OTHER, out.get(2).flags());
    assertEquals("c", out.get(2).text());
    assertEquals("no", reader.message().getString("refusal"));
    // a text whose closing quote is escaped, and a raw control character: not JSON, refused as a walk refuses them
    assertThrows(UpstreamFailure.class, () -> feed(textChunk("\"d\\\"")));
    assertThrows(UpstreamFailure.class, () -> feed(textChunk("\"e\u0001\"")));
    assertEquals(3, out.size(), "neither was relayed");
  }
}

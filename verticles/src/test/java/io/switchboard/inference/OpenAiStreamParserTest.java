package io.switchboard.inference;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lines as OpenAI sends them (captured shapes), through the relay's streaming parser. */
class OpenAiStreamParserTest {
  private final List<String> deltas = new ArrayList<>();
  private final OpenAiStreamParser parser = new OpenAiStreamParser(deltas::add);

  private void feed(String... lines) {
    for (String line : lines) {
      parser.line(Buffer.buffer(line));
    }
  }

  @Test
  void a_whole_stream_with_usage() {
    feed(": keep-alive",
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\","
        + "\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\","
        + "\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
      "",
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\\\"lo\\n\"},\"logprobs\":{\"content\":[]},"
        + "\"finish_reason\":null}],\"usage\":null}\r",
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" wörld 你好\"},\"finish_reason\":null}]}",
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}",
      "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11,"
        + "\"prompt_tokens_details\":{\"cached_tokens\":0}}}",
      "data: [DONE]");
    assertEquals(List.of("Hel\"lo\n", " wörld 你好"), deltas);
    assertEquals(2, parser.chunks());
    assertEquals("length", parser.finishReason());
    assertEquals(9, parser.promptTokens());
    assertEquals(2, parser.completionTokens());
    assertTrue(parser.complete());
  }

  @Test
  void a_stream_that_stops_without_done_or_finish_is_not_complete() {
    feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"half\"}}]}");
    assertFalse(parser.complete());
  }

  @Test
  void errors_and_garbage_fail_the_stream() {
    assertThrows(UpstreamFailure.class, () -> feed("data: {\"error\":{\"message\":\"overloaded\"}}"));
    assertThrows(UpstreamFailure.class, () -> feed("data: {\"choices\":[{\"delta\":{\"content\":"));
    assertThrows(UpstreamFailure.class, () -> feed("data: [1,2]"));
  }

  @Test
  void only_the_first_choice_counts() {
    feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}},{\"index\":1,\"delta\":{\"content\":\"b\"}}]}");
    assertEquals(List.of("a"), deltas);
  }
}

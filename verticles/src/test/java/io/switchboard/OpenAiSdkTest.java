package io.switchboard;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.models.Model;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The official OpenAI Java SDK works against Switchboard with only its base URL and key changed. */
class OpenAiSdkTest {
  private static TestNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() {
    node = TestNode.start(TestConfigs.GATEWAY);
    client = sdk(TestConfigs.ACME_KEY);
  }

  private static OpenAIClient sdk(String key) {
    return OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey(key).maxRetries(0)
      .timeout(Duration.ofSeconds(20)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
  }

  private static ChatCompletionCreateParams.Builder question(String model, String text) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage(text);
  }

  @Test
  void the_sdk_gets_a_completion() {
    ChatCompletion completion = client.chat().completions().create(question("switchboard-simulator", "hello").build());
    String content = completion.choices().get(0).message().content().orElseThrow();
    assertEquals(12, content.split(" ").length, content);
    assertEquals(ChatCompletion.Choice.FinishReason.STOP, completion.choices().get(0).finishReason());
    assertEquals(12, completion.usage().orElseThrow().completionTokens());
  }

  @Test
  void the_sdk_streams_a_completion_with_usage() {
    ChatCompletionCreateParams params = question("sim-paced", "stream to me")
      .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
    StringBuilder text = new StringBuilder();
    long[] usage = {-1};
    int[] chunks = {0};
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunk -> {
        chunks[0]++;
        chunk.choices().forEach(choice -> choice.delta().content().ifPresent(text::append));
        chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
      });
    }
    ChatCompletion whole = client.chat().completions().create(question("sim-paced", "stream to me").build());
    assertEquals(whole.choices().get(0).message().content().orElseThrow(), text.toString(),
      "streamed and whole answers agree");
    assertEquals(10, usage[0]);
    assertTrue(chunks[0] >= 12, "10 content chunks, a finish chunk and a usage chunk: " + chunks[0]);
  }

  @Test
  void the_sdk_lists_models() {
    List<String> ids = client.models().list().data().stream().map(Model::id).toList();
    assertTrue(ids.contains("switchboard-simulator"), ids.toString());
  }

  @Test
  void the_sdk_sees_errors_as_its_own_exception_types() {
    assertThrows(NotFoundException.class, () -> client.chat().completions().create(question("nope", "x").build()));
    OpenAIClient stranger = sdk("not-a-real-key-at-all");
    try {
      UnauthorizedException e = assertThrows(UnauthorizedException.class,
        () -> stranger.chat().completions().create(question("switchboard-simulator", "x").build()));
      assertFalse(e.getMessage().contains("not-a-real-key-at-all"));
    } finally {
      stranger.close();
    }
    BadRequestException malformed = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
      question("switchboard-simulator", "x").putAdditionalBodyProperty("stream_options", JsonValue.from("yes")).build()));
    assertEquals("stream_options", malformed.param().orElseThrow());
  }
}

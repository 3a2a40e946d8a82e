package io.switchboard.inference;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** An OpenAI SDK client talks to a model served by Anthropic's Messages API: translated both ways. */
class AnthropicThroughGatewayTest {
  private static Vertx vertx;
  private static FakeAnthropic anthropic;
  private static TestNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    anthropic = FakeAnthropic.start(vertx);
    node = TestNode.start("""
      model_list:
        - model_name: claude
          provider: anthropic
          api_base: %s
          api_key: sk-ant-test-key-000000001
          upstream_model: claude-sonnet-4
      """.formatted(anthropic.baseUrl()));
    client = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey("unused").maxRetries(0)
      .timeout(Duration.ofSeconds(20)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
    anthropic.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void the_openai_sdk_gets_claudes_answer_whole_and_streamed() {
    ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("claude")
      .addSystemMessage("Be brief.").addUserMessage("Say hello").build();
    ChatCompletion whole = client.chat().completions().create(params);
    assertEquals("Hello, wörld.", whole.choices().get(0).message().content().orElseThrow(),
      "text blocks joined, the thinking block left out");
    assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, whole.choices().get(0).finishReason());
    assertEquals("claude-sonnet-4", anthropic.last().body().getString("model"));
    assertEquals("Be brief.", anthropic.last().body().getString("system"));

    StringBuilder streamed = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append)));
    }
    assertEquals(String.join("", FakeAnthropic.DELTAS), streamed.toString());
  }
}

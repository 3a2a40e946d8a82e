package io.switchboard.simulator;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The official OpenAI Java SDK reads the simulator's tool calls, streams, logprobs, errors and embeddings. */
class SimulatorSdkTest {
  private static Vertx vertx;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    SimulatorVerticle simulator = new SimulatorVerticle("127.0.0.1", 0, SimulatorApiTest.FAST);
    vertx.deployVerticle(simulator).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    client = OpenAIOkHttpClient.builder().baseUrl(simulator.baseUrl(SimulatorApiTest.FAST)).apiKey("sk-sim")
      .maxRetries(0).timeout(Duration.ofSeconds(20)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static ChatCompletionCreateParams.Builder weather() {
    return ChatCompletionCreateParams.builder().model("switchboard-simulator").addUserMessage("Weather in Oslo?")
      .addFunctionTool(FunctionDefinition.builder().name("get_weather").parameters(FunctionParameters.builder()
        .putAdditionalProperty("type", JsonValue.from("object"))
        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
        .putAdditionalProperty("required", JsonValue.from(List.of("city"))).build()).build());
  }

  @Test
  void the_sdk_accumulates_a_streamed_tool_call_into_the_whole_one() {
    ChatCompletion whole = client.chat().completions().create(weather().build());
    ChatCompletionMessageFunctionToolCall call = whole.choices().get(0).message().toolCalls().orElseThrow().get(0)
      .asFunction();
    assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, whole.choices().get(0).finishReason());
    assertEquals("{\"city\":\"Weather in Oslo?\"}", call.function().arguments());

    ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(weather()
      .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      stream.stream().forEach(accumulator::accumulate);
    }
    ChatCompletion streamed = accumulator.chatCompletion();
    ChatCompletionMessageFunctionToolCall streamedCall = streamed.choices().get(0).message().toolCalls().orElseThrow()
      .get(0).asFunction();
    assertEquals(call.id(), streamedCall.id());
    assertEquals(call.function().name(), streamedCall.function().name());
    assertEquals(call.function().arguments(), streamedCall.function().arguments());
    assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, streamed.choices().get(0).finishReason());
    assertEquals(whole.usage().orElseThrow().completionTokens(), streamed.usage().orElseThrow().completionTokens());

    ChatCompletion answered = client.chat().completions().create(weather()
      .addMessage(whole.choices().get(0).message())
      .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("Snow, -3 C").build())
      .build());
    assertEquals("The tool said: Snow, -3 C", answered.choices().get(0).message().content().orElseThrow());
  }

  @Test
  void the_sdk_reads_logprobs_and_length() {
    ChatCompletion completion = client.chat().completions().create(ChatCompletionCreateParams.builder()
      .model("switchboard-simulator").addUserMessage("hello").logprobs(true).topLogprobs(2).maxCompletionTokens(4)
      .build());
    ChatCompletion.Choice choice = completion.choices().get(0);
    assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, choice.finishReason());
    assertEquals(4, choice.logprobs().orElseThrow().content().orElseThrow().size());
    assertEquals(2, choice.logprobs().orElseThrow().content().orElseThrow().get(0).topLogprobs().size());
    assertEquals(0, completion.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElseThrow());
    assertEquals("fp_switchboard_sim", completion.systemFingerprint().orElseThrow());
  }

  @Test
  void the_sdk_sees_a_malformed_round_as_bad_request_with_its_param() {
    BadRequestException e = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
      ChatCompletionCreateParams.builder().model("switchboard-simulator").addUserMessage("hi")
        .addMessage(ChatCompletionToolMessageParam.builder().toolCallId("call_nope").content("x").build()).build()));
    assertEquals("messages.[1].role", e.param().orElseThrow());
    assertEquals("invalid_request_error", e.type().orElseThrow());
  }

  @Test
  void the_sdk_decodes_embeddings_in_both_encodings() {
    CreateEmbeddingResponse floats = client.embeddings().create(EmbeddingCreateParams.builder()
      .model("text-embedding-3-small").input("hello").dimensions(16)
      .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
    CreateEmbeddingResponse base64 = client.embeddings().create(EmbeddingCreateParams.builder()
      .model("text-embedding-3-small").input("hello").dimensions(16)
      .encodingFormat(EmbeddingCreateParams.EncodingFormat.BASE64).build());
    List<Float> vector = floats.data().get(0).embedding();
    assertEquals(16, vector.size());
    assertEquals(vector, base64.data().get(0).embedding());
    assertTrue(floats.usage().promptTokens() > 0);
  }
}

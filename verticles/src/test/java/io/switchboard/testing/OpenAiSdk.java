package io.switchboard.testing;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The official OpenAI Java SDK as the tests use it: a client, a stream assembled the SDK's way, a function tool. */
public final class OpenAiSdk {
  private OpenAiSdk() {
  }

  /** A client of {@code baseUrl} (ending in /v1) that never retries on its own. */
  public static OpenAIClient client(String baseUrl, String key) {
    return OpenAIOkHttpClient.builder().baseUrl(baseUrl).apiKey(key).maxRetries(0).timeout(Duration.ofSeconds(20))
      .build();
  }

  /** A streamed answer put together by the SDK's own accumulator, as an agent framework would. */
  public static ChatCompletion streamed(OpenAIClient client, ChatCompletionCreateParams params) {
    ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(accumulator::accumulate);
    }
    return accumulator.chatCompletion();
  }

  /** {@code get_weather(city)}. */
  public static ChatCompletionFunctionTool weatherTool() {
    return ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder().name("get_weather")
      .description("Weather in a city").parameters(FunctionParameters.builder()
        .putAdditionalProperty("type", JsonValue.from("object"))
        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
        .putAdditionalProperty("required", JsonValue.from(List.of("city"))).build()).build()).build();
  }
}

package io.switchboard.inference;

import com.openai.client.OpenAIClient;
import com.openai.errors.BadRequestException;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.embeddings.EmbeddingCreateParams;
import io.switchboard.testing.OpenAiSdk;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An OpenAI SDK client talks to models served by Azure OpenAI: deployment URLs, api-version, the api-key header or
 * an Entra ID token, Azure's stream with its filter results, retries and fallbacks on Azure's failures.
 */
class AzureThroughGatewayTest {
  private static Vertx vertx;
  private static FakeAzure azure;
  private static TestNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    azure = FakeAzure.start(vertx);
    String base = azure.origin();
    node = TestNode.start("""
      model_list:
        - model_name: gpt-4o
          provider: azure
          api_base: %1$s
          azure_deployment: %2$s
          api_key: %3$s
        - model_name: gpt-4o-entra
          provider: azure
          api_base: %1$s/openai
          azure_deployment: %2$s
          api_version: 2025-01-01-preview
          azure_ad_token: %4$s
        - model_name: gpt-4o-old-api
          provider: azure
          api_base: %1$s
          azure_deployment: %2$s
          api_version: 2022-01-01
          api_key: %3$s
        - model_name: gpt-4o-wrong-key
          provider: azure
          api_base: %1$s
          azure_deployment: %2$s
          api_key: not-the-key-000000000000000000000
        - model_name: gpt-4o-gone
          provider: azure
          api_base: %1$s
          azure_deployment: deleted-deployment
          api_key: %3$s
        - model_name: embed
          provider: azure
          api_base: %1$s
          azure_deployment: %2$s
          api_key: %3$s
          model_info: {mode: embedding}
      routes:
        - {model_name: gpt-4o, num_retries: 1, retry_base_ms: 5, retry_max_ms: 20}
        - {model_name: gpt-4o-gone, fallbacks: [gpt-4o], num_retries: 0}
        - {model_name: gpt-4o-wrong-key, num_retries: 0}
      """.formatted(base, FakeAzure.DEPLOYMENT, FakeAzure.KEY, FakeAzure.AD_TOKEN));
    client = OpenAiSdk.client(node.baseUrl() + "/v1", "unused");
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close();
    azure.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static ChatCompletionCreateParams.Builder hello(String model) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage("Say hello");
  }

  @Test
  void the_sdk_gets_azures_answer_whole_and_streamed_from_the_deployment_url() {
    ChatCompletion whole = client.chat().completions().create(hello("gpt-4o").build());
    assertEquals("Hello from Azure.", whole.choices().get(0).message().content().orElseThrow());
    assertEquals(30, whole.usage().orElseThrow().totalTokens());
    assertEquals("gpt-4o", whole.model());
    FakeProvider.Received call = azure.last();
    assertEquals("/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21", call.uri());
    assertEquals(FakeAzure.KEY, call.header("api-key"));
    assertNull(call.header("authorization"), "a key goes in api-key, never as a bearer");

    ChatCompletion streamed = OpenAiSdk.streamed(client, hello("gpt-4o")
      .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build());
    assertEquals("Hello from Azure.", streamed.choices().get(0).message().content().orElseThrow(),
      "the stream's opening chunk without choices (prompt_filter_results) does no harm");
    assertEquals(30, streamed.usage().orElseThrow().totalTokens());
  }

  @Test
  void an_entra_id_token_goes_as_a_bearer_with_its_api_version_to_an_endpoint_given_with_its_openai_path() {
    client.chat().completions().create(hello("gpt-4o-entra").build());
    FakeProvider.Received call = azure.last();
    assertEquals("Bearer " + FakeAzure.AD_TOKEN, call.header("authorization"));
    assertNull(call.header("api-key"));
    assertEquals("/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-01-01-preview", call.uri());
  }

  private static void toolRounds(boolean stream) {
    ChatCompletionCreateParams.Builder weather = ChatCompletionCreateParams.builder().model("gpt-4o")
      .addUserMessage("Oslo").addTool(OpenAiSdk.weatherTool());
    ChatCompletionCreateParams first = weather.build();
    ChatCompletion one = stream ? OpenAiSdk.streamed(client, first) : client.chat().completions().create(first);
    ChatCompletionMessage message = one.choices().get(0).message();
    ChatCompletionMessageFunctionToolCall call = message.toolCalls().orElseThrow().get(0).asFunction();
    assertEquals("get_weather", call.function().name());
    assertEquals(new JsonObject().put("city", "Oslo"), new JsonObject(call.function().arguments()));
    ChatCompletionCreateParams second = weather.addMessage(message)
      .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("Snow").build()).build();
    ChatCompletion two = stream ? OpenAiSdk.streamed(client, second) : client.chat().completions().create(second);
    assertEquals("The tool said: Snow", two.choices().get(0).message().content().orElseThrow());
    assertEquals(call.id(), azure.last().body().getJsonArray("messages").getJsonObject(2).getString("tool_call_id"));
  }

  @Test
  void an_agent_runs_a_tool_round_through_azure() {
    toolRounds(false);
  }

  @Test
  void an_agent_runs_a_tool_round_through_azure_streamed() {
    toolRounds(true);
  }

  @Test
  void embeddings_go_to_the_deployments_embeddings_url() {
    List<Float> vector = client.embeddings().create(EmbeddingCreateParams.builder().model("embed").input("hi").build())
      .data().get(0).embedding();
    assertEquals(List.of(0.25f, -0.5f), vector);
    assertEquals("/openai/deployments/gpt-4o-prod/embeddings?api-version=2024-10-21", azure.last().uri());
  }

  @Test
  void an_api_version_azure_does_not_know_is_a_400_in_azures_words() {
    BadRequestException e = assertThrows(BadRequestException.class,
      () -> client.chat().completions().create(hello("gpt-4o-old-api").build()));
    assertTrue(e.getMessage().contains("API version not supported"), e.getMessage());
  }

  @Test
  void a_refused_key_is_a_gateway_error_that_never_shows_the_key() {
    OpenAIServiceException e = assertThrows(OpenAIServiceException.class,
      () -> client.chat().completions().create(hello("gpt-4o-wrong-key").build()));
    assertEquals(502, e.statusCode());
    assertTrue(e.getMessage().contains("rejected the gateway's credentials"), e.getMessage());
    assertFalse(e.getMessage().contains("not-the-key"), e.getMessage());
  }

  @Test
  void a_failing_call_is_retried_and_a_missing_deployment_falls_back() {
    int before = azure.received.size();
    azure.failNext(503, 1);
    assertEquals("Hello from Azure.", client.chat().completions().create(hello("gpt-4o").build())
      .choices().get(0).message().content().orElseThrow());
    assertEquals(before + 2, azure.received.size(), "the 503, then the retry");

    ChatCompletion fallback = client.chat().completions().create(hello("gpt-4o-gone").build());
    assertEquals("Hello from Azure.", fallback.choices().get(0).message().content().orElseThrow());
    assertEquals("/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21", azure.last().uri(),
      "DeploymentNotFound (404) moved the turn to the fallback");
  }

  @Test
  void an_image_part_reaches_azure_as_the_client_wrote_it() {
    String url = "https://example.com/cat.png";
    client.chat().completions().create(ChatCompletionCreateParams.builder().model("gpt-4o")
      .addUserMessageOfArrayOfContentParts(List.of(
        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("What is this?").build()),
        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
          .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(url)
            .detail(ChatCompletionContentPartImage.ImageUrl.Detail.HIGH).build()).build()))).build());
    assertEquals(new JsonObject().put("type", "image_url").put("image_url", new JsonObject().put("url", url)
        .put("detail", "high")),
      azure.last().body().getJsonArray("messages").getJsonObject(0).getJsonArray("content").getJsonObject(1),
      "Azure reads OpenAI's parts: nothing to translate, nothing dropped");
  }
}

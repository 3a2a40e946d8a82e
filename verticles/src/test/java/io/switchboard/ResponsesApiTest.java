package io.switchboard;

import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFormatTextJsonSchemaConfig;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ResponseTextConfig;
import io.switchboard.testing.FakeOpenAi;
import io.switchboard.testing.Http;
import io.switchboard.testing.OpenAiSdk;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestConfigs;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /v1/responses} through the official OpenAI Java SDK's {@code responses()} client: answered by the simulator
 * and by an OpenAI-compatible upstream that only speaks Chat Completions (what reaches it is checked), streamed
 * with the typed events in order, a function-call round continued with {@code previous_response_id}, stored
 * responses read, deleted and kept from other tenants; the store is Redis, shared by two nodes.
 */
class ResponsesApiTest {
  private static FakeOpenAi upstream;
  private static RedisServer redis;
  private static TestNode node;
  private static TestNode other;
  private static OpenAIClient acme;
  private static OpenAIClient globex;

  @BeforeAll
  static void start() throws Exception {
    upstream = new FakeOpenAi();
    redis = RedisServer.launchEmbedded();
    String config = TestConfigs.GATEWAY.replace("max_body_bytes: 4096", "max_body_bytes: 65536") + """
      session: {store: redis, redis_url: "%s"}
      """.formatted(redis.url());
    config = config.replace("model_list:\n", """
      model_list:
        - model_name: gpt-fake
          provider: openai
          api_base: %s
          api_key: sk-upstream-key-0001
      """.formatted(upstream.baseUrl()));
    node = TestNode.start(config);
    other = TestNode.start(config);
    acme = OpenAiSdk.client(node.baseUrl() + "/v1", TestConfigs.ACME_KEY);
    globex = OpenAiSdk.client(node.baseUrl() + "/v1", TestConfigs.GLOBEX_KEY);
  }

  @AfterAll
  static void stop() throws Exception {
    acme.close();
    globex.close();
    node.close();
    other.close();
    redis.close();
    upstream.close();
  }

  private static String text(Response response) {
    StringBuilder text = new StringBuilder();
    for (ResponseOutputItem item : response.output()) {
      item.message().ifPresent(message -> message.content().forEach(part ->
        part.outputText().ifPresent(t -> text.append(t.text()))));
    }
    return text.toString();
  }

  /** An event as the SDK read it, as JSON again. */
  private static String json(ResponseStreamEvent event) {
    try {
      return com.openai.core.ObjectMappers.jsonMapper().writeValueAsString(event);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static FunctionTool weather() {
    return FunctionTool.builder().name("get_weather").description("Weather in a city").strict(false)
      .parameters(FunctionTool.Parameters.builder()
        .putAdditionalProperty("type", JsonValue.from("object"))
        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
        .build()).build();
  }

  @Test
  void the_sdk_gets_a_response_from_the_simulator() {
    Response response = acme.responses().create(ResponseCreateParams.builder().model("switchboard-simulator")
      .input("hello").instructions("Be brief.").build());
    response.validate(); // every field the SDK requires is there
    assertTrue(response.id().startsWith("resp_"), response.id());
    assertEquals(ResponseStatus.COMPLETED, response.status().orElseThrow());
    assertEquals(12, text(response).split(" ").length, text(response));
    assertEquals(12, response.usage().orElseThrow().outputTokens());
    assertTrue(response.usage().orElseThrow().inputTokens() > 0);
    assertEquals("Be brief.", response.instructions().orElseThrow().asString());
  }

  @Test
  void a_stream_sends_the_typed_events_in_order_and_ends_with_usage() {
    List<ResponseStreamEvent> events = new ArrayList<>();
    try (StreamResponse<ResponseStreamEvent> stream = acme.responses().createStreaming(ResponseCreateParams.builder()
      .model("sim-paced").input("stream to me").build())) {
      stream.stream().forEach(events::add);
    }
    events.forEach(ResponseStreamEvent::validate);
    assertTrue(events.get(0).isCreated());
    assertTrue(events.get(1).isInProgress());
    assertTrue(events.get(2).isOutputItemAdded());
    assertTrue(events.get(3).isContentPartAdded());
    assertTrue(events.get(4).isOutputTextDelta());
    int n = events.size();
    assertTrue(events.get(n - 4).isOutputTextDone());
    assertTrue(events.get(n - 3).isContentPartDone());
    assertTrue(events.get(n - 2).isOutputItemDone());
    assertTrue(events.get(n - 1).isCompleted());
    StringBuilder deltas = new StringBuilder();
    long sequence = -1;
    for (ResponseStreamEvent event : events) {
      event.outputTextDelta().ifPresent(delta -> deltas.append(delta.delta()));
      long number = new JsonObject(json(event)).getLong("sequence_number");
      assertEquals(sequence + 1, number, "sequence numbers count up from 0");
      sequence = number;
    }
    assertEquals(deltas.toString(), events.get(n - 4).asOutputTextDone().text());
    Response completed = events.get(n - 1).asCompleted().response();
    assertEquals(deltas.toString(), text(completed));
    assertEquals(10, completed.usage().orElseThrow().outputTokens());
    // the streamed response was stored as it was sent
    assertEquals(deltas.toString(), text(acme.responses().retrieve(completed.id())));
  }

  @Test
  void a_function_call_round_continues_with_previous_response_id_through_a_chat_completions_upstream() {
    Response first = acme.responses().create(ResponseCreateParams.builder().model("gpt-fake")
      .input("What is the weather in Paris?").instructions("You are a weather bot.").addTool(weather()).build());
    first.validate();
    ResponseFunctionToolCall call = first.output().stream().filter(ResponseOutputItem::isFunctionCall)
      .map(ResponseOutputItem::asFunctionCall).findFirst().orElseThrow();
    assertEquals("get_weather", call.name());
    assertEquals("{\"city\":\"Paris\"}", call.arguments());
    JsonObject asked = upstream.last();
    assertEquals("system", asked.getJsonArray("messages").getJsonObject(0).getString("role"));
    assertEquals("get_weather", asked.getJsonArray("tools").getJsonObject(0).getJsonObject("function")
      .getString("name"), "function tools in Chat Completions' shape");

    // the next turn sends only the tool's output; the call it answers comes from the stored response, on another node
    OpenAIClient elsewhere = OpenAiSdk.client(other.baseUrl() + "/v1", TestConfigs.ACME_KEY);
    try {
      Response second = elsewhere.responses().create(ResponseCreateParams.builder().model("gpt-fake")
        .previousResponseId(first.id()).addTool(weather())
        .inputOfResponse(List.of(ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
          .callId(call.callId()).output("18 degrees and sunny").build()))).build());
      assertEquals("The tool said: 18 degrees and sunny.", text(second));
      assertEquals(first.id(), second.previousResponseId().orElseThrow());
    } finally {
      elsewhere.close();
    }
    JsonArray messages = upstream.last().getJsonArray("messages");
    List<String> roles = new ArrayList<>();
    messages.forEach(m -> roles.add(((JsonObject) m).getString("role")));
    assertEquals(List.of("user", "assistant", "tool"), roles, "the stored turn, then the tool result; instructions "
      + "are not carried over");
    assertEquals(call.callId(), messages.getJsonObject(1).getJsonArray("tool_calls").getJsonObject(0).getString("id"));
  }

  @Test
  void a_streamed_function_call_sends_its_argument_events() {
    List<ResponseStreamEvent> events = new ArrayList<>();
    try (StreamResponse<ResponseStreamEvent> stream = acme.responses().createStreaming(ResponseCreateParams.builder()
      .model("gpt-fake").input("Weather in Paris?").addTool(weather()).build())) {
      stream.stream().forEach(events::add);
    }
    events.forEach(ResponseStreamEvent::validate);
    StringBuilder arguments = new StringBuilder();
    events.forEach(e -> e.functionCallArgumentsDelta().ifPresent(d -> arguments.append(d.delta())));
    assertEquals("{\"city\":\"Paris\"}", arguments.toString());
    assertEquals("{\"city\":\"Paris\"}", events.stream().filter(ResponseStreamEvent::isFunctionCallArgumentsDone)
      .findFirst().orElseThrow().asFunctionCallArgumentsDone().arguments());
    assertTrue(events.stream().anyMatch(e -> e.isOutputItemAdded() && e.asOutputItemAdded().item().isFunctionCall()));
    Response completed = events.get(events.size() - 1).asCompleted().response();
    assertEquals("get_weather", completed.output().get(0).asFunctionCall().name());
    assertTrue(upstream.last().getBoolean("stream"), "streamed upstream too");
  }

  @Test
  void a_json_schema_text_format_reaches_the_upstream_as_response_format() {
    Response response = acme.responses().create(ResponseCreateParams.builder().model("gpt-fake")
      .input("Weather as JSON").maxOutputTokens(100)
      .text(ResponseTextConfig.builder().format(ResponseFormatTextJsonSchemaConfig.builder().name("weather")
        .schema(ResponseFormatTextJsonSchemaConfig.Schema.builder()
          .putAdditionalProperty("type", JsonValue.from("object")).build()).build()).build()).build());
    assertEquals("{\"city\":\"Paris\",\"sunny\":true}", text(response));
    JsonObject asked = upstream.last();
    assertEquals("json_schema", asked.getJsonObject("response_format").getString("type"));
    assertEquals("weather", asked.getJsonObject("response_format").getJsonObject("json_schema").getString("name"));
    assertEquals(100, asked.getInteger("max_completion_tokens"));
  }

  @Test
  void a_stored_response_is_read_and_deleted_by_its_tenant_only() {
    Response created = acme.responses().create(ResponseCreateParams.builder().model("switchboard-simulator")
      .input("remember me").build());
    assertEquals(text(created), text(acme.responses().retrieve(created.id())));
    assertThrows(NotFoundException.class, () -> globex.responses().retrieve(created.id()), "another tenant's");
    assertThrows(NotFoundException.class, () -> globex.responses().delete(created.id()));
    assertThrows(BadRequestException.class, () -> globex.responses().create(ResponseCreateParams.builder()
      .model("switchboard-simulator").input("go on").previousResponseId(created.id()).build()));
    acme.responses().delete(created.id());
    assertThrows(NotFoundException.class, () -> acme.responses().retrieve(created.id()));

    Response unstored = acme.responses().create(ResponseCreateParams.builder().model("switchboard-simulator")
      .input("forget me").store(false).build());
    assertThrows(NotFoundException.class, () -> acme.responses().retrieve(unstored.id()));
  }

  private static JsonObject refused(JsonObject body, int status) {
    var response = Http.post(node.baseUrl() + "/v1/responses", body.encode(), "authorization",
      "Bearer " + TestConfigs.ACME_KEY);
    assertEquals(status, response.statusCode(), response.body());
    return new JsonObject(response.body()).getJsonObject("error");
  }

  @Test
  void what_chat_completions_cannot_say_is_refused_naming_the_field() {
    JsonObject hi = new JsonObject().put("model", "switchboard-simulator").put("input", "hi");
    assertEquals("tools[0].type", refused(hi.copy().put("tools", new JsonArray().add(new JsonObject()
      .put("type", "web_search"))), 400).getString("param"));
    assertEquals("conversation", refused(hi.copy().put("conversation", "conv_1"), 400).getString("param"));
    assertEquals("input[0].type", refused(hi.copy().put("input", new JsonArray().add(new JsonObject()
      .put("type", "item_reference").put("id", "x"))), 400).getString("param"));
    assertEquals("previous_response_not_found", refused(hi.copy().put("previous_response_id", "resp_no"), 400)
      .getString("code"));
    assertEquals("model_not_found", refused(hi.copy().put("model", "no-such-model"), 404).getString("code"));
    var noKey = Http.post(node.baseUrl() + "/v1/responses", hi.encode());
    assertEquals(401, noKey.statusCode());
    assertTrue(noKey.headers().firstValue("x-request-id").isPresent(), "request ids as on chat");
  }

  @Test
  void a_stream_that_breaks_ends_with_an_error_event_not_completed() {
    var response = Http.post(node.baseUrl() + "/v1/responses", new JsonObject().put("model", "sim-drop")
      .put("input", "hi").put("stream", true).encode(), "authorization", "Bearer " + TestConfigs.ACME_KEY);
    // the head every event stream of the API has: an event stream, not cached or buffered on its way, cache state
    assertEquals("text/event-stream; charset=utf-8", response.headers().firstValue("content-type").orElse(null));
    assertEquals("no-cache", response.headers().firstValue("cache-control").orElse(null));
    assertEquals("no", response.headers().firstValue("x-accel-buffering").orElse(null));
    assertEquals("bypass", response.headers().firstValue("x-switchboard-cache").orElse(null));
    String broken = response.body();
    List<String> events = broken.lines().filter(l -> l.startsWith("event: ")).map(l -> l.substring(7)).toList();
    assertEquals("error", events.get(events.size() - 1), broken);
    assertTrue(!events.contains("response.completed"), "never a silent success");
  }

  @Test
  void a_refusal_is_a_refusal_part_streamed_or_not() {
    ResponseCreateParams params = ResponseCreateParams.builder().model("gpt-fake").input("please refuse").build();
    Response whole = acme.responses().create(params);
    assertEquals("I can't help with that.", whole.output().get(0).asMessage().content().get(0).asRefusal().refusal());
    List<ResponseStreamEvent> events = new ArrayList<>();
    try (StreamResponse<ResponseStreamEvent> stream = acme.responses().createStreaming(params)) {
      stream.stream().forEach(events::add);
    }
    events.forEach(ResponseStreamEvent::validate);
    StringBuilder deltas = new StringBuilder();
    events.forEach(e -> e.refusalDelta().ifPresent(d -> deltas.append(d.delta())));
    assertEquals("I can't help with that.", deltas.toString());
    assertTrue(events.stream().anyMatch(ResponseStreamEvent::isRefusalDone));
    Response completed = events.get(events.size() - 1).asCompleted().response();
    assertEquals(whole.output().get(0).asMessage().content(), completed.output().get(0).asMessage().content());
  }
}

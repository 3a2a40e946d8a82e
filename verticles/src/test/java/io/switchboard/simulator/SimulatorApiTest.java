package io.switchboard.simulator;

import io.switchboard.routing.Continuation;
import io.switchboard.testing.Http;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The simulator's Chat Completions wire format, over real HTTP against a SimulatorVerticle on loopback. */
class SimulatorApiTest {
  static final SimulatorKnobs FAST = new SimulatorKnobs(0, 0, 12, 0, 500, false, -1, 0);
  private static Vertx vertx;
  private static SimulatorVerticle simulator;
  private static String url;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    simulator = new SimulatorVerticle("127.0.0.1", 0, FAST);
    vertx.deployVerticle(simulator).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    url = simulator.baseUrl(FAST) + "/chat/completions";
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  // ---- helpers

  static JsonObject user(Object content) {
    return new JsonObject().put("role", "user").put("content", content);
  }

  static JsonObject request(JsonObject... messages) {
    return new JsonObject().put("model", "switchboard-simulator").put("messages", new JsonArray(List.of(messages)));
  }

  static JsonObject weatherTool() {
    return new JsonObject().put("type", "function").put("function", new JsonObject().put("name", "get_weather")
      .put("description", "The weather in a city").put("parameters", new JsonObject().put("type", "object")
        .put("properties", new JsonObject()
          .put("city", new JsonObject().put("type", "string"))
          .put("unit", new JsonObject().put("type", "string").put("enum", new JsonArray().add("celsius").add("kelvin")))
          .put("days", new JsonObject().put("type", "integer"))
          .put("exact", new JsonObject().put("type", "boolean"))
          .put("note", new JsonObject().put("type", "string")))
        .put("required", new JsonArray().add("city").add("unit").add("days").add("exact"))));
  }

  static JsonObject timeTool() {
    return new JsonObject().put("type", "function").put("function", new JsonObject().put("name", "get_time")
      .put("parameters", new JsonObject().put("type", "object").put("properties", new JsonObject()
        .put("zone", new JsonObject().put("type", "string")).put("offset", new JsonObject().put("type", "number")))));
  }

  static JsonObject withTools(JsonObject request) {
    return request.put("tools", new JsonArray().add(weatherTool()).add(timeTool()));
  }

  private static JsonObject ok(String url, JsonObject body) {
    HttpResponse<String> response = Http.post(url, body.encode());
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  private static JsonObject ok(JsonObject body) {
    return ok(url, body);
  }

  /** The data payloads of a stream, the last one checked to be [DONE] and dropped. */
  private static List<JsonObject> chunks(String url, JsonObject body) {
    HttpResponse<java.util.stream.Stream<String>> response = Http.postLines(url, body.put("stream", true).encode());
    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
    List<String> data = Http.sseData(response);
    assertEquals("[DONE]", data.get(data.size() - 1));
    List<JsonObject> chunks = new ArrayList<>();
    for (String d : data.subList(0, data.size() - 1)) {
      chunks.add(new JsonObject(d));
    }
    return chunks;
  }

  private static List<JsonObject> chunks(JsonObject body) {
    return chunks(url, body);
  }

  private static JsonObject choice(JsonObject completion) {
    return completion.getJsonArray("choices").getJsonObject(0);
  }

  private static String content(JsonObject completion) {
    return choice(completion).getJsonObject("message").getString("content");
  }

  private static JsonObject error(JsonObject body, String param) {
    HttpResponse<String> response = Http.post(url, body.encode());
    assertEquals(400, response.statusCode(), response.body());
    assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("application/json"));
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertEquals(Set.of("message", "type", "param", "code"), error.fieldNames(), response.body());
    assertEquals("invalid_request_error", error.getString("type"));
    assertEquals(param, error.getString("param"), response.body());
    return error;
  }

  private static String streamedText(List<JsonObject> chunks) {
    StringBuilder text = new StringBuilder();
    for (JsonObject chunk : chunks) {
      for (Object c : chunk.getJsonArray("choices")) {
        String piece = ((JsonObject) c).getJsonObject("delta").getString("content");
        if (piece != null) {
          text.append(piece);
        }
      }
    }
    return text.toString();
  }

  private static String finishReason(List<JsonObject> chunks) {
    String finish = null;
    for (JsonObject chunk : chunks) {
      for (Object c : chunk.getJsonArray("choices")) {
        String f = ((JsonObject) c).getString("finish_reason");
        if (f != null) {
          assertNull(finish, "one finish reason");
          finish = f;
        }
      }
    }
    return finish;
  }

  // ---- text

  @Test
  void a_text_answer_has_the_real_shape_and_is_deterministic() {
    JsonObject completion = ok(request(user("hello there")));
    assertEquals("chat.completion", completion.getString("object"));
    assertEquals("fp_switchboard_sim", completion.getString("system_fingerprint"));
    assertEquals("default", completion.getString("service_tier"));
    JsonObject choice = choice(completion);
    assertEquals("stop", choice.getString("finish_reason"));
    assertTrue(choice.containsKey("logprobs") && choice.getValue("logprobs") == null);
    JsonObject message = choice.getJsonObject("message");
    assertEquals("assistant", message.getString("role"));
    assertTrue(message.containsKey("refusal") && message.getValue("refusal") == null);
    assertEquals(12, message.getString("content").split(" ").length);
    JsonObject usage = completion.getJsonObject("usage");
    assertEquals(12, usage.getInteger("completion_tokens"));
    assertEquals(usage.getInteger("prompt_tokens") + 12, usage.getInteger("total_tokens"));
    assertEquals(0, usage.getJsonObject("prompt_tokens_details").getInteger("cached_tokens"));
    assertEquals(0, usage.getJsonObject("completion_tokens_details").getInteger("reasoning_tokens"));
    assertEquals(message.getString("content"), content(ok(request(user("hello there")))));
    assertNotEquals(message.getString("content"), content(ok(request(user("something else")))));
  }

  @Test
  void a_text_stream_has_fingerprint_usage_details_and_null_usage_on_other_chunks() {
    JsonObject whole = ok(request(user("stream this")));
    List<JsonObject> chunks = chunks(request(user("stream this"))
      .put("stream_options", new JsonObject().put("include_usage", true)));
    assertEquals(content(whole), streamedText(chunks));
    assertEquals("stop", finishReason(chunks));
    JsonObject first = chunks.get(0);
    assertEquals("assistant", first.getJsonArray("choices").getJsonObject(0).getJsonObject("delta").getString("role"));
    for (JsonObject chunk : chunks) {
      assertEquals("chat.completion.chunk", chunk.getString("object"));
      assertEquals("fp_switchboard_sim", chunk.getString("system_fingerprint"));
      assertEquals("default", chunk.getString("service_tier"));
      assertTrue(chunk.containsKey("usage"));
    }
    JsonObject last = chunks.get(chunks.size() - 1);
    assertTrue(last.getJsonArray("choices").isEmpty());
    assertEquals(12, last.getJsonObject("usage").getInteger("completion_tokens"));
    assertEquals(0, last.getJsonObject("usage").getJsonObject("prompt_tokens_details").getInteger("cached_tokens"));
    for (JsonObject chunk : chunks.subList(0, chunks.size() - 1)) {
      assertNull(chunk.getValue("usage"));
    }
    List<JsonObject> withoutUsage = chunks(request(user("stream this")));
    assertFalse(withoutUsage.get(0).containsKey("usage"));
    assertEquals(content(whole), streamedText(withoutUsage));
  }

  @Test
  void text_parts_are_the_prompt_and_an_image_is_seen() {
    String plain = content(ok(request(user("describe this"))));
    JsonArray parts = new JsonArray().add(new JsonObject().put("type", "text").put("text", "describe "))
      .add(new JsonObject().put("type", "text").put("text", "this"));
    assertEquals(plain, content(ok(request(user(parts)))));
    JsonArray image = parts.copy().add(new JsonObject().put("type", "image_url")
      .put("image_url", new JsonObject().put("url", "data:image/png;base64,iVBORw0KGgo=").put("detail", "low")));
    String seen = content(ok(request(user(image))));
    assertTrue(seen.startsWith("I see an image. "), seen);
    assertTrue(seen.endsWith(plain.substring(1)), seen);
    assertEquals(seen, content(ok(request(user(image)))));
    JsonArray audioAndFile = parts.copy()
      .add(new JsonObject().put("type", "input_audio").put("input_audio",
        new JsonObject().put("data", "UklGRg==").put("format", "wav")))
      .add(new JsonObject().put("type", "file").put("file", new JsonObject().put("file_id", "file-abc")));
    assertEquals(plain, content(ok(request(user(audioAndFile)))));
  }

  @Test
  void a_continuation_given_as_text_parts_continues_the_same_answer() {
    String whole = content(ok(request(user("tell me a story"))));
    String[] words = whole.split("(?= )");
    String partial = String.join("", List.of(words).subList(0, 5));
    JsonObject continued = ok(request(user("tell me a story"),
      new JsonObject().put("role", "assistant").put("content", new JsonArray()
        .add(new JsonObject().put("type", "text").put("text", partial))),
      user(new JsonArray().add(new JsonObject().put("type", "text").put("text", Continuation.INSTRUCTION)))));
    assertEquals(whole.substring(partial.length()), content(continued));
    assertEquals(whole.substring(partial.length()), content(ok(request(user("tell me a story"),
      new JsonObject().put("role", "assistant").put("content", partial), user(Continuation.INSTRUCTION)))));
  }

  // ---- tools

  @Test
  void tools_get_a_deterministic_call_of_the_first_tool() {
    JsonObject completion = ok(withTools(request(user("Weather in Paris?"))));
    JsonObject choice = choice(completion);
    assertEquals("tool_calls", choice.getString("finish_reason"));
    JsonObject message = choice.getJsonObject("message");
    assertEquals("assistant", message.getString("role"));
    assertTrue(message.containsKey("content") && message.getValue("content") == null, message.encode());
    JsonArray calls = message.getJsonArray("tool_calls");
    assertEquals(1, calls.size());
    JsonObject call = calls.getJsonObject(0);
    assertTrue(call.getString("id").matches("call_[A-Za-z0-9]{24}"), call.getString("id"));
    assertEquals("function", call.getString("type"));
    assertEquals("get_weather", call.getJsonObject("function").getString("name"));
    JsonObject arguments = new JsonObject(call.getJsonObject("function").getString("arguments"));
    assertEquals(new JsonObject().put("city", "Weather in Paris?").put("unit", "celsius").put("days", 1)
      .put("exact", true), arguments);
    assertEquals(call, ok(withTools(request(user("Weather in Paris?")))).getJsonArray("choices").getJsonObject(0)
      .getJsonObject("message").getJsonArray("tool_calls").getJsonObject(0), "deterministic");
    assertEquals(completion.getJsonObject("usage").getInteger("completion_tokens") + completion.getJsonObject("usage")
      .getInteger("prompt_tokens"), completion.getJsonObject("usage").getInteger("total_tokens"));
  }

  @Test
  void a_streamed_tool_call_assembles_to_the_non_streamed_one() {
    JsonObject body = withTools(request(user("Weather in Paris and in Rome, please?")));
    JsonObject whole = ok(body.copy());
    JsonObject expected = choice(whole).getJsonObject("message").getJsonArray("tool_calls").getJsonObject(0);
    List<JsonObject> chunks = chunks(body.copy().put("stream_options", new JsonObject().put("include_usage", true)));

    JsonObject firstDelta = chunks.get(0).getJsonArray("choices").getJsonObject(0).getJsonObject("delta");
    assertEquals("assistant", firstDelta.getString("role"));
    assertTrue(firstDelta.containsKey("content") && firstDelta.getValue("content") == null);
    JsonObject head = firstDelta.getJsonArray("tool_calls").getJsonObject(0);
    assertEquals(Set.of("index", "id", "type", "function"), head.fieldNames());
    assertEquals(0, head.getInteger("index"));
    assertEquals(expected.getString("id"), head.getString("id"));
    assertEquals("function", head.getString("type"));
    assertEquals(new JsonObject().put("name", "get_weather").put("arguments", ""), head.getJsonObject("function"));

    StringBuilder arguments = new StringBuilder();
    int fragments = 0;
    int i = 1;
    for (; i < chunks.size(); i++) {
      JsonObject choice = chunks.get(i).getJsonArray("choices").getJsonObject(0);
      JsonArray calls = choice.getJsonObject("delta").getJsonArray("tool_calls");
      if (calls == null) {
        break;
      }
      assertNull(choice.getString("finish_reason"));
      assertEquals(Set.of("tool_calls"), choice.getJsonObject("delta").fieldNames());
      JsonObject delta = calls.getJsonObject(0);
      assertEquals(Set.of("index", "function"), delta.fieldNames(), delta.encode());
      assertEquals(0, delta.getInteger("index"));
      assertEquals(Set.of("arguments"), delta.getJsonObject("function").fieldNames());
      arguments.append(delta.getJsonObject("function").getString("arguments"));
      fragments++;
    }
    assertTrue(fragments >= 3, "arguments come in a few fragments: " + fragments);
    assertEquals(expected.getJsonObject("function").getString("arguments"), arguments.toString());
    JsonObject finish = chunks.get(i).getJsonArray("choices").getJsonObject(0);
    assertEquals("tool_calls", finish.getString("finish_reason"));
    assertTrue(finish.getJsonObject("delta").isEmpty());
    JsonObject usage = chunks.get(i + 1);
    assertTrue(usage.getJsonArray("choices").isEmpty());
    assertEquals(whole.getJsonObject("usage").getInteger("completion_tokens"),
      usage.getJsonObject("usage").getInteger("completion_tokens"));
    assertEquals(i + 2, chunks.size(), "nothing after the usage chunk but [DONE]");
  }

  @Test
  void tool_choice_names_the_tool_or_turns_tools_off_and_so_does_the_knob() {
    JsonObject named = ok(withTools(request(user("What time is it in Tokyo?")))
      .put("tool_choice", new JsonObject().put("type", "function")
        .put("function", new JsonObject().put("name", "get_time"))));
    JsonObject call = choice(named).getJsonObject("message").getJsonArray("tool_calls").getJsonObject(0);
    assertEquals("get_time", call.getJsonObject("function").getString("name"));
    assertEquals(new JsonObject().put("zone", "What time is it in Tokyo?"),
      new JsonObject(call.getJsonObject("function").getString("arguments")), "no required: the first property");

    String text = content(ok(request(user("What time is it in Tokyo?"))));
    JsonObject none = ok(withTools(request(user("What time is it in Tokyo?"))).put("tool_choice", "none"));
    assertEquals("stop", choice(none).getString("finish_reason"));
    assertEquals(text, content(none));

    SimulatorKnobs off = new SimulatorKnobs(0, 0, 12, 0, 500, false, -1, 0, false);
    assertTrue(off.toPathSegment().contains("tools=false"));
    assertEquals(off, SimulatorKnobs.parse(off.toPathSegment(), SimulatorKnobs.DEFAULTS));
    String offUrl = simulator.baseUrl(off) + "/chat/completions";
    JsonObject ignored = ok(offUrl, withTools(request(user("What time is it in Tokyo?"))));
    assertEquals("stop", choice(ignored).getString("finish_reason"));
    assertEquals(text, content(ignored));
    List<JsonObject> streamed = chunks(offUrl, withTools(request(user("What time is it in Tokyo?"))));
    assertEquals(text, streamedText(streamed));
    assertEquals("stop", finishReason(streamed));
  }

  static JsonArray toolRound(String id, String result) {
    return new JsonArray()
      .add(user("Weather in Paris?"))
      .add(new JsonObject().put("role", "assistant").putNull("content").put("tool_calls", new JsonArray()
        .add(new JsonObject().put("id", id).put("type", "function").put("function", new JsonObject()
          .put("name", "get_weather").put("arguments", "{\"city\":\"Paris\"}")))))
      .add(new JsonObject().put("role", "tool").put("tool_call_id", id).put("content", result));
  }

  @Test
  void a_tool_result_gets_a_text_answer_from_the_tools_content() {
    JsonObject body = withTools(request()).put("messages", toolRound("call_1", "Sunny and 21 degrees in Paris today, "
      + "with a light breeze from the west"));
    JsonObject completion = ok(body.copy());
    assertEquals("stop", choice(completion).getString("finish_reason"));
    assertEquals("The tool said: Sunny and 21 degrees in Paris today, with...", content(completion));
    assertEquals(content(completion), streamedText(chunks(body.copy())));
    JsonArray parts = new JsonArray().add(new JsonObject().put("type", "text").put("text", "Rain."));
    JsonObject other = withTools(request()).put("messages", toolRound("call_1", "x"));
    other.getJsonArray("messages").getJsonObject(2).put("content", parts);
    assertEquals("The tool said: Rain.", content(ok(other)));
    assertEquals(11, completion.getJsonObject("usage").getInteger("completion_tokens"), "one token per word");
  }

  // ---- refusals

  @Test
  void a_tool_message_without_tool_call_id_is_refused() {
    JsonArray messages = toolRound("call_1", "ok");
    messages.getJsonObject(2).remove("tool_call_id");
    JsonObject error = error(request().put("messages", messages), "messages.[2].tool_call_id");
    assertEquals("Missing parameter 'tool_call_id': messages with role 'tool' must have a 'tool_call_id'.",
      error.getString("message"));
  }

  @Test
  void a_tool_message_answering_no_call_is_refused() {
    JsonArray messages = toolRound("call_1", "ok");
    messages.getJsonObject(2).put("tool_call_id", "call_2");
    JsonObject error = error(request().put("messages", messages), "messages.[2].role");
    assertEquals("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
      + "'tool_calls'.", error.getString("message"));
    JsonArray orphan = new JsonArray().add(user("hi"))
      .add(new JsonObject().put("role", "tool").put("tool_call_id", "call_1").put("content", "ok"));
    error(request().put("messages", orphan), "messages.[1].role");
  }

  @Test
  void tool_calls_not_answered_are_refused() {
    JsonArray messages = toolRound("call_1", "ok");
    messages.getJsonObject(1).getJsonArray("tool_calls").add(new JsonObject().put("id", "call_2").put("type", "function")
      .put("function", new JsonObject().put("name", "get_time").put("arguments", "{}")));
    messages.add(user("and now?"));
    JsonObject error = error(request().put("messages", messages), "messages.[1].role");
    assertEquals("An assistant message with 'tool_calls' must be followed by tool messages responding to each "
      + "'tool_call_id'. The following tool_call_ids did not have response messages: call_2",
      error.getString("message"));
    JsonArray last = toolRound("call_9", "ok");
    last.remove(2);
    assertTrue(error(request().put("messages", last), "messages.[1].role").getString("message").endsWith(": call_9"));
  }

  @Test
  void an_unknown_content_part_is_refused() {
    JsonArray parts = new JsonArray().add(new JsonObject().put("type", "text").put("text", "hi"))
      .add(new JsonObject().put("type", "video_url").put("video_url", new JsonObject().put("url", "x")));
    JsonObject error = error(request(user(parts)), "messages[0].content[1].type");
    assertEquals("invalid_value", error.getString("code"));
    assertEquals("Invalid value: 'video_url'. Supported values are: 'text', 'image_url', 'input_audio', and 'file'.",
      error.getString("message"));
    JsonObject system = new JsonObject().put("role", "system").put("content", new JsonArray().add(new JsonObject()
      .put("type", "image_url").put("image_url", new JsonObject().put("url", "x"))));
    error(request(system, user("hi")), "messages[0].content[0].type");
    error(request(user(new JsonArray().add(new JsonObject().put("type", "text")))), "messages[0].content[0].text");
  }

  @Test
  void other_malformed_requests_are_refused_as_openai_does() {
    assertEquals("missing_required_parameter", error(new JsonObject().put("model", "m"), "messages").getString("code"));
    error(request(), "messages");
    error(request(new JsonObject().put("role", "robot").put("content", "x")), "messages[0].role");
    error(request(user("hi")).put("tool_choice", "auto"), "tool_choice");
    error(withTools(request(user("hi"))).put("tool_choice", new JsonObject().put("type", "function")
      .put("function", new JsonObject().put("name", "nope"))), "tool_choice");
    error(request(user("hi")).put("max_tokens", 0), "max_tokens");
    error(request(user("hi")).put("top_logprobs", 2), "top_logprobs");
    error(request(user("hi")).put("response_format", new JsonObject().put("type", "yaml")), "response_format.type");
    error(request(user("hi")).put("stream_options", new JsonObject().put("include_usage", true)), "stream_options");
    HttpResponse<String> notJson = Http.post(url, "{not json");
    assertEquals(400, notJson.statusCode());
    assertEquals("invalid_request_error", new JsonObject(notJson.body()).getJsonObject("error").getString("type"));
  }

  // ---- max_tokens, logprobs, response formats

  @Test
  void max_tokens_cuts_the_answer_with_finish_reason_length() {
    String whole = content(ok(request(user("a long question"))));
    JsonObject cut = ok(request(user("a long question")).put("max_tokens", 5));
    assertEquals("length", choice(cut).getString("finish_reason"));
    assertEquals(5, cut.getJsonObject("usage").getInteger("completion_tokens"));
    String five = String.join("", List.of(whole.split("(?= )")).subList(0, 5));
    assertEquals(five, content(cut));

    JsonObject completionTokens = ok(request(user("a long question")).put("max_completion_tokens", 3));
    assertEquals("length", choice(completionTokens).getString("finish_reason"));
    assertEquals(3, completionTokens.getJsonObject("usage").getInteger("completion_tokens"));

    List<JsonObject> streamed = chunks(request(user("a long question")).put("max_tokens", 5)
      .put("stream_options", new JsonObject().put("include_usage", true)));
    assertEquals(five, streamedText(streamed));
    assertEquals("length", finishReason(streamed));
    assertEquals(5, streamed.get(streamed.size() - 1).getJsonObject("usage").getInteger("completion_tokens"));

    JsonObject roomy = ok(request(user("a long question")).put("max_tokens", 12));
    assertEquals("stop", choice(roomy).getString("finish_reason"));
    assertEquals(whole, content(roomy));

    JsonObject call = ok(withTools(request(user("Weather in Paris?"))).put("max_tokens", 2));
    assertEquals("length", choice(call).getString("finish_reason"));
    assertEquals(2, call.getJsonObject("usage").getInteger("completion_tokens"));
  }

  @Test
  void logprobs_come_per_token_whole_and_streamed() {
    JsonObject completion = ok(request(user("probable words")).put("logprobs", true).put("top_logprobs", 3));
    String text = content(completion);
    JsonArray entries = choice(completion).getJsonObject("logprobs").getJsonArray("content");
    assertTrue(choice(completion).getJsonObject("logprobs").containsKey("refusal"));
    assertEquals(12, entries.size());
    StringBuilder joined = new StringBuilder();
    for (int i = 0; i < entries.size(); i++) {
      JsonObject entry = entries.getJsonObject(i);
      assertEquals(Set.of("token", "logprob", "bytes", "top_logprobs"), entry.fieldNames());
      String token = entry.getString("token");
      joined.append(token);
      double logprob = entry.getDouble("logprob");
      assertTrue(logprob < 0 && logprob > -1, String.valueOf(logprob));
      byte[] utf8 = token.getBytes(StandardCharsets.UTF_8);
      assertEquals(utf8.length, entry.getJsonArray("bytes").size());
      for (int b = 0; b < utf8.length; b++) {
        assertEquals(utf8[b] & 0xff, entry.getJsonArray("bytes").getInteger(b));
      }
      JsonArray top = entry.getJsonArray("top_logprobs");
      assertEquals(3, top.size());
      assertEquals(token, top.getJsonObject(0).getString("token"));
      assertEquals(logprob, top.getJsonObject(0).getDouble("logprob"));
      for (int t = 1; t < top.size(); t++) {
        assertTrue(top.getJsonObject(t).getDouble("logprob") < top.getJsonObject(t - 1).getDouble("logprob"));
        assertNotEquals(token, top.getJsonObject(t).getString("token"));
        assertEquals(Set.of("token", "logprob", "bytes"), top.getJsonObject(t).fieldNames());
      }
    }
    assertEquals(text, joined.toString());
    assertEquals(entries, choice(ok(request(user("probable words")).put("logprobs", true).put("top_logprobs", 3)))
      .getJsonObject("logprobs").getJsonArray("content"), "deterministic");

    List<JsonObject> chunks = chunks(request(user("probable words")).put("logprobs", true).put("top_logprobs", 3));
    int position = 0;
    for (JsonObject chunk : chunks) {
      JsonObject choice = chunk.getJsonArray("choices").getJsonObject(0);
      if (choice.getJsonObject("delta").getString("content") != null) {
        JsonArray content = choice.getJsonObject("logprobs").getJsonArray("content");
        assertEquals(1, content.size());
        assertEquals(entries.getJsonObject(position++), content.getJsonObject(0));
      }
    }
    assertEquals(12, position);

    JsonObject none = ok(request(user("probable words")).put("logprobs", true));
    assertTrue(choice(none).getJsonObject("logprobs").getJsonArray("content").getJsonObject(0)
      .getJsonArray("top_logprobs").isEmpty());
  }

  @Test
  void json_formats_answer_a_json_object() {
    JsonObject object = new JsonObject(content(ok(request(user("json please"))
      .put("response_format", new JsonObject().put("type", "json_object")))));
    assertEquals(content(ok(request(user("json please")))), object.getString("answer"));

    JsonObject schema = new JsonObject().put("type", "object").put("properties", new JsonObject()
      .put("name", new JsonObject().put("type", "string"))
      .put("age", new JsonObject().put("type", "integer"))
      .put("tags", new JsonObject().put("type", "array").put("items", new JsonObject().put("type", "string")))
      .put("address", new JsonObject().put("type", "object").put("properties", new JsonObject()
        .put("city", new JsonObject().put("type", "string"))).put("required", new JsonArray().add("city")))
      .put("kind", new JsonObject().put("type", "string").put("enum", new JsonArray().add("cat").add("dog"))))
      .put("required", new JsonArray().add("name").add("age").add("tags").add("address").add("kind"))
      .put("additionalProperties", false);
    JsonObject body = request(user("Ada")).put("response_format", new JsonObject().put("type", "json_schema")
      .put("json_schema", new JsonObject().put("name", "person").put("strict", true).put("schema", schema)));
    JsonObject completion = ok(body.copy());
    assertEquals("stop", choice(completion).getString("finish_reason"));
    JsonObject person = new JsonObject(content(completion));
    assertEquals(new JsonObject().put("name", "Ada").put("age", 1).put("tags", new JsonArray().add("Ada"))
      .put("address", new JsonObject().put("city", "Ada")).put("kind", "cat"), person);
    assertEquals(content(completion), streamedText(chunks(body.copy())));
  }

  @Test
  void models_are_listed_as_before() {
    JsonObject models = new JsonObject(Http.get(simulator.baseUrl(FAST) + "/models").body());
    assertEquals("list", models.getString("object"));
    assertEquals(new JsonObject().put("id", "switchboard-simulator").put("object", "model").put("created", 0)
      .put("owned_by", "switchboard-simulator"), models.getJsonArray("data").getJsonObject(0));
  }
}

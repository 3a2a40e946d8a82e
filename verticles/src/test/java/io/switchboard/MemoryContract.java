package io.switchboard;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.IdentityQuery;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Conversation memory as a client sees it; run against each store (in memory, Redis). */
abstract class MemoryContract {
  static final String ACME = "memory-key-acme-0000001";
  static final String GLOBEX = "memory-key-globex-000001";

  static String config(String sessionYaml) {
    return """
      auth:
        enabled: true
        keys:
          - {key: memory-key-acme-0000001, tenant: acme}
          - {key: memory-key-globex-000001, tenant: globex}
      simulator: {ttft_ms: 2, tokens_per_second: 0, reply_tokens: 30}
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
        - {model_name: small-window, provider: simulator}
      routes:
        - {model_name: small-window, context_tokens: 300}
      """ + sessionYaml;
  }

  abstract TestNode node();

  HttpResponse<String> turn(String key, String model, String conversation, String text) {
    String body = new JsonObject().put("model", model).put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", text))).encode();
    HttpResponse<String> response = Http.post(node().baseUrl() + "/v1/chat/completions", body,
      "authorization", "Bearer " + key, "x-conversation-id", conversation);
    assertEquals(200, response.statusCode(), response.body());
    return response;
  }

  static int promptTokens(HttpResponse<String> response) {
    return new JsonObject(response.body()).getJsonObject("usage").getInteger("prompt_tokens");
  }

  @Test
  void a_tenant_lists_reads_and_deletes_its_conversations_and_no_one_elses() {
    String id = "conv-api-" + System.nanoTime();
    turn(ACME, "switchboard-simulator", id, "first question");
    turn(ACME, "switchboard-simulator", id, "second question");
    String base = node().baseUrl() + "/v1/conversations";
    JsonArray listed = new JsonObject(Http.get(base, "authorization", "Bearer " + ACME).body()).getJsonArray("data");
    assertTrue(listed.stream().anyMatch(c -> ((JsonObject) c).getString("id").equals(id)), listed.encode());
    JsonObject read = new JsonObject(Http.get(base + "/" + id, "authorization", "Bearer " + ACME).body());
    JsonArray messages = read.getJsonArray("messages");
    assertEquals(4, messages.size());
    assertEquals("first question", messages.getJsonObject(0).getString("content"));
    assertEquals("assistant", messages.getJsonObject(1).getString("role"));
    assertEquals("second question", messages.getJsonObject(2).getString("content"));

    assertEquals(404, Http.get(base + "/" + id, "authorization", "Bearer " + GLOBEX).statusCode());
    assertEquals(404, Http.delete(base + "/" + id, "authorization", "Bearer " + GLOBEX).statusCode());
    assertTrue(new JsonObject(Http.get(base, "authorization", "Bearer " + GLOBEX).body()).getJsonArray("data")
      .stream().noneMatch(c -> ((JsonObject) c).getString("id").equals(id)));
    assertEquals(200, Http.get(base + "/" + id, "authorization", "Bearer " + ACME).statusCode(),
      "the other tenant's attempts changed nothing");

    assertEquals(200, Http.delete(base + "/" + id, "authorization", "Bearer " + ACME).statusCode());
    assertEquals(404, Http.get(base + "/" + id, "authorization", "Bearer " + ACME).statusCode());
    assertEquals(401, Http.get(base).statusCode());
  }

  @Test
  void history_sent_upstream_is_trimmed_to_the_models_budget() {
    String id = "conv-trim-" + System.nanoTime();
    int[] prompts = new int[8];
    for (int i = 0; i < prompts.length; i++) {
      prompts[i] = promptTokens(turn(ACME, "small-window", id, "turn number " + i + " with some words in it"));
    }
    assertTrue(prompts[2] > prompts[0], "memory grows the prompt at first");
    int growth = prompts[2] - prompts[1];
    assertTrue(prompts[7] - prompts[5] < growth / 2, "then the budget caps it: " + java.util.Arrays.toString(prompts));
    JsonArray stored = new JsonObject(Http.get(node().baseUrl() + "/v1/conversations/" + id, "authorization",
      "Bearer " + ACME).body()).getJsonArray("messages");
    assertEquals(16, stored.size(), "memory itself keeps every turn; only what goes upstream is trimmed");
  }

  @Test
  void linked_senders_are_one_person_across_channels() throws Exception {
    String wecomUser = "zhangsan-" + System.nanoTime();
    JsonObject link = new JsonObject(Http.post(node().baseUrl() + "/v1/identities/link", new JsonObject()
      .put("channel", "feishu").put("user_id", "ou_" + wecomUser)
      .put("to", new JsonObject().put("channel", "wecom").put("user_id", wecomUser)).encode(),
      "authorization", "Bearer " + ACME).body());
    String person = link.getString("person_id");
    var bus = node().node().vertx().eventBus();
    String viaWecom = bus.<String>request(Addresses.SESSION_IDENTIFY, new IdentityQuery("acme", "wecom", wecomUser))
      .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).body();
    String viaFeishu = bus.<String>request(Addresses.SESSION_IDENTIFY,
      new IdentityQuery("acme", "feishu", "ou_" + wecomUser)).toCompletionStage().toCompletableFuture()
      .get(5, TimeUnit.SECONDS).body();
    assertEquals(person, viaWecom);
    assertEquals(person, viaFeishu);
    String otherTenant = bus.<String>request(Addresses.SESSION_IDENTIFY, new IdentityQuery("globex", "wecom", wecomUser))
      .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).body();
    assertNotEquals(person, otherTenant, "the same sender id in another tenant is another person");
    assertEquals(400, Http.post(node().baseUrl() + "/v1/identities/link", "{\"channel\":\"Bad Channel\"}",
      "authorization", "Bearer " + ACME).statusCode());
  }
}

package io.switchboard;

import io.switchboard.testing.ConstantLoad;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An operator edits the running node's file and reloads it, or sets weights: traffic follows, nothing fails. */
@Timeout(180)
class ReloadTest {
  private static final Logger LOG = LoggerFactory.getLogger(ReloadTest.class);
  private static final String ADMIN = "reload-admin-token-0123";
  private static final String[] AUTH = {"authorization", "Bearer " + ADMIN};

  private static Path file;
  private static TestNode node;

  /** {@code chat} served by blue and green at these weights, plus {@code extra} model entries. */
  private static String yaml(int blue, int green, String extra) {
    return """
      management:
        admin_token: %s
      simulator:
        ttft_ms: 5
        tokens_per_second: 0
        reply_tokens: 8
      model_list:
        - model_name: chat
          id: blue
          provider: simulator
          weight: %d
        - model_name: chat
          id: green
          provider: simulator
          weight: %d
        - model_name: flaky
          id: stable
          provider: simulator
          weight: 100
        - model_name: flaky
          id: canary
          provider: simulator
          weight: 0
          simulator: {error_rate: 1}
          circuit_breaker: {max_failures: 10000}
        - model_name: steady
          id: steady-old
          provider: simulator
          weight: 100
        - model_name: steady
          id: steady-new
          provider: simulator
          weight: 0
      %s""".formatted(ADMIN, blue, green, extra);
  }

  @BeforeAll
  static void start() throws Exception {
    file = Files.createTempFile("switchboard-reload", ".yaml");
    Files.writeString(file, yaml(100, 0, ""));
    node = TestNode.start(file, Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    Files.deleteIfExists(file);
  }

  private static HttpResponse<String> reload() {
    return Http.post(node.managementUrl() + "/admin/config/reload", "", AUTH);
  }

  private static HttpResponse<String> chat(String model) {
    return Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject().put("model", model)
      .put("messages", List.of(Map.of("role", "user", "content", "hi"))).encode());
  }

  /** Runs {@code change} under constant JSON + SSE load; the shift time is how long blue still got new turns. */
  private static long shift(Runnable change) throws Exception {
    try (ConstantLoad load = new ConstantLoad(node.apiPort, "chat", true).start(2, 2, 0)) {
      load.awaitTurns(20, 20_000);
      long changed = System.currentTimeMillis();
      change.run();
      long answered = System.currentTimeMillis();
      Thread.sleep(2_000);
      List<ConstantLoad.Turn> turns = load.stop();
      assertEquals(List.of(), turns.stream().filter(t -> !t.ok()).toList(), "failed turns");
      List<ConstantLoad.Turn> after = turns.stream().filter(t -> t.startMillis() > answered + 1_000).toList();
      assertTrue(after.size() >= 4, "turns after the change: " + after.size());
      assertTrue(after.stream().allMatch(t -> "green".equals(t.deployment())),
        "a second after the change every turn is green's: " + after);
      long lastBlue = turns.stream().filter(t -> "blue".equals(t.deployment())).mapToLong(ConstantLoad.Turn::startMillis)
        .max().orElse(changed);
      return Math.max(0, lastBlue - changed);
    }
  }

  @Test
  void weightsInTheFileMoveTheTrafficOnReload() throws Exception {
    Files.writeString(file, yaml(100, 0, ""));
    assertEquals(200, reload().statusCode());
    long millis = shift(() -> {
      try {
        Files.writeString(file, yaml(0, 100, ""));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      HttpResponse<String> answer = reload();
      assertEquals(200, answer.statusCode(), answer.body());
      assertTrue(new JsonObject(answer.body()).getJsonArray("redeployed").contains("routing"), answer.body());
    });
    LOG.info("reload 100/0 -> 0/100: the last turn sent to blue started {} ms after the reload was asked", millis);
  }

  @Test
  void weightsSetByTheAdminApiMoveTheTraffic() throws Exception {
    Files.writeString(file, yaml(100, 0, ""));
    assertEquals(200, reload().statusCode());
    long millis = shift(() -> {
      HttpResponse<String> answer = Http.put(node.managementUrl() + "/admin/models/chat/weights",
        "{\"weights\": {\"blue\": 0, \"green\": 100}}", AUTH);
      assertEquals(200, answer.statusCode(), answer.body());
      assertEquals(100, new JsonObject(answer.body()).getJsonObject("weights").getInteger("green"));
    });
    LOG.info("weights 100/0 -> 0/100 by PUT: the last turn sent to blue started {} ms after the PUT", millis);
    JsonObject routes = new JsonObject(Http.get(node.managementUrl() + "/admin/routes", AUTH).body());
    assertEquals(100, routes.getJsonObject("models").getJsonObject("chat").getJsonArray("deployments").stream()
      .map(JsonObject.class::cast).filter(d -> d.getString("id").equals("green")).findFirst().orElseThrow()
      .getInteger("weight"));
  }

  @Test
  void aModelAddedIsServedAndSettingsThatNeedARestartAreNamed() throws Exception {
    Files.writeString(file, yaml(100, 0, ""));
    assertEquals(200, reload().statusCode());
    assertEquals(404, chat("added").statusCode());
    Files.writeString(file, yaml(100, 0, """
        - model_name: added
          provider: simulator
      server:
        request_timeout_ms: 45000
      """));
    HttpResponse<String> answer = reload();
    assertEquals(200, answer.statusCode(), answer.body());
    assertTrue(new JsonObject(answer.body()).getJsonArray("needs_restart").contains("server"), answer.body());
    HttpResponse<String> added = chat("added");
    assertEquals(200, added.statusCode(), added.body());
    assertTrue(Http.get(node.baseUrl() + "/v1/models").body().contains("\"added\""));
    // the model a reload added is counted under its own name, not as "none"
    String metrics = Http.get(node.managementUrl() + "/metrics").body();
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("switchboard_turns_seconds_count{")
      && l.contains("channel=\"http\"") && l.contains("model=\"added\"") && l.contains("outcome=\"ok\"")
      && Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)) >= 1), "turns of the added model in /metrics");
  }

  @Test
  void aModelRemovedLetsItsStreamsInFlightFinish() throws Exception {
    Files.writeString(file, yaml(100, 0, """
        - model_name: leaving
          provider: simulator
          simulator: {tokens_per_second: 20, reply_tokens: 40}
      """));
    assertEquals(200, reload().statusCode());
    CompletableFuture<List<String>> stream = CompletableFuture.supplyAsync(() -> {
      HttpResponse<Stream<String>> response = Http.postLines(node.baseUrl() + "/v1/chat/completions",
        "{\"model\":\"leaving\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"a long one\"}]}");
      return Http.sseData(response);
    });
    Thread.sleep(500); // the stream is under way (it takes about two seconds)
    Files.writeString(file, yaml(100, 0, ""));
    HttpResponse<String> answer = reload();
    assertEquals(200, answer.statusCode(), answer.body());
    assertEquals(404, chat("leaving").statusCode(), "a new turn for the removed model");
    List<String> data = stream.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals("[DONE]", data.get(data.size() - 1), "the stream in flight finished: " + data);
    assertTrue(data.size() > 30 && data.stream().noneMatch(d -> d.contains("\"error\"")), data.toString());
  }

  @Test
  void anInvalidFileIsRefusedAndTheRunningConfigurationStays() throws Exception {
    Files.writeString(file, yaml(100, 0, ""));
    assertEquals(200, reload().statusCode());
    String before = new JsonObject(Http.get(node.managementUrl() + "/admin/config", AUTH).body()).getString("version");
    Files.writeString(file, yaml(100, 0, "").replace("weight: 0\n    simulator: {error_rate: 1}",
      "wieght: 0\n    simulator: {error_rate: 1}"));
    HttpResponse<String> answer = reload();
    assertEquals(400, answer.statusCode(), answer.body());
    String message = new JsonObject(answer.body()).getJsonObject("error").getString("message");
    assertTrue(message.contains(file.toString()) && message.contains("line ") && message.contains("wieght"), message);
    assertEquals(before, new JsonObject(Http.get(node.managementUrl() + "/admin/config", AUTH).body())
      .getString("version"));
    assertEquals(200, chat("chat").statusCode());
    assertEquals(200, chat("flaky").statusCode());
  }

  @Test
  void aCanaryThatFailsIsRolledBackByItsRamp() throws Exception {
    Files.writeString(file, yaml(100, 0, ""));
    assertEquals(200, reload().statusCode());
    try (ConstantLoad load = new ConstantLoad(node.apiPort, "flaky", true).start(2, 1, 0)) {
      HttpResponse<String> answer = Http.put(node.managementUrl() + "/admin/models/flaky/weights",
        "{\"weights\": {\"stable\": 0, \"canary\": 100}, \"ramp\": {\"steps\": 4, \"interval_ms\": 700,"
          + " \"max_error_rate\": 0.2}}", AUTH);
      assertEquals(200, answer.statusCode(), answer.body());
      JsonObject weights = awaitRamp("flaky", "rolled_back");
      assertEquals(Map.of("stable", 100, "canary", 0), weights.getJsonObject("weights").getMap());
      assertTrue(weights.getJsonObject("ramp").getInteger("step") < 4, weights.encode());
      List<ConstantLoad.Turn> turns = load.stop();
      // the canary's failures were retried on the stable deployment: the clients saw none
      assertEquals(List.of(), turns.stream().filter(t -> !t.ok()).toList());
    }
  }

  @Test
  void aHealthyCanaryIsRampedAllTheWay() throws Exception {
    try (ConstantLoad load = new ConstantLoad(node.apiPort, "steady", true).start(2, 0, 0)) {
      HttpResponse<String> answer = Http.put(node.managementUrl() + "/admin/models/steady/weights",
        "{\"weights\": {\"steady-old\": 0, \"steady-new\": 100}, \"ramp\": {\"steps\": 3, \"interval_ms\": 300,"
          + " \"max_error_rate\": 0.2}}", AUTH);
      assertEquals(200, answer.statusCode(), answer.body());
      JsonObject weights = awaitRamp("steady", "completed");
      assertEquals(Map.of("steady-old", 0, "steady-new", 100), weights.getJsonObject("weights").getMap());
      assertEquals(List.of(), load.stop().stream().filter(t -> !t.ok()).toList());
    }
  }

  @Test
  void anImChannelAddedGetsItsWebhook() throws Exception {
    Files.writeString(file, yaml(100, 0, ""));
    assertEquals(200, reload().statusCode());
    assertEquals(404, Http.get(node.baseUrl() + "/im/wecom/acme-wecom").statusCode());
    Files.writeString(file, yaml(100, 0, """
      im_channels:
        - name: acme-wecom
          platform: wecom
          tenant: acme
          model: chat
          api_base: http://127.0.0.1:9
          credentials: {corp_id: ww-acme-corp, corp_secret: wecom-corp-secret-0123456789, token: wecomCallbackToken42,
                        encoding_aes_key: kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR, agent_id: "1000002"}
      """));
    HttpResponse<String> answer = reload();
    assertEquals(200, answer.statusCode(), answer.body());
    assertTrue(new JsonObject(answer.body()).getJsonArray("redeployed").contains("connection"), answer.body());
    // the webhook is there once the old connection instances have handed their connections over (about a second):
    // an unsigned verification is refused by the channel, not unknown to the node
    long deadline = System.currentTimeMillis() + 10_000;
    int status;
    while ((status = Http.get(node.baseUrl() + "/im/wecom/acme-wecom").statusCode()) == 404
      && System.currentTimeMillis() < deadline) {
      Thread.sleep(100);
    }
    assertTrue(status != 404, "status " + status);
    Files.writeString(file, yaml(100, 0, ""));
    assertEquals(200, reload().statusCode());
  }

  @Test
  void aKeyAddedToTheFileIsAcceptedAfterTheReload() throws Exception {
    Path keys = Files.createTempFile("switchboard-keys", ".yaml");
    String withKey = yaml(100, 0, """
      auth:
        enabled: true
        keys:
          - key: reload-first-key-0123456789
            tenant: acme
      """);
    Files.writeString(keys, withKey);
    try (TestNode auth = TestNode.start(keys, Map.of())) {
      String body = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      String url = auth.baseUrl() + "/v1/chat/completions";
      assertEquals(401, Http.post(url, body, "authorization", "Bearer reload-second-key-0123456789").statusCode());
      Files.writeString(keys, withKey.replace("    tenant: acme\n", "    tenant: acme\n"
        + "    - key: reload-second-key-0123456789\n      tenant: globex\n"));
      HttpResponse<String> answer = Http.post(auth.managementUrl() + "/admin/config/reload", "", AUTH);
      assertEquals(200, answer.statusCode(), answer.body());
      assertEquals(List.of(), new JsonObject(answer.body()).getJsonArray("redeployed").getList());
      assertEquals(200, Http.post(url, body, "authorization", "Bearer reload-second-key-0123456789").statusCode());
      assertEquals(200, Http.post(url, body, "authorization", "Bearer reload-first-key-0123456789").statusCode());
    } finally {
      Files.deleteIfExists(keys);
    }
  }

  @Test
  void anEditedWordListAppliesOnReload() throws Exception {
    Path words = Files.createTempFile("switchboard-words", ".txt");
    try {
      Files.writeString(words, "zanzibar\n");
      Files.writeString(file, yaml(100, 0, """
        guardrails:
          - {name: banned, type: words, words_file: '%s', on: [input], action: block}
        routes:
          - {model_name: chat, guardrails: [banned]}
        """.formatted(words)));
      HttpResponse<String> answer = reload();
      assertEquals(200, answer.statusCode(), answer.body());
      assertTrue(!new JsonObject(answer.body()).getJsonArray("needs_restart").contains("guardrails"), answer.body());
      assertEquals(400, say("we sail to zanzibar").statusCode(), "the policy a reload added is applied");
      assertEquals(200, say("we sail to the quokka island").statusCode());
      Files.writeString(words, "quokka\n");
      assertEquals(200, reload().statusCode());
      HttpResponse<String> refused = say("we sail to the quokka island");
      assertEquals(400, refused.statusCode(), "the list as edited: " + refused.body());
      assertEquals("content_policy_violation", new JsonObject(refused.body()).getJsonObject("error").getString("code"));
      assertEquals(200, say("we sail to zanzibar").statusCode(), "the word taken off the list passes again");
      // a weight set makes a new configuration with the same policies: they are kept, and still apply
      assertEquals(200, Http.put(node.managementUrl() + "/admin/models/chat/weights",
        "{\"weights\": {\"blue\": 50, \"green\": 50}}", AUTH).statusCode());
      assertEquals(400, say("we sail to the quokka island").statusCode(), "the policy after a weight change");
    } finally {
      Files.writeString(file, yaml(100, 0, ""));
      assertEquals(200, reload().statusCode());
      assertEquals(200, say("we sail to the quokka island").statusCode(), "a policy the file no longer has is gone");
      Files.deleteIfExists(words);
    }
  }

  private static HttpResponse<String> say(String text) {
    return Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject().put("model", "chat")
      .put("messages", List.of(Map.of("role", "user", "content", text))).encode());
  }

  @Test
  void weightsThatMakeNoSenseAreRefused() {
    assertEquals(400, Http.put(node.managementUrl() + "/admin/models/chat/weights",
      "{\"weights\": {\"nobody\": 10}}", AUTH).statusCode());
    assertEquals(400, Http.put(node.managementUrl() + "/admin/models/chat/weights",
      "{\"weights\": {\"blue\": 0, \"green\": 0}}", AUTH).statusCode());
    assertEquals(404, Http.put(node.managementUrl() + "/admin/models/unknown/weights",
      "{\"weights\": {\"blue\": 1}}", AUTH).statusCode());
    assertEquals(401, Http.put(node.managementUrl() + "/admin/models/chat/weights",
      "{\"weights\": {\"blue\": 1}}").statusCode());
  }

  private static JsonObject awaitRamp(String model, String state) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 20_000;
    JsonObject weights = null;
    while (System.currentTimeMillis() < deadline) {
      weights = new JsonObject(Http.get(node.managementUrl() + "/admin/models/" + model + "/weights", AUTH).body());
      if (state.equals(weights.getJsonObject("ramp").getString("state"))) {
        return weights;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("ramp not " + state + " within 20 s: " + weights);
  }
}

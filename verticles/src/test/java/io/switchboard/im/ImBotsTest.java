package io.switchboard.im;

import io.switchboard.im.FakePlatforms.Sent;
import io.switchboard.im.PlatformCallbacks.Mention;
import io.switchboard.im.PlatformCallbacks.Prepared;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static io.switchboard.im.FakePlatforms.Sent.dingtalkTo;
import static io.switchboard.im.FakePlatforms.Sent.feishuReplyTo;
import static io.switchboard.im.FakePlatforms.Sent.wecomTo;
import static io.switchboard.im.FakePlatforms.FEISHU_BOT_OPEN_ID;
import static io.switchboard.im.FakePlatforms.FEISHU_VERIFICATION;
import static io.switchboard.im.PlatformCallbacks.dingtalkMessage;
import static io.switchboard.im.PlatformCallbacks.dingtalkText;
import static io.switchboard.im.PlatformCallbacks.feishuChallenge;
import static io.switchboard.im.PlatformCallbacks.feishuEncrypted;
import static io.switchboard.im.PlatformCallbacks.feishuMessage;
import static io.switchboard.im.PlatformCallbacks.nowSeconds;
import static io.switchboard.im.PlatformCallbacks.wecomText;
import static io.switchboard.im.PlatformCallbacks.wecomUrlCheck;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Switchboard node with a WeCom, a DingTalk and a Feishu bot whose platform APIs are fakes on loopback: callbacks
 * signed and encrypted as the platforms do it go in, answers come out through the platforms' send APIs.
 */
class ImBotsTest {
  static final String ACME_KEY = "test-key-acme-0123456789";
  static final String WECOM = "/im/wecom/acme-wecom";
  static final String BROKEN = "/im/wecom/acme-broken";
  static final String DING = "/im/dingtalk/acme-ding";
  static final String FEISHU = "/im/feishu/acme-feishu";

  private static Vertx vertx;
  private static FakePlatforms fake;
  private static TestNode node;

  static String config(String fakeUrl, String sessionYaml) {
    return """
      server: {request_timeout_ms: 10000}
      auth:
        enabled: true
        keys: [{key: test-key-acme-0123456789, tenant: acme}]
      simulator: {ttft_ms: 0, tokens_per_second: 0, reply_tokens: 12}
      model_list:
        - model_name: switchboard-simulator
          provider: simulator
        - model_name: sim-broken
          provider: simulator
          simulator: {error_rate: 1}
          circuit_breaker: {max_failures: 1000}
        - model_name: recorder
          provider: openai
          api_base: FAKE/v1
          api_key: fake-upstream-key-0123456789
      routes:
        - model_name: sim-broken
          num_retries: 0
      SESSION
      im_channels:
        - name: acme-wecom
          platform: wecom
          tenant: acme
          model: recorder
          api_base: FAKE
          credentials: WECOM_APP
        - name: acme-broken
          platform: wecom
          tenant: acme
          model: sim-broken
          api_base: FAKE
          credentials: WECOM_APP
        - name: acme-ding
          platform: dingtalk
          tenant: acme
          model: switchboard-simulator
          api_base: FAKE
          credentials: DINGTALK_APP
        - name: acme-feishu
          platform: feishu
          tenant: acme
          model: recorder
          api_base: FAKE
          credentials: FEISHU_APP
      """.transform(FakePlatforms::withApps)
        .replace("FAKE", fakeUrl).replace("SESSION", sessionYaml);
  }

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    fake = FakePlatforms.start(vertx);
    node = TestNode.start(config(fake.url(), "session: {store: memory}"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    if (fake != null) {
      fake.close();
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  private static String unique(String prefix) {
    return prefix + "-" + System.nanoTime();
  }

  /** Sends the callback and checks it was acknowledged as the platform expects, in well under its deadline. */
  private static HttpResponse<String> acknowledged(Prepared callback) {
    long start = System.nanoTime();
    HttpResponse<String> response = callback.send(node.baseUrl());
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(200, response.statusCode(), response.body());
    assertTrue(millis < 1_000, "acknowledged in " + millis + " ms");
    return response;
  }

  /** The id of the acme conversation that holds {@code text}, once its turn is stored. */
  private static String awaitStored(String text) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 5_000;
    while (System.currentTimeMillis() < deadline) {
      JsonArray list = new JsonObject(Http.get(node.baseUrl() + "/v1/conversations", "authorization",
        "Bearer " + ACME_KEY).body()).getJsonArray("data");
      for (Object item : list) {
        String id = ((JsonObject) item).getString("id");
        String body = Http.get(node.baseUrl() + "/v1/conversations/" + id, "authorization", "Bearer " + ACME_KEY).body();
        if (body.contains(text)) {
          return id;
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no stored conversation holds " + text);
  }

  private static String lastUserPrompt() {
    JsonArray messages = fake.modelCalls.get(fake.modelCalls.size() - 1).getJsonArray("messages");
    return messages.getJsonObject(messages.size() - 1).getString("content");
  }

  // --- WeCom

  @Test
  void wecom_checks_the_url_with_the_decrypted_echostr_and_refuses_a_forged_check() {
    HttpResponse<String> ok = wecomUrlCheck(WECOM, "8745102984231054", nowSeconds()).send(node.baseUrl());
    assertEquals(200, ok.statusCode());
    assertEquals("8745102984231054", ok.body());

    Prepared forged = wecomUrlCheck(WECOM, "8745102984231054", nowSeconds());
    char first = forged.pathAndQuery().charAt(forged.pathAndQuery().indexOf("msg_signature=") + 14);
    forged = forged.withPath(forged.pathAndQuery().replaceFirst("msg_signature=.", "msg_signature=" + (first == '0' ? '1' : '0')));
    assertEquals(401, forged.send(node.baseUrl()).statusCode());
    assertEquals(401, wecomUrlCheck(WECOM, "1", nowSeconds() - 9 * 3600).send(node.baseUrl()).statusCode(),
      "a check signed 9 hours ago is stale");
  }

  @Test
  void a_wecom_message_is_acknowledged_at_once_and_answered_once_though_wecom_sends_it_three_times()
    throws Exception {
    String user = unique("zhangsan");
    Prepared callback = wecomText(WECOM, user, "7001" + System.nanoTime() % 100000, "你好，今天天气怎么样？", nowSeconds());
    HttpResponse<String> ack = acknowledged(callback);
    assertEquals("", ack.body(), "WeCom gets an empty answer: no passive reply, no retry");
    acknowledged(callback);
    acknowledged(callback);

    List<Sent> answers = fake.awaitSent(wecomTo(user), 1);
    assertEquals(1, answers.size(), "answered exactly once: " + answers);
    Sent answer = answers.get(0);
    assertEquals("echo: 你好，今天天气怎么样？", answer.text());
    assertEquals(1000002, answer.body().getInteger("agentid"));
    assertEquals("text", answer.body().getString("msgtype"));
  }

  @Test
  void forged_stale_or_unreadable_wecom_callbacks_get_4xx_and_never_reach_a_model() throws Exception {
    String user = unique("mallory");
    int modelCalls = fake.modelCalls.size();
    Prepared genuine = wecomText(WECOM, user, "66" + System.nanoTime() % 100000, "hi", nowSeconds());

    Prepared forged = genuine.withPath(genuine.pathAndQuery().replaceFirst("msg_signature=[0-9a-f]{8}",
      "msg_signature=00000000"));
    assertEquals(401, forged.send(node.baseUrl()).statusCode());
    assertEquals(401, wecomText(WECOM, user, "67" + System.nanoTime() % 100000, "hi", nowSeconds() - 9 * 3600)
      .send(node.baseUrl()).statusCode(), "stale timestamp");
    int at = genuine.body().indexOf("<Encrypt><![CDATA[") + "<Encrypt><![CDATA[".length();
    char first = genuine.body().charAt(at);
    String tampered = genuine.body().substring(0, at) + (first == 'A' ? 'B' : 'A') + genuine.body().substring(at + 1);
    assertEquals(401, genuine.withBody(tampered).send(node.baseUrl()).statusCode(),
      "a changed ciphertext no longer matches its signature");
    assertEquals(400, genuine.withBody("not xml at all").send(node.baseUrl()).statusCode());

    Thread.sleep(300);
    assertTrue(fake.sentWhere(wecomTo(user)).isEmpty());
    assertEquals(modelCalls, fake.modelCalls.size(), "nothing reached a model");
  }

  @Test
  void a_sender_is_remembered_across_turns() throws Exception {
    String user = unique("lisi");
    String fact = unique("my name is Ada");
    acknowledged(wecomText(WECOM, user, String.valueOf(System.nanoTime()), fact, nowSeconds()));
    fake.awaitSent(wecomTo(user), 1);
    awaitStored(fact);

    acknowledged(wecomText(WECOM, user, String.valueOf(System.nanoTime()), "what is my name?", nowSeconds()));
    assertEquals(2, fake.awaitSent(wecomTo(user), 2).size());
    JsonArray prompt = fake.modelCalls.get(fake.modelCalls.size() - 1).getJsonArray("messages");
    assertEquals(List.of("user", "assistant", "user"),
      prompt.stream().map(m -> ((JsonObject) m).getString("role")).toList());
    assertEquals(fact, prompt.getJsonObject(0).getString("content"), "the second turn carried the first");
    assertEquals("echo: " + fact, prompt.getJsonObject(1).getString("content"));
  }

  @Test
  void a_long_answer_arrives_in_parts_wecom_takes() throws Exception {
    String user = unique("wangwu");
    acknowledged(wecomText(WECOM, user, String.valueOf(System.nanoTime()), "tell me a lot " + FakePlatforms.LONG,
      nowSeconds()));
    List<Sent> parts = fake.awaitSent(wecomTo(user), 4);
    assertEquals(4, parts.size(), "7,650 bytes in parts of at most 2,048");
    StringBuilder whole = new StringBuilder();
    for (Sent part : parts) {
      assertTrue(part.text().getBytes(StandardCharsets.UTF_8).length <= WeComBot.TEXT_LIMIT_BYTES);
      whole.append(part.text());
    }
    assertEquals(FakePlatforms.LONG_ANSWER, whole.toString(), "in order, nothing lost");
  }

  @Test
  void a_failing_model_gets_the_sender_a_polite_apology_not_silence() throws Exception {
    String user = unique("zhaoliu");
    acknowledged(wecomText(BROKEN, user, String.valueOf(System.nanoTime()), "are you there?", nowSeconds()));
    List<Sent> answers = fake.awaitSent(wecomTo(user), 1);
    assertEquals(1, answers.size());
    assertEquals(ImAnswers.APOLOGY, answers.get(0).text());
  }

  @Test
  void an_access_token_is_cached_and_fetched_again_when_the_platform_refuses_it() throws Exception {
    String user = unique("token-user");
    acknowledged(wecomText(WECOM, user, String.valueOf(System.nanoTime()), "warm up", nowSeconds()));
    fake.awaitSent(wecomTo(user), 1);
    int before = fake.wecomTokenFetches.get();
    fake.revokeTokens();
    for (int i = 0; i < 5; i++) {
      acknowledged(wecomText(WECOM, user, String.valueOf(System.nanoTime()), "question " + i, nowSeconds()));
    }
    assertEquals(6, fake.awaitSent(wecomTo(user), 6).size(), "every question answered despite the revoked token");
    int fetched = fake.wecomTokenFetches.get() - before;
    assertTrue(fetched >= 1 && fetched <= 2, "one new token per connection verticle instance, not per message: "
      + fetched);
  }

  @Test
  void two_hundred_concurrent_callbacks_are_acknowledged_at_once_and_their_resends_answered_once() throws Exception {
    int questions = 200;
    String run = unique("burst") + "-";
    List<Prepared> warmUp = ImClusterTest.wave(run + "warm-", questions);
    List<Prepared> measured = ImClusterTest.wave(run + "measured-", questions);
    List<String> target = java.util.Collections.nCopies(questions, node.baseUrl());
    AckLatency.Stats cold = AckLatency.fire(vertx, warmUp, target);
    AckLatency.Stats first = AckLatency.fire(vertx, measured, target);
    // re-sent while the answers are being made; may reach the node's other connection verticle instance
    AckLatency.Stats resent = AckLatency.fire(vertx, measured, target);
    List<Sent> answers = fake.awaitSent(s -> s.platform().equals("wecom")
      && s.body().getString("touser").startsWith(run), 2 * questions);
    long distinct = answers.stream().map(s -> s.body().getString("touser")).distinct().count();
    System.out.printf("IM webhooks, one node (embedded store): cold JVM %s | warm %s | re-sent %s | questions %d,"
        + " answered %d, duplicate answers %d | handler time %s%n", cold, first, resent, 2 * questions, distinct,
      answers.size() - distinct, ImClusterTest.serverAckQuantile(node));
    assertEquals(questions, first.acknowledged());
    assertEquals(questions, resent.acknowledged());
    assertEquals(2 * questions, distinct);
    assertEquals(2 * questions, answers.size(), "no duplicates");
    assertTrue(first.p99Millis() < 3_000, "acknowledged inside the tightest deadline (Feishu, 3 s): " + first);
  }

  // --- DingTalk

  @Test
  void dingtalk_one_to_one_and_group_messages_are_answered_once_through_the_robot_api() throws Exception {
    String staff = unique("staff");
    Prepared single = dingtalkText(DING, dingtalkMessage(unique("msg"), staff, "你好", false, false),
      System.currentTimeMillis());
    acknowledged(single);
    acknowledged(single);
    List<Sent> answers = fake.awaitSent(dingtalkTo(staff), 1);
    assertEquals(1, answers.size());
    assertEquals("/v1.0/robot/oToMessages/batchSend", answers.get(0).path());
    assertEquals("sampleText", answers.get(0).body().getString("msgKey"));
    assertFalse(answers.get(0).text().isBlank());

    String groupMsg = unique("group-msg");
    String ignoredMsg = unique("group-unmentioned");
    acknowledged(dingtalkText(DING, dingtalkMessage(ignoredMsg, unique("staff"), "chatting among ourselves", true, false),
      System.currentTimeMillis()));
    acknowledged(dingtalkText(DING, dingtalkMessage(groupMsg, unique("staff"), "@robot help", true, true),
      System.currentTimeMillis()));
    List<Sent> group = fake.awaitSent(s -> s.path().equals("/v1.0/robot/groupMessages/send"), 1);
    assertEquals(1, group.size(), "only the message that mentioned the bot is answered");
    assertEquals("cidGroupAcme0001==", group.get(0).body().getString("openConversationId"));
  }

  @Test
  void dingtalk_external_contacts_are_answered_through_the_session_webhook_of_dingtalk_only() throws Exception {
    String msg = unique("external");
    JsonObject message = dingtalkMessage(msg, null, "hello", false, false)
      .put("sessionWebhook", fake.url() + "/robot/sendBySession?session=" + msg);
    acknowledged(dingtalkText(DING, message, System.currentTimeMillis()));
    assertEquals(1, fake.awaitSent(s -> s.path().equals("/robot/sendBySession"), 1).stream().count());

    String evil = unique("evil");
    JsonObject elsewhere = dingtalkMessage(evil, null, "hello", false, false)
      .put("sessionWebhook", "http://127.0.0.2:" + fake.port + "/robot/sendBySession?session=" + evil);
    acknowledged(dingtalkText(DING, elsewhere, System.currentTimeMillis()));
    Thread.sleep(500);
    assertEquals(1, fake.sentWhere(s -> s.path().equals("/robot/sendBySession")).size(),
      "a sessionWebhook on another host is not called");
  }

  @Test
  void forged_or_stale_dingtalk_callbacks_get_401() throws Exception {
    String staff = unique("staff");
    JsonObject message = dingtalkMessage(unique("msg"), staff, "hi", false, false);
    Prepared genuine = dingtalkText(DING, message, System.currentTimeMillis());
    assertEquals(401, genuine.withHeader("sign", DingTalkSignature.sign(genuine.headers().get("timestamp"),
      "not-the-app-secret")).send(node.baseUrl()).statusCode());
    assertEquals(401, genuine.withHeader("timestamp", String.valueOf(System.currentTimeMillis() + 1_234))
      .send(node.baseUrl()).statusCode(), "the sign covers the timestamp");
    assertEquals(401, dingtalkText(DING, message, System.currentTimeMillis() - 2 * 3_600_000L)
      .send(node.baseUrl()).statusCode(), "signed two hours ago");
    assertEquals(400, dingtalkText(DING, message, System.currentTimeMillis()).withBody("{not json")
      .send(node.baseUrl()).statusCode());
    Thread.sleep(300);
    assertTrue(fake.sentWhere(dingtalkTo(staff)).isEmpty());
  }

  // --- Feishu

  @Test
  void feishu_url_verification_echoes_the_challenge_when_the_token_is_right() {
    HttpResponse<String> ok = feishuEncrypted(FEISHU, feishuChallenge("ch-4c3f", FEISHU_VERIFICATION), nowSeconds())
      .send(node.baseUrl());
    assertEquals(200, ok.statusCode());
    assertEquals("ch-4c3f", new JsonObject(ok.body()).getString("challenge"));

    Prepared unsigned = feishuEncrypted(FEISHU, feishuChallenge("ch-2", FEISHU_VERIFICATION), nowSeconds());
    unsigned = new Prepared("POST", FEISHU, unsigned.body(), Map.of("content-type", "application/json"));
    assertEquals("ch-2", new JsonObject(unsigned.send(node.baseUrl()).body()).getString("challenge"),
      "Feishu does not sign the URL check");

    assertEquals(401, feishuEncrypted(FEISHU, feishuChallenge("ch-3", "someone-elses-token"), nowSeconds())
      .send(node.baseUrl()).statusCode());
  }

  @Test
  void a_feishu_message_is_answered_once_as_a_reply_though_the_event_is_resent() throws Exception {
    String messageId = unique("om_p2p");
    Prepared event = feishuEncrypted(FEISHU, feishuMessage(unique("ev"), unique("ou_user"), messageId, false,
      "what is Vert.x?", List.of()), nowSeconds());
    HttpResponse<String> ack = acknowledged(event);
    assertEquals("{}", ack.body());
    acknowledged(event);
    List<Sent> replies = fake.awaitSent(feishuReplyTo(messageId), 1);
    assertEquals(1, replies.size());
    assertEquals("echo: what is Vert.x?", replies.get(0).text());
    assertEquals("text", replies.get(0).body().getString("msg_type"));
    assertTrue(replies.get(0).body().getString("uuid").endsWith("-0"));
  }

  @Test
  void forged_unsigned_stale_or_foreign_feishu_events_get_4xx() throws Exception {
    String messageId = unique("om_forged");
    JsonObject event = feishuMessage(unique("ev"), unique("ou_user"), messageId, false, "hi", List.of());
    Prepared genuine = feishuEncrypted(FEISHU, event, nowSeconds());
    assertEquals(401, genuine.withHeader("X-Lark-Signature", "0".repeat(64)).send(node.baseUrl()).statusCode());
    assertEquals(401, genuine.withHeader("X-Lark-Request-Nonce", "another-nonce").send(node.baseUrl()).statusCode());
    assertEquals(401, new Prepared("POST", FEISHU, genuine.body(), Map.of()).send(node.baseUrl()).statusCode(),
      "an event without a signature");
    assertEquals(401, feishuEncrypted(FEISHU, event, nowSeconds() - 9 * 3600).send(node.baseUrl()).statusCode());
    JsonObject foreign = event.copy();
    foreign.getJsonObject("header").put("token", "someone-elses-token");
    assertEquals(401, feishuEncrypted(FEISHU, foreign, nowSeconds()).send(node.baseUrl()).statusCode());
    assertEquals(400, new Prepared("POST", FEISHU, event.encode(), Map.of()).send(node.baseUrl()).statusCode(),
      "a plaintext event where an Encrypt Key is configured");
    assertEquals(400, genuine.withBody("{\"encrypt\":\"AAAA\"}").withHeader("X-Lark-Signature",
      PlatformCallbacks.FEISHU.signature(genuine.headers().get("X-Lark-Request-Timestamp"),
        genuine.headers().get("X-Lark-Request-Nonce"), "{\"encrypt\":\"AAAA\"}".getBytes(StandardCharsets.UTF_8)))
      .send(node.baseUrl()).statusCode(), "signed but undecryptable");
    Thread.sleep(300);
    assertTrue(fake.sentWhere(feishuReplyTo(messageId)).isEmpty());
  }

  @Test
  void in_a_feishu_group_the_bot_answers_only_when_mentioned_and_without_its_mention() throws Exception {
    String unmentioned = unique("om_group_none");
    String otherMentioned = unique("om_group_other");
    String asked = unique("om_group_bot");
    Mention bob = new Mention("@_user_2", "ou_bob", "Bob");
    Mention bot = new Mention("@_user_1", FEISHU_BOT_OPEN_ID, "Acme Bot");
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), "ou_carol", unmentioned, true,
      "lunch?", List.of()), nowSeconds()));
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), "ou_carol", otherMentioned, true,
      "@_user_2 lunch?", List.of(bob)), nowSeconds()));
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), "ou_carol", asked, true,
      "@_user_1 ask @_user_2 about the weather", List.of(bot, bob)), nowSeconds()));

    List<Sent> replies = fake.awaitSent(feishuReplyTo(asked), 1);
    assertEquals(1, replies.size());
    assertEquals("echo: ask @Bob about the weather", replies.get(0).text(), "the bot's mention is taken out");
    assertTrue(fake.sentWhere(feishuReplyTo(unmentioned)).isEmpty());
    assertTrue(fake.sentWhere(feishuReplyTo(otherMentioned)).isEmpty());
  }

  @Test
  void once_linked_a_wecom_user_and_a_feishu_user_share_one_memory() throws Exception {
    String wecomUser = unique("linked");
    String feishuUser = unique("ou_linked");
    HttpResponse<String> link = Http.post(node.baseUrl() + "/v1/identities/link", new JsonObject()
      .put("channel", "feishu").put("user_id", feishuUser)
      .put("to", new JsonObject().put("channel", "wecom").put("user_id", wecomUser)).encode(),
      "authorization", "Bearer " + ACME_KEY);
    assertEquals(200, link.statusCode(), link.body());

    String fact = unique("the code word is kumquat");
    acknowledged(wecomText(WECOM, wecomUser, String.valueOf(System.nanoTime()), fact, nowSeconds()));
    fake.awaitSent(wecomTo(wecomUser), 1);
    awaitStored(fact);

    String messageId = unique("om_linked");
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), feishuUser, messageId, false,
      "what was the code word?", List.of()), nowSeconds()));
    assertEquals(1, fake.awaitSent(feishuReplyTo(messageId), 1).size());
    assertEquals("what was the code word?", lastUserPrompt());
    String prompt = fake.modelCalls.get(fake.modelCalls.size() - 1).encode();
    assertTrue(prompt.contains(fact), "the Feishu turn carried the WeCom turn: " + prompt);
  }
}

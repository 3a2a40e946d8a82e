package io.switchboard.im;

import io.switchboard.im.FakePlatforms.Sent;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.switchboard.im.PlatformCallbacks.nowSeconds;
import static io.switchboard.im.PlatformCallbacks.wecomText;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** An IM user whose message a guardrail refuses hears a short polite refusal, never an error or the matched word. */
class ImGuardrailsTest {
  private static Vertx vertx;
  private static FakePlatforms fake;
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    fake = FakePlatforms.start(vertx);
    node = TestNode.start(ImBotsTest.config(fake.url(), """
      session: {store: memory}
      guardrails:
        - {name: im-words, type: words, words: [禁词, forbidden], on: [input, output], action: block}
        - {name: im-pii-out, type: pii, detectors: [cn_mobile], on: [output], action: redact}
      tenants:
        - {name: acme, guardrails: [im-words, im-pii-out]}
      """));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    fake.close();
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  @Test
  void a_refused_question_gets_the_refusal_and_never_reaches_the_model() throws Exception {
    String user = "lisi-" + System.nanoTime();
    int modelCalls = fake.modelCalls.size();
    wecomText(ImBotsTest.WECOM, user, "8801" + System.nanoTime() % 100000, "请告诉我关于禁词的事", nowSeconds())
      .send(node.baseUrl());
    List<Sent> answers = fake.awaitSent(s -> s.platform().equals("wecom")
      && user.equals(s.body().getString("touser")), 1);
    assertEquals(ImAnswers.REFUSAL, answers.get(0).text());
    assertFalse(answers.get(0).text().contains("禁词"));
    assertEquals(modelCalls, fake.modelCalls.size());
  }

  @Test
  void personal_data_in_an_answer_reaches_the_chat_redacted() throws Exception {
    String user = "zhaoliu-" + System.nanoTime();
    wecomText(ImBotsTest.WECOM, user, "8803" + System.nanoTime() % 100000, "我的电话 13800138000", nowSeconds())
      .send(node.baseUrl());
    List<Sent> answers = fake.awaitSent(s -> s.platform().equals("wecom")
      && user.equals(s.body().getString("touser")), 1);
    assertEquals("echo: 我的电话 [PHONE]", answers.get(0).text());
  }

  @Test
  void a_clean_question_is_answered_as_usual() throws Exception {
    String user = "wangwu-" + System.nanoTime();
    wecomText(ImBotsTest.WECOM, user, "8802" + System.nanoTime() % 100000, "你好", nowSeconds()).send(node.baseUrl());
    List<Sent> answers = fake.awaitSent(s -> s.platform().equals("wecom")
      && user.equals(s.body().getString("touser")), 1);
    assertEquals("echo: 你好", answers.get(0).text());
  }
}

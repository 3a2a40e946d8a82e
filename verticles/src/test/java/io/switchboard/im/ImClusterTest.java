package io.switchboard.im;

import io.switchboard.im.FakePlatforms.Sent;
import io.switchboard.im.PlatformCallbacks.Prepared;
import io.switchboard.testing.Http;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static io.switchboard.im.PlatformCallbacks.nowSeconds;
import static io.switchboard.im.PlatformCallbacks.wecomText;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two nodes sharing a real Redis behind the same webhook URL, as behind a load balancer: a platform's re-sent
 * callback that lands on the other node is recognised there, so every question gets exactly one answer.
 */
class ImClusterTest {
  private static final String WECOM = "/im/wecom/acme-wecom";
  private static final String FEISHU = "/im/feishu/acme-feishu";

  private static Vertx vertx;
  private static FakePlatforms fake;
  private static RedisServer redis;
  private static TestNode nodeA;
  private static TestNode nodeB;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    fake = FakePlatforms.start(vertx);
    redis = RedisServer.launchEmbedded();
    String config = ImBotsTest.config(fake.url(), "session: {store: redis, redis_url: \"" + redis.url() + "\"}")
      .replace("model: recorder", "model: switchboard-simulator");
    nodeA = TestNode.start(config);
    nodeB = TestNode.start(config);
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable closeable : new AutoCloseable[] {nodeA, nodeB, fake}) {
      if (closeable != null) {
        closeable.close();
      }
    }
    if (redis != null) {
      redis.close();
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  private static String touser(Sent sent) {
    return sent.platform().equals("wecom") ? sent.body().getString("touser") : sent.path();
  }

  @Test
  void a_callback_resent_to_the_other_node_is_answered_once() throws Exception {
    String user = "retry-" + System.nanoTime();
    Prepared callback = wecomText(WECOM, user, String.valueOf(System.nanoTime()), "hello from node A", nowSeconds());
    assertEquals(200, callback.send(nodeA.baseUrl()).statusCode());
    assertEquals(1, fake.awaitSent(s -> user.equals(touser(s)), 1).size());
    assertEquals(200, callback.send(nodeB.baseUrl()).statusCode(), "the re-send is acknowledged");
    assertEquals(200, callback.send(nodeB.baseUrl()).statusCode());
    assertEquals(1, fake.awaitSent(s -> user.equals(touser(s)), 2).size(), "and not answered again");

    String messageId = "om_both_" + System.nanoTime();
    Prepared event = PlatformCallbacks.feishuEncrypted(FEISHU, PlatformCallbacks.feishuMessage("ev-" + System.nanoTime(),
      "ou_both", messageId, false, "arriving at both nodes at once", List.of()), nowSeconds());
    CompletableFuture<?> a = event.sendAsync(nodeA.baseUrl());
    CompletableFuture<?> b = event.sendAsync(nodeB.baseUrl());
    CompletableFuture.allOf(a, b).get();
    assertEquals(1, fake.awaitSent(s -> s.path().contains(messageId), 2).size());
  }

  @Test
  void two_hundred_concurrent_callbacks_then_their_resends_to_the_other_node_get_one_answer_each() throws Exception {
    int questions = 200;
    String run = "load-" + System.nanoTime() + "-";
    List<Prepared> warmUp = wave(run + "warm-", questions);
    List<Prepared> measured = wave(run + "measured-", questions);
    AckLatency.Stats cold = AckLatency.fire(vertx, warmUp, Collections.nCopies(questions, nodeA.baseUrl()));
    AckLatency.Stats first = AckLatency.fire(vertx, measured, Collections.nCopies(questions, nodeA.baseUrl()));
    // WeCom re-sending every one of them, and the load balancer picking the other node each time
    List<Prepared> resends = new ArrayList<>(warmUp);
    resends.addAll(measured);
    AckLatency.Stats resent = AckLatency.fire(vertx, resends, Collections.nCopies(2 * questions, nodeB.baseUrl()));

    List<Sent> answers = fake.awaitSent(s -> touser(s).startsWith(run), 2 * questions);
    Map<String, Integer> perUser = new HashMap<>();
    answers.forEach(s -> perUser.merge(touser(s), 1, Integer::sum));
    long duplicates = answers.size() - perUser.size();
    System.out.printf("IM webhooks, two nodes sharing Redis, node A: cold JVM %s | warm %s | re-sent to node B: %s |"
        + " questions %d, answered %d, duplicate answers %d | node A handler time %s%n", cold, first, resent,
      2 * questions, perUser.size(), duplicates, serverAckQuantile(nodeA));

    assertEquals(questions, first.acknowledged());
    assertEquals(2 * questions, resent.acknowledged());
    assertEquals(2 * questions, perUser.size(), "every question answered");
    assertEquals(0, duplicates, "no question answered twice");
    assertTrue(first.p99Millis() < 3_000, "acknowledged inside the tightest deadline (Feishu, 3 s): " + first);
    Set<String> tokensUsed = new HashSet<>();
    answers.forEach(s -> tokensUsed.add(s.token()));
    assertTrue(tokensUsed.size() <= 4, "tokens are cached per channel (2 nodes x 2 instances): " + tokensUsed.size());
  }

  static List<Prepared> wave(String users, int count) {
    List<Prepared> callbacks = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      callbacks.add(wecomText(WECOM, users + i, users + "msg-" + i, "question number " + i, nowSeconds()));
    }
    return callbacks;
  }

  /** The node's own measure of callback handling, arrival to acknowledgement, p99 (from /metrics). */
  static String serverAckQuantile(TestNode node) {
    return Http.get(node.managementUrl() + "/metrics").body().lines()
      .filter(l -> l.startsWith("switchboard_im_ack_seconds{") && l.contains("platform=\"wecom\"")
        && l.contains("quantile=\"0.99\""))
      .map(l -> String.format("p99 %.2f ms", Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)) * 1000))
      .findFirst().orElse("(not exported)");
  }
}

package io.switchboard.im;

import io.switchboard.im.FakePlatforms.Sent;
import io.switchboard.im.PlatformCallbacks.Prepared;
import io.switchboard.testing.Http;
import io.switchboard.testing.NodeProcess;
import io.switchboard.testing.RedisServer;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.switchboard.im.PlatformCallbacks.nowSeconds;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three nodes in separate JVMs sharing one Redis behind the same webhook URLs, a model slow to answer, 200 questions
 * from WeCom, DingTalk and Feishu at once. The node holding the most unanswered questions is killed with SIGKILL
 * after they were acknowledged: the other two take its questions over, and every question is answered once.
 */
class ImDurableWorkTest {
  private static final int QUESTIONS = 200;
  private static final long CLAIM_IDLE_MILLIS = 3_000;
  private static final String WECOM = "/im/wecom/acme-wecom";
  private static final String DINGTALK = "/im/dingtalk/acme-ding";
  private static final String FEISHU = "/im/feishu/acme-feishu";

  private static Vertx vertx;
  private static FakePlatforms fake;
  private static RedisServer redis;
  private static final List<NodeProcess> nodes = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    fake = FakePlatforms.start(vertx);
    redis = RedisServer.launchEmbedded();
    Path config = Path.of("target", "im-durable-" + System.nanoTime() + ".yaml");
    Files.writeString(config, config(fake.url(), redis.url()));
    for (String name : List.of("im-a", "im-b", "im-c")) {
      nodes.add(NodeProcess.start(name, Map.of(), "--conf", config.toString()));
    }
    nodes.forEach(node -> node.awaitHealthy(120_000));
  }

  @AfterAll
  static void stop() throws Exception {
    nodes.forEach(NodeProcess::close);
    if (fake != null) {
      fake.close();
    }
    if (redis != null) {
      redis.close();
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  /** A model that takes about 4.5 s to answer, so that a node dies with its questions unanswered. */
  static String config(String fakeUrl, String redisUrl) {
    return """
      server: {request_timeout_ms: 30000}
      simulator: {ttft_ms: 4000, tokens_per_second: 40, reply_tokens: 20}
      model_list:
        - model_name: switchboard-simulator
          provider: simulator
      session: {store: redis, redis_url: "REDIS"}
      im_work: {claim_idle_ms: CLAIM}
      im_channels:
        - name: acme-wecom
          platform: wecom
          tenant: acme
          model: switchboard-simulator
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
          model: switchboard-simulator
          api_base: FAKE
          credentials: FEISHU_APP
      """.transform(FakePlatforms::withApps)
        .replace("FAKE", fakeUrl).replace("REDIS", redisUrl).replace("CLAIM", String.valueOf(CLAIM_IDLE_MILLIS));
  }

  /** Who an answer went to: the question's key, whatever the platform. */
  private static String recipient(Sent sent, String run) {
    String key = switch (sent.platform()) {
      case "wecom" -> sent.body().getString("touser");
      case "dingtalk" -> sent.body().containsKey("userIds") ? sent.body().getJsonArray("userIds").getString(0) : "";
      default -> sent.path().replaceAll(".*/messages/([^/]+)/reply", "$1");
    };
    return key.contains(run) ? key : null;
  }

  private static Prepared question(String run, int i) {
    String key = run + i;
    return switch (i % 3) {
      case 0 -> PlatformCallbacks.wecomText(WECOM, key, key + "-msg", "question " + i, nowSeconds());
      case 1 -> PlatformCallbacks.dingtalkText(DINGTALK,
        PlatformCallbacks.dingtalkMessage(key + "-msg", key, "question " + i, false, false),
        System.currentTimeMillis());
      default -> PlatformCallbacks.feishuEncrypted(FEISHU, PlatformCallbacks.feishuMessage("ev-" + key, "ou_" + key,
        key, false, "question " + i, List.of()), nowSeconds());
    };
  }

  private static double metric(NodeProcess node, String prefix) {
    try {
      return Http.get("http://127.0.0.1:" + node.managementPort + "/metrics").body().lines()
        .filter(l -> l.startsWith(prefix))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    } catch (RuntimeException gone) {
      return 0;
    }
  }

  private Map<String, Long> answersPerQuestion(String run) {
    return fake.sent.stream().map(s -> recipient(s, run)).filter(r -> r != null)
      .collect(Collectors.groupingBy(r -> r, Collectors.counting()));
  }

  /**
   * Sends every callback as the platforms do: many at once (in waves of 20, 50 ms apart), each one refused or not
   * answered sent again a second later. @return how many sends were refused
   */
  private static int deliver(List<Prepared> callbacks, List<String> urls) throws Exception {
    List<Integer> todo = new ArrayList<>();
    for (int i = 0; i < callbacks.size(); i++) {
      todo.add(i);
    }
    int refused = 0;
    for (int round = 0; round < 10 && !todo.isEmpty(); round++) {
      if (round > 0) {
        Thread.sleep(1_000);
      }
      Map<Integer, CompletableFuture<Boolean>> sends = new LinkedHashMap<>();
      for (int n = 0; n < todo.size(); n++) {
        int i = todo.get(n);
        sends.put(i, callbacks.get(i).sendAsync(urls.get(i)).handle((r, e) -> e == null && r.statusCode() == 200));
        if (n % 20 == 19) {
          Thread.sleep(50);
        }
      }
      List<Integer> again = new ArrayList<>();
      for (Map.Entry<Integer, CompletableFuture<Boolean>> send : sends.entrySet()) {
        if (!send.getValue().get(60, TimeUnit.SECONDS)) {
          again.add(send.getKey());
        }
      }
      refused += again.size();
      todo = again;
    }
    assertTrue(todo.isEmpty(), todo.size() + " callbacks never acknowledged");
    return refused;
  }

  private static List<String> roundRobin(List<NodeProcess> over, int count) {
    List<String> urls = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      urls.add(over.get(i % over.size()).baseUrl()); // a load balancer taking turns
    }
    return urls;
  }

  @Test
  void every_question_is_answered_once_though_the_node_holding_most_of_them_is_killed() throws Exception {
    // warm: each node has answered each platform once (a node in service has)
    String warm = "wm" + Long.toString(System.nanoTime(), 36) + "u";
    List<Prepared> warmUp = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      warmUp.add(question(warm, i));
    }
    deliver(warmUp, roundRobin(List.of(nodes.get(0), nodes.get(0), nodes.get(0), nodes.get(1), nodes.get(1),
      nodes.get(1), nodes.get(2), nodes.get(2), nodes.get(2)), 9));
    long warmDeadline = System.currentTimeMillis() + 60_000;
    while (answersPerQuestion(warm).size() < 9 && System.currentTimeMillis() < warmDeadline) {
      Thread.sleep(100);
    }

    String run = "dw" + Long.toString(System.nanoTime(), 36) + "u";
    List<Prepared> callbacks = new ArrayList<>();
    for (int i = 0; i < QUESTIONS; i++) {
      callbacks.add(question(run, i));
    }
    long firing = System.nanoTime();
    int refused = deliver(callbacks, roundRobin(nodes, QUESTIONS));
    long firedMillis = (System.nanoTime() - firing) / 1_000_000;

    NodeProcess victim = null;
    double held = -1;
    for (NodeProcess node : nodes) {
      double running = metric(node, "switchboard_im_queue_running");
      if (running > held) {
        held = running;
        victim = node;
      }
    }
    int answeredBeforeKill = answersPerQuestion(run).size();
    victim.kill(); // SIGKILL, with its questions acknowledged and not answered
    long killed = System.nanoTime();
    assertTrue(held > 0, "the victim held questions when it died");
    List<NodeProcess> survivors = nodes.stream().filter(n -> n != null).collect(Collectors.toList());
    survivors.remove(victim);

    long firstClaimMillis = -1;
    long deadline = System.currentTimeMillis() + 60_000;
    while (answersPerQuestion(run).size() < QUESTIONS && System.currentTimeMillis() < deadline) {
      if (firstClaimMillis < 0 && survivors.stream()
        .mapToDouble(n -> metric(n, "switchboard_im_queue_claimed_total{from=\"idle_consumer\"")).sum() > 0) {
        firstClaimMillis = (System.nanoTime() - killed) / 1_000_000;
      }
      Thread.sleep(100);
    }
    long allAnsweredMillis = (System.nanoTime() - killed) / 1_000_000;
    Thread.sleep(2_000); // time for any second answer to show
    double claimed = survivors.stream()
      .mapToDouble(n -> metric(n, "switchboard_im_queue_claimed_total{from=\"idle_consumer\"")).sum();

    // the platforms re-send every callback to the survivors: all answered, so all are recognised and dropped
    int refusedResends = deliver(callbacks, roundRobin(survivors, QUESTIONS));
    Thread.sleep(1_000);

    Map<String, Long> perQuestion = answersPerQuestion(run);
    long lost = QUESTIONS - perQuestion.size();
    long duplicates = perQuestion.values().stream().mapToLong(n -> n - 1).sum();
    Map<Long, Long> histogram = new HashMap<>();
    perQuestion.values().forEach(n -> histogram.merge(n, 1L, Long::sum));
    System.out.printf("IM durable work, 3 JVMs sharing Redis: %d questions acknowledged in %d ms (%d sends refused"
        + " and sent again) | victim held %.0f running, %d answered"
        + " before the kill | survivors claimed %.0f, first claim %d ms after the kill (claim_idle_ms %d), all answered"
        + " %d ms after | lost %d, duplicates %d, Feishu repeats dropped by uuid %d | re-sent callbacks: %d refused%n",
      QUESTIONS, firedMillis, refused, held, answeredBeforeKill, claimed, firstClaimMillis, CLAIM_IDLE_MILLIS, allAnsweredMillis, lost,
      duplicates, fake.feishuRepeats.size(), refusedResends);

    assertEquals(0, lost, "every question answered: " + histogram);
    assertEquals(0, duplicates, "no question answered twice: " + histogram);
    assertEquals(QUESTIONS, fake.sent.stream().filter(s -> recipient(s, run) != null).count(),
      "exactly one send per question");
    assertTrue(claimed >= 1, "the survivors took over the dead node's questions");
  }
}

package io.switchboard.im;

import io.switchboard.im.FakePlatforms.Sent;
import io.switchboard.testing.RedisServer;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A node takes over the job of a node that died while sending a long answer: part 0 was delivered, part 1 was
 * being sent. The answer recorded is sent on from where it stopped, through the real bots: WeCom, which has no
 * idempotency key, gets parts 2 and on (part 1 at most once); Feishu gets part 1 again under the same {@code uuid}
 * (Feishu drops a repeat), then the rest. The model is not asked again.
 */
class ImJobResumeTest {
  private static final AtomicLong IDS = new AtomicLong(System.currentTimeMillis());
  private static Vertx vertx;
  private static FakePlatforms fake;
  private static RedisServer redisServer;
  private static Redis redis;
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    fake = FakePlatforms.start(vertx);
    redisServer = RedisServer.launchEmbedded();
    redis = Redis.createClient(vertx, redisServer.url());
    node = TestNode.start(ImBotsTest.config(fake.url(), "session: {store: redis, redis_url: \"" + redisServer.url()
      + "\"}\nim_work: {claim_idle_ms: 500}"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    if (fake != null) {
      fake.close();
    }
    if (redisServer != null) {
      redisServer.close();
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  private static Response send(Request request) throws Exception {
    return redis.send(request).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * What a node leaves behind when killed mid-answer: its job pending for it in the group, and the job's ledger
   * with the recorded answer, part 0 sent and part 1 being sent.
   */
  private static void leftByADeadNode(ImJob job, String answer) throws Exception {
    String id = IDS.incrementAndGet() + "-0";
    redis.send(Request.cmd(Command.XGROUP).arg("CREATE").arg(RedisImWork.STREAM).arg(RedisImWork.GROUP).arg("0")
      .arg("MKSTREAM")).otherwiseEmpty().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    send(Request.cmd(Command.HSET).arg("switchboard:im:job:" + id).arg("runs").arg(1)
      .arg("answer").arg(new JsonObject().put("text", answer).put("outcome", "answered").encode())
      .arg("part:0").arg("sent").arg("part:1").arg("sending"));
    // in one transaction, so the live node's blocked read cannot get the entry first
    List<Response> done = redis.batch(List.of(Request.cmd(Command.MULTI),
        Request.cmd(Command.XADD).arg(RedisImWork.STREAM).arg(id).arg("channel").arg(job.channel())
          .arg("message_id").arg(job.messageId()).arg("request_id").arg(job.requestId())
          .arg("message").arg(job.message().encode()),
        Request.cmd(Command.XREADGROUP).arg("GROUP").arg(RedisImWork.GROUP).arg("c-killed").arg("COUNT").arg(1)
          .arg("STREAMS").arg(RedisImWork.STREAM).arg(">"),
        Request.cmd(Command.EXEC)))
      .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(id, done.get(3).get(0).toString(), "planted for the killed consumer");
  }

  @Test
  void a_taken_over_wecom_answer_goes_on_after_the_part_that_may_have_been_sent() throws Exception {
    String user = "resume-" + System.nanoTime();
    int modelCalls = fake.modelCalls.size();
    leftByADeadNode(new ImJob("acme-wecom", "msg-" + user, "req_resume_" + user, new JsonObject().put("id", "msg-" + user)
      .put("sender", user).put("text", "tell me a lot").putNull("media_id")), FakePlatforms.LONG_ANSWER);

    List<String> parts = TextParts.split(FakePlatforms.LONG_ANSWER, WeComBot.TEXT_LIMIT_BYTES,
      TextParts.Measure.UTF8_BYTES);
    List<Sent> sent = fake.awaitSent(s -> s.platform().equals("wecom") && user.equals(s.body().getString("touser")),
      parts.size() - 2);
    assertEquals(parts.subList(2, parts.size()), sent.stream().map(Sent::text).toList(),
      "part 0 (delivered) and part 1 (perhaps delivered) are not sent again; the rest in order");
    assertEquals(modelCalls, fake.modelCalls.size(), "the recorded answer is sent; the model is not asked again");
  }

  @Test
  void a_taken_over_feishu_answer_sends_the_uncertain_part_again_under_the_same_uuid() throws Exception {
    String messageId = "om_resume_" + System.nanoTime();
    String requestId = "req_resume_" + messageId;
    String answer = FakePlatforms.LONG_ANSWER.repeat(4);
    leftByADeadNode(new ImJob("acme-feishu", "ev-" + messageId, requestId, new JsonObject().put("id", "ev-" + messageId)
      .put("sender", "ou_resume").put("message_id", messageId).put("group", false).put("text", "tell me a lot")
      .put("images", List.of()).put("mentions", List.of())), answer);

    List<String> parts = TextParts.split(answer, FeishuBot.TEXT_LIMIT_CHARS, TextParts.Measure.CODE_POINTS);
    List<Sent> sent = fake.awaitSent(s -> s.path().contains(messageId), parts.size() - 1);
    assertEquals(parts.subList(1, parts.size()), sent.stream().map(Sent::text).toList());
    assertEquals(FeishuBot.idempotencyKey(requestId, 1), sent.get(0).body().getString("uuid"),
      "the part the dead node may have sent goes again under its own uuid, which Feishu sends at most once");
  }
}

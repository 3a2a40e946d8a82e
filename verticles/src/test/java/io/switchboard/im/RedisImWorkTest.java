package io.switchboard.im;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.im.ImWorkQueue.Answer;
import io.switchboard.im.ImWorkQueue.Part;
import io.switchboard.testing.RedisServer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Redis Stream work queue against a real Redis, consumers as separate queue instances (as separate nodes are):
 * a dead consumer's job is taken over once idle and resumes without re-sending what was delivered; a live
 * consumer's long job is not taken from it; a job that keeps failing ends in the dead-letter stream.
 */
class RedisImWorkTest {
  private static final long CLAIM_IDLE_MILLIS = 600;
  private static RedisServer redisServer;
  private static Vertx vertx;
  private static Redis redis;
  private final List<RedisImWork> queues = new ArrayList<>();

  @BeforeAll
  static void start() {
    redisServer = RedisServer.launchEmbedded();
    vertx = Vertx.vertx();
    redis = Redis.createClient(vertx, redisServer.url());
  }

  @AfterAll
  static void stop() throws Exception {
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    if (redisServer != null) {
      redisServer.close();
    }
  }

  @BeforeEach
  void empty() throws Exception {
    redis("FLUSHALL");
  }

  @AfterEach
  void closeQueues() {
    queues.forEach(RedisImWork::abandon);
  }

  /** A queue of its own, as a node has, started on a context of its own with {@code worker}. */
  private Node node(int maxAttempts, ImWorkQueue.Worker worker) throws Exception {
    MeterRegistry registry = new SimpleMeterRegistry();
    SwitchboardConfig.ImWork settings = new SwitchboardConfig.ImWork("redis", redisServer.url(), CLAIM_IDLE_MILLIS,
      maxAttempts, 8);
    Context context = vertx.getOrCreateContext();
    RedisImWork queue = on(context, () -> {
      RedisImWork created = new RedisImWork(vertx, settings, registry);
      created.start(worker);
      return Future.succeededFuture(created);
    });
    queues.add(queue);
    return new Node(context, queue, registry);
  }

  record Node(Context context, RedisImWork queue, MeterRegistry registry) {
    boolean offer(ImJob job) throws Exception {
      return on(context, () -> queue.offer(job));
    }

    /** As kill -9 leaves it: no more reads, touches or acknowledgements; its jobs stay pending. */
    void die() throws Exception {
      on(context, queue::abandon);
    }

    double claimed() {
      return registry.find("switchboard.im.queue.claimed").tag("from", "idle_consumer").counters().stream()
        .mapToDouble(c -> c.count()).sum();
    }
  }

  private static <T> T on(Context context, Supplier<Future<T>> action) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(v -> action.get().onComplete(done -> {
      if (done.succeeded()) {
        result.complete(done.result());
      } else {
        result.completeExceptionally(done.cause());
      }
    }));
    return result.get(20, TimeUnit.SECONDS);
  }

  private static Response redis(String command, Object... args) throws Exception {
    Request request = Request.cmd(Command.create(command));
    for (Object arg : args) {
      request.arg(String.valueOf(arg));
    }
    return redis.send(request).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static long pending() throws Exception {
    Response summary = redis("XPENDING", RedisImWork.STREAM, RedisImWork.GROUP);
    return summary == null || summary.get(0) == null ? 0 : summary.get(0).toLong();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 20_000;
    while (!condition.getAsBoolean()) {
      assertTrue(System.currentTimeMillis() < deadline, "timed out waiting for: " + what);
      Thread.sleep(25);
    }
  }

  private static ImJob job(String messageId) {
    return new ImJob("acme-wecom", messageId, "req_" + messageId, new JsonObject().put("id", messageId));
  }

  @Test
  void a_dead_consumers_job_is_taken_over_when_idle_and_resumes_after_the_delivered_part() throws Exception {
    CompletableFuture<Void> firstRunAtPart1 = new CompletableFuture<>();
    Node first = node(3, (job, ledger) -> ledger.answer(() -> Future.succeededFuture(new Answer("two parts", "answered")))
      .compose(answer -> ledger.begin(0)).compose(part -> ledger.sent(0))
      .compose(v -> ledger.begin(1))
      .compose(part -> {
        firstRunAtPart1.complete(null);
        return Promise.<Void>promise().future(); // sending part 1 when the node dies
      }));
    assertTrue(first.offer(job("m-1")));
    assertFalse(first.offer(job("m-1")), "a re-sent message is not taken twice");
    firstRunAtPart1.get(10, TimeUnit.SECONDS);
    first.die();
    long died = System.nanoTime();
    assertEquals(1, pending(), "the job stays pending for its dead consumer");

    AtomicInteger computed = new AtomicInteger();
    List<Object> resumed = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> secondRunDone = new CompletableFuture<>();
    Node second = node(3, (job, ledger) -> ledger.answer(() -> {
        computed.incrementAndGet();
        return Future.succeededFuture(new Answer("another answer", "answered"));
      })
      .compose(answer -> {
        resumed.add(answer.text());
        return ledger.begin(0);
      })
      .compose(part0 -> {
        resumed.add(part0);
        return ledger.begin(1);
      })
      .compose(part1 -> {
        resumed.add(part1);
        return ledger.begin(2);
      })
      .compose(part2 -> {
        resumed.add(part2);
        return ledger.sent(2);
      })
      .onComplete(done -> secondRunDone.complete(null)));
    secondRunDone.get(20, TimeUnit.SECONDS);
    long tookMillis = (System.nanoTime() - died) / 1_000_000;
    System.out.printf("RedisImWork: a dead consumer's job was taken over %d ms after it died (claim_idle_ms %d)%n",
      tookMillis, CLAIM_IDLE_MILLIS);

    assertTrue(tookMillis >= CLAIM_IDLE_MILLIS, "not before it was idle for claim_idle_ms: " + tookMillis);
    assertEquals(0, computed.get(), "the answer of the first run is the one sent, not a new one");
    assertEquals(List.of("two parts", Part.SENT, Part.UNCERTAIN, Part.SEND), resumed,
      "delivered part 0 is not sent again; part 1, cut off mid-send, is reported as uncertain");
    assertEquals(1.0, second.claimed());
    await("the finished job is acknowledged and removed", () -> {
      try {
        return pending() == 0 && redis("XLEN", RedisImWork.STREAM).toLong() == 0;
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Test
  void a_live_consumers_long_job_is_not_taken_from_it() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    ImWorkQueue.Worker slow = (job, ledger) -> {
      runs.incrementAndGet();
      return vertx.timer(4 * CLAIM_IDLE_MILLIS).mapEmpty(); // a slow model
    };
    Node a = node(3, slow);
    Node b = node(3, slow);
    assertTrue(a.offer(job("m-long")));
    await("the job ran and finished", () -> {
      try {
        return runs.get() >= 1 && pending() == 0;
      } catch (Exception e) {
        return false;
      }
    });
    Thread.sleep(2 * CLAIM_IDLE_MILLIS);
    assertEquals(1, runs.get(), "one run: its consumer kept the job its own while it worked on it");
    assertEquals(0.0, a.claimed() + b.claimed());
  }

  @Test
  void a_stopping_consumer_finishes_its_running_jobs_before_it_stops() throws Exception {
    Promise<Void> modelAnswers = Promise.promise();
    AtomicInteger runs = new AtomicInteger();
    Node stopping = node(3, (job, ledger) -> {
      runs.incrementAndGet();
      return modelAnswers.future();
    });
    assertTrue(stopping.offer(job("m-drain")));
    await("the job runs", () -> runs.get() == 1);
    CompletableFuture<Void> stopped = new CompletableFuture<>();
    stopping.context().runOnContext(v -> stopping.queue().close().onComplete(done -> stopped.complete(null)));
    Thread.sleep(200);
    assertTrue(stopping.offer(job("m-during")), "callbacks are still taken while it drains");
    Thread.sleep(2 * CLAIM_IDLE_MILLIS);
    assertFalse(stopped.isDone(), "it waits for its running jobs");
    assertEquals(0.0, stopping.claimed(), "and takes over nothing meanwhile");
    stopping.context().runOnContext(v -> modelAnswers.complete());
    stopped.get(10, TimeUnit.SECONDS);
    long left = pending();
    long waiting = redis("XLEN", RedisImWork.STREAM).toLong();
    assertEquals(0, left, "nothing it took is left pending: " + runs.get() + " runs");
    assertEquals(2 - runs.get(), waiting, "a job it did not read waits in the stream for another node");
  }

  @Test
  void a_job_that_keeps_failing_goes_to_the_dead_letter_stream() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    Node node = node(2, (job, ledger) -> {
      runs.incrementAndGet();
      return Future.failedFuture("the platform stays busy");
    });
    assertTrue(node.offer(job("m-poison")));
    await("the job is dead-lettered", () -> {
      try {
        return redis("XLEN", RedisImWork.DEAD).toLong() == 1;
      } catch (Exception e) {
        return false;
      }
    });
    await("and no longer pending", () -> {
      try {
        return pending() == 0;
      } catch (Exception e) {
        return false;
      }
    });
    Thread.sleep(3 * CLAIM_IDLE_MILLIS);
    assertEquals(2, runs.get(), "run max_attempts times, then not again");
    assertEquals(1.0, node.registry().counter("switchboard.im.queue.dead_letters").count());
    Response dead = redis("XRANGE", RedisImWork.DEAD, "-", "+").get(0).get(1);
    List<String> fields = new ArrayList<>();
    dead.forEach(f -> fields.add(f.toString()));
    assertTrue(fields.contains("m-poison") && fields.contains("reason"), "the dead letter says what and why: " + fields);
    assertEquals(0, redis("XLEN", RedisImWork.STREAM).toLong());
  }

  @Test
  void a_message_redis_cannot_take_is_refused_and_taken_when_sent_again() throws Exception {
    List<ImJob> ran = new CopyOnWriteArrayList<>();
    Node node = node(3, (job, ledger) -> {
      ran.add(job);
      return Future.succeededFuture();
    });
    redisServer.stop();
    try {
      assertThrows(ExecutionException.class, () -> node.offer(job("m-down")), "not taken, so not acknowledged");
      assertEquals(1.0, node.registry().counter("switchboard.im.queue.unavailable").count());
    } finally {
      redisServer.start();
    }
    long deadline = System.currentTimeMillis() + 20_000;
    boolean taken = false;
    while (!taken) { // the platform sending its callback again until it is acknowledged
      try {
        taken = node.offer(job("m-down"));
      } catch (ExecutionException notYet) {
        assertTrue(System.currentTimeMillis() < deadline, "Redis back, the message is taken");
        Thread.sleep(200);
      }
    }
    await("answered once Redis is back", () -> ran.size() == 1);
    assertFalse(node.offer(job("m-down")), "and a later re-send is recognised");
  }
}

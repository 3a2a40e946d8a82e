package io.switchboard.im;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.session.RedisConversationStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * IM work in a Redis Stream, {@value #STREAM}, read by the consumer group {@value #GROUP}: every connection verticle
 * instance of every node is one consumer. A message is added to the stream in the same script that claims its id in
 * the seen-messages keys ({@link RedisSeenMessages#key}), before its callback is acknowledged, so a message is either
 * taken and kept or not taken at all. A job stays pending for its consumer until it ran ({@code XACK}, then
 * {@code XDEL}); its consumer touches it every third of {@code claim_idle_ms}, so a job untouched that long belongs to
 * a node that died (or a run that failed) and another consumer takes it ({@code XAUTOCLAIM}). Each job's {@link
 * Ledger} is a hash beside it: runs, the answer (so a second run sends the same text), and each part's state
 * ({@code sending}, then {@code sent}, set with {@code HSETNX} so two runs never both send a part). A job run more
 * than {@code max_attempts} times goes to the dead-letter stream {@value #DEAD}. When Redis cannot take a message
 * within {@link #OFFER_TIMEOUT_MILLIS}, the offer fails and the callback is not acknowledged: the platform sends it
 * again, and the script makes that safe whether or not the first one reached Redis. Calls time out rather than
 * trip a breaker: a node starved of CPU must not take its own slowness for Redis's and give its jobs up.
 */
final class RedisImWork implements ImWorkQueue {
  private static final Logger LOG = LoggerFactory.getLogger(RedisImWork.class);
  static final String STREAM = "switchboard:im:jobs";
  static final String GROUP = "switchboard-im";
  static final String DEAD = "switchboard:im:dead";
  private static final String LEDGER = "switchboard:im:job:";
  /** A ledger outlives any re-run of its job. */
  private static final long LEDGER_TTL_MILLIS = 24 * 3_600_000L;
  /** Inside the shortest deadline for an acknowledgement (Feishu's 3 s). */
  static final long OFFER_TIMEOUT_MILLIS = 2_000;
  /** For the calls of a job's run: a job whose call timed out runs again later. */
  private static final long WORK_TIMEOUT_MILLIS = 10_000;
  private static final long BLOCK_MILLIS = 2_000;
  private static final long READ_PAUSE_MILLIS = 25;
  private static final long RETRY_MILLIS = 1_000;
  private static final long DEAD_MAX = 10_000;
  private static final long WARN_EVERY_MILLIS = 10_000;
  /** How long a stopping instance lets its running jobs finish before it leaves them to other nodes. */
  private static final long DRAIN_MILLIS = 10_000;
  /** A consumer idle this long with nothing pending belongs to a stopped instance. */
  private static final long GONE_AFTER_MILLIS = 3_600_000;
  /** Claims the message id unless taken, and only then adds its job: one step, so no crash can fall between. */
  private static final String OFFER = """
    if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
      return redis.call('XADD', KEYS[2], '*', 'channel', ARGV[2], 'message_id', ARGV[3], 'request_id', ARGV[4],
        'message', ARGV[5])
    end
    return false""";

  private final Vertx vertx;
  private final Redis redis;
  /**
   * Offers have a client of their own, so an acknowledgement never waits behind the calls of running jobs, and one
   * connection of it carries them all, pipelined: a burst of callbacks costs one round trip, not one per pooled
   * connection's turn (on a busy machine, each round trip can take a scheduling slice).
   */
  private final Redis offers;
  private Future<RedisConnection> offering;
  private final SwitchboardConfig.ImWork settings;
  private final String consumer = "c-" + UUID.randomUUID().toString().substring(0, 13);
  /** Jobs this consumer is running, by stream entry id. */
  private final Set<String> running = new HashSet<>();
  /** Jobs whose run here failed, left pending to be run again: taking one back is a retry, not a rescue. */
  private final Set<String> failedHere = new HashSet<>();
  private final AtomicLong length = new AtomicLong();
  private final AtomicLong pending = new AtomicLong();
  private final MeterRegistry registry;
  private final Counter unavailable;
  private final Counter deadLetters;
  private Worker worker;
  private RedisConnection reader;
  private boolean reading;
  private boolean pausing;
  private boolean closed;
  private long timer = -1;
  private long lastWarning;

  RedisImWork(Vertx vertx, SwitchboardConfig.ImWork settings, MeterRegistry registry) {
    this.vertx = vertx;
    this.settings = settings;
    this.redis = Redis.createClient(vertx, RedisConversationStore.options(settings.redisUrl()));
    this.offers = Redis.createClient(vertx, RedisConversationStore.options(settings.redisUrl()));
    this.registry = registry;
    this.unavailable = Counter.builder("switchboard.im.queue.unavailable")
      .description("IM callbacks not acknowledged because Redis could not take their message").register(registry);
    this.deadLetters = Counter.builder("switchboard.im.queue.dead_letters")
      .description("IM jobs given up after max_attempts runs, moved to " + DEAD).register(registry);
    Gauge.builder("switchboard.im.queue.length", length, AtomicLong::get)
      .description("Entries in the IM work stream (waiting or being answered), cluster-wide").register(registry);
    Gauge.builder("switchboard.im.queue.pending", pending, AtomicLong::get)
      .description("IM jobs taken by a consumer and not finished, cluster-wide").register(registry);
    Gauge.builder("switchboard.im.queue.running", running, Set::size).tag("consumer", consumer)
      .description("IM jobs this consumer is running").register(registry);
  }

  @Override
  public Future<Boolean> offer(ImJob job) {
    Request script = Request.cmd(Command.EVAL).arg(OFFER).arg(2)
      .arg(RedisSeenMessages.key(job.channel(), job.messageId())).arg(STREAM)
      .arg(SeenMessages.TTL_MILLIS).arg(job.channel()).arg(job.messageId()).arg(job.requestId())
      .arg(job.message().encode());
    return offerConnection().compose(connection -> connection.send(script))
      .timeout(OFFER_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
      .map(added -> added != null) // nil (false in Lua): seen before
      .onFailure(failure -> {
        unavailable.increment();
        warn("Redis cannot take IM messages; their callbacks are refused for the platforms to send again", failure);
      });
  }

  @Override
  public void start(Worker worker) {
    this.worker = worker;
    long every = Math.max(100, settings.claimIdleMillis() / 3);
    timer = vertx.setPeriodic(every, t -> tick());
    LOG.debug("im: consumer {} of {} in group {}", consumer, STREAM, GROUP);
    createGroup().onComplete(v -> {
      read();
      forgetGoneConsumers();
    });
  }

  @Override
  public Future<Void> close() {
    closed = true; // no more reads or claims; running jobs (and what a read under way brings) are touched and finish
    Promise<Void> drained = Promise.promise();
    awaitDrained(drained, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_MILLIS));
    return drained.future().compose(v -> abandon());
  }

  private void awaitDrained(Promise<Void> drained, long deadlineNanos) {
    if (!reading && running.isEmpty() || System.nanoTime() - deadlineNanos > 0) {
      drained.complete();
    } else {
      vertx.setTimer(50, t -> awaitDrained(drained, deadlineNanos));
    }
  }

  /** Stops at once, as a node that dies does: jobs still running are left pending, for another node to take over. */
  Future<Void> abandon() {
    closed = true;
    vertx.cancelTimer(timer);
    dropReader();
    return Future.join(offers.close(), redis.close()).mapEmpty();
  }

  private Future<Void> createGroup() {
    return redis.send(Request.cmd(Command.XGROUP).arg("CREATE").arg(STREAM).arg(GROUP).arg("0").arg("MKSTREAM"))
      .<Void>mapEmpty()
      .recover(failure -> {
        if (String.valueOf(failure.getMessage()).startsWith("BUSYGROUP")) {
          return Future.succeededFuture(); // another consumer made it
        }
        warn("the IM work group cannot be made yet", failure);
        return Future.succeededFuture();
      });
  }

  /**
   * Every start of an instance adds a consumer to the group; those of stopped instances that hold no job and were
   * idle for {@link #GONE_AFTER_MILLIS} are taken out, so that rolling deploys do not pile them up.
   */
  private void forgetGoneConsumers() {
    work(redis.send(Request.cmd(Command.XINFO).arg("CONSUMERS").arg(STREAM).arg(GROUP))).onSuccess(consumers -> {
      for (Response info : consumers) {
        Map<String, String> fields = info.getKeys().isEmpty() ? fields(info) : Map.of("name",
          info.get("name").toString(), "pending", info.get("pending").toString(), "idle", info.get("idle").toString());
        if ("0".equals(fields.get("pending")) && Long.parseLong(fields.get("idle")) > GONE_AFTER_MILLIS) {
          work(redis.send(Request.cmd(Command.XGROUP).arg("DELCONSUMER").arg(STREAM).arg(GROUP)
            .arg(fields.get("name"))));
        }
      }
    });
  }

  /** Reads new jobs while there is room, on a connection of its own (the read blocks up to {@link #BLOCK_MILLIS}). */
  private void read() {
    int room = settings.maxInFlight() - running.size();
    if (closed || reading || room <= 0 || pausing) {
      return; // a finishing job, or the end of the pause, calls again
    }
    reading = true;
    connection()
      .compose(connection -> connection.send(Request.cmd(Command.XREADGROUP).arg("GROUP").arg(GROUP).arg(consumer)
        .arg("COUNT").arg(room).arg("BLOCK").arg(BLOCK_MILLIS).arg("STREAMS").arg(STREAM).arg(">")))
      .onComplete(read -> {
        reading = false;
        if (read.failed()) {
          if (closed) {
            return;
          }
          dropReader();
          if (String.valueOf(read.cause().getMessage()).startsWith("NOGROUP")) {
            createGroup(); // Redis lost it (restarted without persistence)
          }
          warn("IM jobs cannot be read", read.cause());
          vertx.setTimer(RETRY_MILLIS, t -> read());
          return;
        }
        Response entries = streamEntries(read.result());
        int taken = entries == null ? 0 : entries.size();
        for (int i = 0; i < taken; i++) {
          run(entries.get(i), false);
        }
        if (taken > 0 && taken < room) {
          // fewer than there is room for: let a burst's entries gather, to read them in one call rather than one each
          pausing = true;
          vertx.setTimer(READ_PAUSE_MILLIS, t -> {
            pausing = false;
            read();
          });
        } else {
          read();
        }
      });
  }

  private Future<RedisConnection> offerConnection() {
    if (offering == null) {
      offering = offers.connect().onComplete(connected -> {
        if (connected.failed()) {
          offering = null; // the next offer connects again
        } else {
          connected.result().exceptionHandler(e -> offering = null);
          connected.result().endHandler(v -> offering = null);
        }
      });
    }
    return offering;
  }

  private Future<RedisConnection> connection() {
    if (reader != null) {
      return Future.succeededFuture(reader);
    }
    return redis.connect().onSuccess(connection -> {
      reader = connection;
      connection.exceptionHandler(e -> dropReader());
    });
  }

  private void dropReader() {
    if (reader != null) {
      reader.close();
      reader = null;
    }
  }

  /**
   * Keeps this consumer's jobs its own (resets their idle time), takes over jobs left idle by others, and reads the
   * queue's size for the gauges.
   */
  private void tick() {
    if (!running.isEmpty()) {
      Request touch = Request.cmd(Command.XCLAIM).arg(STREAM).arg(GROUP).arg(consumer).arg(0);
      running.forEach(touch::arg);
      work(redis.send(touch.arg("JUSTID")));
    }
    if (closed) {
      return;
    }
    int room = settings.maxInFlight() - running.size();
    if (room > 0) {
      work(redis.send(Request.cmd(Command.XAUTOCLAIM).arg(STREAM).arg(GROUP).arg(consumer)
          .arg(settings.claimIdleMillis()).arg("0-0").arg("COUNT").arg(room)))
        .onSuccess(claimed -> {
          Response entries = claimed.size() > 1 ? claimed.get(1) : null;
          if (entries != null) {
            for (Response entry : entries) {
              if (entry != null && entry.size() > 1 && !running.contains(entry.get(0).toString())) {
                run(entry, true);
              }
            }
          }
        })
        .onFailure(failure -> warn("idle IM jobs cannot be claimed", failure));
    }
    work(redis.batch(List.of(Request.cmd(Command.XLEN).arg(STREAM),
        Request.cmd(Command.XPENDING).arg(STREAM).arg(GROUP))))
      .onSuccess(sizes -> {
        length.set(sizes.get(0).toLong());
        Response summary = sizes.get(1);
        pending.set(summary != null && summary.size() > 0 && summary.get(0) != null ? summary.get(0).toLong() : 0);
      });
  }

  /** {@code XREADGROUP}'s entries of the one stream read: an array of [stream, entries] (RESP2) or a map (RESP3). */
  private static Response streamEntries(Response reply) {
    if (reply == null || reply.size() == 0) {
      return null;
    }
    if (!reply.getKeys().isEmpty()) {
      return reply.get(STREAM);
    }
    return reply.get(0).get(1);
  }

  private void run(Response entry, boolean claimed) {
    String id = entry.get(0).toString();
    Map<String, String> fields = fields(entry.get(1));
    running.add(id);
    String from = !claimed ? null : failedHere.remove(id) ? "failed_run" : "idle_consumer";
    if (from != null) {
      registry.counter("switchboard.im.queue.claimed", "from", from).increment();
    }
    String ledgerKey = LEDGER + id;
    work(redis.batch(List.of(Request.cmd(Command.HINCRBY).arg(ledgerKey).arg("runs").arg(1),
        Request.cmd(Command.PEXPIRE).arg(ledgerKey).arg(LEDGER_TTL_MILLIS))))
      .compose(counted -> {
        long runs = counted.get(0).toLong();
        ImJob job = job(fields);
        if (job == null) {
          return deadLetter(id, fields, runs, "the entry is not a job");
        }
        if (runs > settings.maxAttempts()) {
          return deadLetter(id, fields, runs, "ran " + (runs - 1) + " times without finishing");
        }
        if ("idle_consumer".equals(from)) {
          LOG.info("im channel {}: request {}: taking over job {} (run {}), left idle by its consumer (a node that "
            + "stopped)", job.channel(), job.requestId(), id, runs);
        }
        return worker.run(job, new RedisLedger(ledgerKey)).compose(v -> finish(id));
      })
      .onComplete(done -> {
        running.remove(id);
        if (done.failed() && !closed) {
          failedHere.add(id);
          LOG.warn("im: job {} did not finish, it runs again after {} ms ({})", id, settings.claimIdleMillis(),
            done.cause().getMessage());
        }
        read();
      });
  }

  private Future<Void> finish(String id) {
    return work(redis.batch(List.of(Request.cmd(Command.XACK).arg(STREAM).arg(GROUP).arg(id),
      Request.cmd(Command.XDEL).arg(STREAM).arg(id)))).mapEmpty();
  }

  private Future<Void> deadLetter(String id, Map<String, String> fields, long runs, String why) {
    Request add = Request.cmd(Command.XADD).arg(DEAD).arg("MAXLEN").arg("~").arg(DEAD_MAX).arg("*");
    fields.forEach((field, value) -> add.arg(field).arg(value));
    add.arg("job").arg(id).arg("runs").arg(runs - 1).arg("reason").arg(why);
    return work(redis.send(add)).compose(v -> {
      deadLetters.increment();
      LOG.error("im channel {}: job {} (message {}) moved to {}: {}", fields.get("channel"), id,
        fields.get("message_id"), DEAD, why);
      return finish(id);
    });
  }

  private static Map<String, String> fields(Response list) {
    Map<String, String> fields = new HashMap<>();
    if (list != null) {
      for (int i = 0; i + 1 < list.size(); i += 2) {
        fields.put(list.get(i).toString(), list.get(i + 1) == null ? null : list.get(i + 1).toString());
      }
    }
    return fields;
  }

  /** The job of a stream entry; null for an entry that is not one (written by something else, or damaged). */
  private static ImJob job(Map<String, String> fields) {
    try {
      return new ImJob(fields.get("channel"), fields.get("message_id"), fields.get("request_id"),
        new JsonObject(fields.get("message")));
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static <T> Future<T> work(Future<T> call) {
    return call.timeout(WORK_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
  }

  private void warn(String what, Throwable failure) {
    long now = System.currentTimeMillis();
    if (now - lastWarning > WARN_EVERY_MILLIS) {
      lastWarning = now;
      LOG.warn("im: {} ({})", what, failure.getMessage());
    }
  }

  /** A job's ledger: the hash {@code switchboard:im:job:<entry id>}. */
  private final class RedisLedger implements Ledger {
    private final String key;

    RedisLedger(String key) {
      this.key = key;
    }

    @Override
    public Future<Answer> answer(Supplier<Future<Answer>> compute) {
      return work(redis.send(Request.cmd(Command.HGET).arg(key).arg("answer"))).compose(kept -> {
        if (kept != null) {
          registry.counter("switchboard.im.queue.answers_reused").increment();
          return Future.succeededFuture(answer(kept));
        }
        return compute.get().compose(fresh -> {
          if (fresh == null) {
            return Future.succeededFuture(null);
          }
          String json = new JsonObject().put("text", fresh.text()).put("outcome", fresh.outcome()).encode();
          return work(redis.batch(List.of(Request.cmd(Command.HSETNX).arg(key).arg("answer").arg(json),
            Request.cmd(Command.HGET).arg(key).arg("answer")))).map(stored -> answer(stored.get(1)));
        });
      });
    }

    private static Answer answer(Response stored) {
      JsonObject json = new JsonObject(stored.toString());
      return new Answer(json.getString("text"), json.getString("outcome"));
    }

    @Override
    public Future<Part> begin(int part) {
      String field = "part:" + part;
      return work(redis.batch(List.of(Request.cmd(Command.HSETNX).arg(key).arg(field).arg("sending"),
        Request.cmd(Command.HGET).arg(key).arg(field)))).map(state -> {
          if (state.get(0).toInteger() == 1) {
            return Part.SEND;
          }
          Part known = "sent".equals(String.valueOf(state.get(1))) ? Part.SENT : Part.UNCERTAIN;
          registry.counter("switchboard.im.queue.duplicates_avoided", "part", known.name().toLowerCase()).increment();
          return known;
        });
    }

    @Override
    public Future<Void> sent(int part) {
      return work(redis.send(Request.cmd(Command.HSET).arg(key).arg("part:" + part).arg("sent")))
        .mapEmpty();
    }

    @Override
    public Future<Void> unsent(int part) {
      return work(redis.send(Request.cmd(Command.HDEL).arg(key).arg("part:" + part))).mapEmpty();
    }
  }
}

package io.switchboard.im;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.switchboard.bus.ApiError;
import io.switchboard.config.ConfigException;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.ImChannel;
import io.switchboard.chat.ChatPipeline;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * IM platform bots (WeCom, DingTalk, Feishu): one webhook per configured channel, {@code /im/<platform>/<name>}.
 * A callback is verified (signature, timestamp, decryption), its message handed to the work queue ({@link
 * ImWorkQueue}: Redis, kept for whichever node is alive to answer it, or this node's memory), and then acknowledged,
 * well inside the platforms' deadlines (WeCom 5 s, Feishu 3 s); the answer follows through the platform's send API. A
 * callback that fails verification gets a 4xx and never reaches a model.
 */
public final class ImWebhooks {
  private static final Logger LOG = LoggerFactory.getLogger(ImWebhooks.class);
  /** Callbacks are small: text messages, encrypted and Base64'd. */
  private static final long BODY_LIMIT_BYTES = 512 * 1024;

  private final ImWorkQueue queue;
  private final List<Bot<?>> bots;

  private ImWebhooks(ImWorkQueue queue, List<Bot<?>> bots) {
    this.queue = queue;
    this.bots = bots;
  }

  /** Mounts the webhooks of every configured channel on the API router, and starts answering queued messages. */
  public static Future<ImWebhooks> mount(Vertx vertx, Router router, ChatPipeline pipeline, SwitchboardConfig config,
                                   MeterRegistry registry) {
    List<Bot<?>> bots = new ArrayList<>();
    try {
      for (ImChannel channel : config.imChannels()) {
        bots.add(Bot.create(vertx, channel));
      }
    } catch (ConfigException e) {
      bots.forEach(Bot::close);
      return Future.failedFuture(e);
    }
    ImWorkQueue queue = config.imWork().durable() ? new RedisImWork(vertx, config.imWork(), registry)
      : new LocalImWork(vertx, config.session().store().equals("redis")
        ? new RedisSeenMessages(vertx, config.session().redisUrl(), SeenMessages.TTL_MILLIS, registry)
        : new LocalSeenMessages(vertx, SeenMessages.TTL_MILLIS));
    queue.start(new ImAnswers(vertx, pipeline, bots, config.server().requestTimeoutMillis(), registry));
    for (Bot<?> bot : bots) {
      mount(router, bot, queue, registry);
    }
    return Future.succeededFuture(new ImWebhooks(queue, bots));
  }

  /** Says once per node how IM work is kept: the operator of a single node should know its answers are not. */
  public static void announce(SwitchboardConfig config) {
    if (config.imChannels().isEmpty()) {
      return;
    }
    if (config.imWork().durable()) {
      LOG.info("im: accepted messages are kept in Redis until answered; a node's unfinished answers are taken over "
        + "by another node after {} ms", config.imWork().claimIdleMillis());
    } else {
      LOG.info("im: accepted messages are answered from this node's memory (im_work.queue: memory): a message whose "
        + "node stops before answering is not answered. im_work.queue: redis (the default with session.store: redis) "
        + "keeps them until answered");
    }
  }

  /** Stops taking queued jobs (unfinished ones are left to other nodes) and closes the bots' clients. */
  public Future<Void> close() {
    List<Future<Void>> closing = new ArrayList<>();
    closing.add(queue.close());
    bots.forEach(bot -> closing.add(bot.close()));
    return Future.join(closing).mapEmpty();
  }

  private static <M extends IncomingMessage> void mount(Router router, Bot<M> bot, ImWorkQueue queue,
                                                        MeterRegistry registry) {
    Timer ack = Timer.builder("switchboard.im.ack").description("From a callback's arrival to its acknowledgement")
      .tag("platform", bot.channel().platform()).publishPercentiles(0.5, 0.99).register(registry);
    router.post(bot.path())
      .handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT_BYTES))
      .handler(ctx -> handle(ctx, bot, queue, registry, ack,
        now -> bot.receive(ctx.request(), body(ctx), now)));
    if (bot.verifiesWithGet()) {
      router.get(bot.path()).handler(ctx -> handle(ctx, bot, queue, registry, ack,
        now -> bot.verifyUrl(ctx.request(), now)));
    }
  }

  private static <M extends IncomingMessage> void handle(RoutingContext ctx, Bot<M> bot, ImWorkQueue queue,
                                                         MeterRegistry registry, Timer ack,
                                                         Function<Long, Callback<M>> read) {
    Long arrived = ctx.get("startNanos"); // set where the request entered the router, before its body was read
    long start = arrived != null ? arrived : System.nanoTime();
    String channel = bot.channel().name();
    Callback<M> callback;
    try {
      callback = read.apply(System.currentTimeMillis());
    } catch (CallbackRejected rejected) {
      reject(ctx, registry, channel, rejected);
      return;
    } catch (RuntimeException unexpected) {
      // a verified body of an unexpected shape (a number where a string belongs, ...)
      reject(ctx, registry, channel, CallbackRejected.malformed("the body has an unexpected shape ("
        + unexpected.getClass().getSimpleName() + ")"));
      return;
    }
    M message = callback.message();
    if (message == null) {
      acknowledge(ctx, callback, ack, start);
      registry.counter("switchboard.im.callbacks", "channel", channel, "outcome", "acknowledged").increment();
      return;
    }
    registry.counter("switchboard.im.callbacks", "channel", channel, "outcome", "message").increment();
    queue.offer(new ImJob(channel, message.id(), requestId(ctx), bot.encode(message))).onComplete(taken -> {
      if (taken.failed()) {
        // not acknowledged, so not lost: the platform sends the callback again
        registry.counter("switchboard.im.callbacks", "channel", channel, "outcome", "not_kept").increment();
        ctx.response().setStatusCode(503).putHeader("content-type", "application/json")
          .end(ApiError.unavailable("The message could not be kept; send it again.").toJson().toBuffer());
        return;
      }
      acknowledge(ctx, callback, ack, start); // only now: the message is kept, or was taken before
      if (!taken.result()) {
        registry.counter("switchboard.im.messages", "channel", channel, "outcome", "duplicate").increment();
        LOG.debug("im channel {}: message {} was re-sent, already answered", channel, message.id());
      }
    });
  }

  private static void acknowledge(RoutingContext ctx, Callback<?> callback, Timer ack, long start) {
    ctx.response().setStatusCode(callback.status()).putHeader("content-type", callback.contentType())
      .end(callback.body());
    ack.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
  }

  private static void reject(RoutingContext ctx, MeterRegistry registry, String channel, CallbackRejected rejected) {
    registry.counter("switchboard.im.callbacks", "channel", channel, "outcome", "rejected").increment();
    LOG.warn("im channel {}: callback from {} rejected with {}: {}", channel, ctx.request().remoteAddress(),
      rejected.status(), rejected.getMessage());
    ApiError error = rejected.status() == 401 ? new ApiError(401, "invalid_request_error",
      "callback_not_verified", "The callback is not verified.", null)
      : ApiError.badRequest("The callback is not readable.", null);
    ctx.response().setStatusCode(rejected.status()).putHeader("content-type", "application/json")
      .end(error.toJson().toBuffer());
  }

  private static Buffer body(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    return body != null ? body : Buffer.buffer();
  }

  private static String requestId(RoutingContext ctx) {
    String id = ctx.get("x-request-id");
    return id != null ? id : "req_im" + Long.toHexString(ThreadLocalRandom.current().nextLong());
  }
}

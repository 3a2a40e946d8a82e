package io.switchboard.im;

import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.Identities;
import io.switchboard.bus.IdentityQuery;
import io.switchboard.config.SwitchboardConfig.ImChannel;
import io.switchboard.chat.ChatCompletionRequest;
import io.switchboard.chat.ChatPipeline;
import io.switchboard.eventbus.PreferLocal;
import io.switchboard.guardrails.Guardrails;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;

/**
 * Answers a chat message a bot received, after its callback was acknowledged: once per message id (re-sent
 * callbacks are recognised), with the sender's memory, through routing like any other chat turn, and back through
 * the platform's send API in parts the platform takes. A model that fails gives the sender a short apology.
 * Images in a message are fetched through the platform's media API and go to the model with the message's text as
 * one user message of content parts; an image that is too large, not an image, or not fetched gets the sender a
 * short note instead, and the model is not asked.
 */
final class ImAnswers {
  private static final Logger LOG = LoggerFactory.getLogger(ImAnswers.class);
  private static final long IDENTITY_TIMEOUT_MILLIS = 2_000;
  /** Waits before the 2nd, 3rd and 4th try of a send the platform could not take just then. */
  private static final long[] SEND_RETRY_MILLIS = {300, 1_500, 5_000};
  /** What a sender hears when a guardrail refused the question or the answer (never which word, never why). */
  static final String REFUSAL = "抱歉，这个问题我无法回答。\nSorry, I can't help with that request.";
  static final String APOLOGY = "抱歉，暂时无法回答，请稍后再试。\nSorry, I can't answer right now. Please try again in a moment.";

  private final Vertx vertx;
  private final ChatPipeline pipeline;
  private final SeenMessages seen;
  private final long timeoutMillis;
  private final MeterRegistry registry;

  ImAnswers(Vertx vertx, ChatPipeline pipeline, SeenMessages seen, long timeoutMillis, MeterRegistry registry) {
    this.vertx = vertx;
    this.pipeline = pipeline;
    this.seen = seen;
    this.timeoutMillis = timeoutMillis;
    this.registry = registry;
  }

  <M extends IncomingMessage> void answer(Bot<M> bot, M message, String requestId) {
    ImChannel channel = bot.channel();
    bot.question(message).onComplete(asked -> {
      Bot.Question question = asked.succeeded() ? asked.result() : null;
      if (question == null || question.isEmpty()) {
        count(channel, "not_asked");
        return;
      }
      seen.firstSight(channel.name(), message.id()).onComplete(first -> {
        if (first.succeeded() && !first.result()) {
          count(channel, "duplicate");
          LOG.debug("im channel {}: message {} was re-sent, already answered", channel.name(), message.id());
          return;
        }
        userMessage(bot, message, question).onComplete(asking -> {
          if (asking.failed()) {
            ImageUnavailable unavailable = ImageUnavailable.of(asking.cause());
            LOG.warn("im channel {}: request {}: an image of message {} does not go to the model: {}", channel.name(),
              requestId, message.id(), unavailable.getMessage());
            registry.counter("switchboard.im.images", "channel", channel.name(), "outcome",
              unavailable.reason().name().toLowerCase(Locale.ROOT)).increment();
            deliver(bot, message, unavailable.answer(), requestId, "image_refused");
            return;
          }
          turn(bot, message, asking.result(), requestId);
        });
      });
    });
  }

  /**
   * The user message to the model: the text alone as a string, or with images, content parts (the text, then the
   * images in order as {@code data:} URLs). Images are fetched one after another, each within what is left of the
   * message's budget. @return fails with {@link ImageUnavailable}
   */
  private <M extends IncomingMessage> Future<ChatMessage> userMessage(Bot<M> bot, M message, Bot.Question question) {
    if (question.images().isEmpty()) {
      return Future.succeededFuture(new ChatMessage("user", question.text()));
    }
    if (question.images().size() > Bot.MAX_IMAGES) {
      return Future.failedFuture(ImageUnavailable.tooMany(question.images().size()));
    }
    JsonArray parts = new JsonArray();
    if (!question.text().isBlank()) {
      parts.add(new JsonObject().put("type", "text").put("text", question.text()));
    }
    Future<Long> fetched = Future.succeededFuture(0L);
    for (String key : question.images()) {
      fetched = fetched.compose(used -> {
        long left = Bot.MAX_MESSAGE_IMAGE_BYTES - used;
        return bot.image(message, key, Math.min(Bot.MAX_IMAGE_BYTES, left)).map(image -> {
          parts.add(image.part());
          registry.counter("switchboard.im.images", "channel", bot.channel().name(), "outcome", "fetched").increment();
          return used + image.bytes().length();
        });
      });
    }
    return fetched.map(total -> new ChatMessage(new JsonObject().put("role", "user").put("content", parts)));
  }

  private <M extends IncomingMessage> void turn(Bot<M> bot, M message, ChatMessage question, String requestId) {
    ImChannel channel = bot.channel();
    ChatCompletionRequest chat = new ChatCompletionRequest(channel.model(), List.of(question), false, false, null);
    conversation(channel, message.sender(), requestId)
      .compose(conversationId -> pipeline.turn(new ChatPipeline.ChatTurn(requestId, channel.tenant(), 0, chat,
        conversationId, timeoutMillis), null))
      .onComplete(outcome -> {
        if (outcome.failed() && Guardrails.isViolation(ApiError.from(outcome.cause()))) {
          deliver(bot, message, REFUSAL, requestId, "refused");
          return;
        }
        String answer = outcome.succeeded() ? outcome.result().result().content() : null;
        if (answer == null || answer.isBlank()) {
          LOG.warn("im channel {}: request {} got no answer from model {} ({})", channel.name(), requestId,
            channel.model(), outcome.failed() ? ApiError.from(outcome.cause()).message() : "empty answer");
          deliver(bot, message, APOLOGY, requestId, "model_failed");
          return;
        }
        deliver(bot, message, answer, requestId, "answered");
      });
  }

  /** The conversation the sender's chats share (across platforms once linked); null without memory. */
  private Future<String> conversation(ImChannel channel, String sender, String requestId) {
    IdentityQuery query;
    try {
      query = new IdentityQuery(channel.tenant(), channel.platform(), sender);
    } catch (IllegalArgumentException e) {
      return Future.succeededFuture(null);
    }
    return PreferLocal.<String>request(vertx.eventBus(), Addresses.SESSION_IDENTIFY, query, IDENTITY_TIMEOUT_MILLIS)
      .map(reply -> Identities.conversationOf(reply.body()))
      .otherwise(failure -> {
        LOG.warn("im channel {}: request {} goes on without memory, the sender could not be identified ({})",
          channel.name(), requestId, ApiError.from(failure).message());
        registry.counter("switchboard.session.unavailable").increment();
        return null;
      });
  }

  /** Sends {@code text} in parts, one after the other, each tried again when the platform is busy. */
  private <M extends IncomingMessage> Future<Void> deliver(Bot<M> bot, M to, String text, String requestId,
                                                          String outcome) {
    List<String> parts = TextParts.split(text, bot.partLimit(), bot.measure());
    Future<Void> sent = Future.succeededFuture();
    for (int i = 0; i < parts.size(); i++) {
      int part = i;
      sent = sent.compose(v -> sendPart(bot, to, parts.get(part), requestId, part, 0));
    }
    return sent
      .onSuccess(v -> registry.counter("switchboard.im.answers", "channel", bot.channel().name(), "outcome", outcome)
        .increment())
      .onFailure(failure -> {
        registry.counter("switchboard.im.answers", "channel", bot.channel().name(), "outcome", "delivery_failed")
          .increment();
        LOG.warn("im channel {}: request {}: the answer could not be delivered ({})", bot.channel().name(), requestId,
          failure.getMessage());
      });
  }

  private <M extends IncomingMessage> Future<Void> sendPart(Bot<M> bot, M to, String text, String requestId, int part,
                                                           int attempt) {
    return bot.send(to, text, requestId, part).recover(failure -> {
      boolean retriable = !(failure instanceof PlatformCallFailed call) || call.retriable();
      if (!retriable || attempt >= SEND_RETRY_MILLIS.length) {
        return Future.failedFuture(failure);
      }
      return vertx.timer(SEND_RETRY_MILLIS[attempt])
        .compose(v -> sendPart(bot, to, text, requestId, part, attempt + 1));
    });
  }

  private void count(ImChannel channel, String outcome) {
    registry.counter("switchboard.im.messages", "channel", channel.name(), "outcome", outcome).increment();
  }
}

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
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Answers a chat message a bot received and its queue kept ({@link ImWorkQueue}): with the sender's memory, through
 * routing like any other chat turn, and back through the platform's send API in parts the platform takes. A model
 * that fails gives the sender a short apology. Images in a message are fetched through the platform's media API and
 * go to the model with the message's text as one user message of content parts; an image that is too large, not an
 * image, or not fetched gets the sender a short note instead, and the model is not asked. A job run again (its first
 * node died) sends the answer its first run recorded, and only the parts not delivered yet.
 */
final class ImAnswers implements ImWorkQueue.Worker {
  private static final Logger LOG = LoggerFactory.getLogger(ImAnswers.class);
  private static final long IDENTITY_TIMEOUT_MILLIS = 2_000;
  /** Waits before the 2nd, 3rd and 4th try of a send the platform could not take just then. */
  private static final long[] SEND_RETRY_MILLIS = {300, 1_500, 5_000};
  /** What a sender hears when a guardrail refused the question or the answer (never which word, never why). */
  static final String REFUSAL = "抱歉，这个问题我无法回答。\nSorry, I can't help with that request.";
  static final String APOLOGY = "抱歉，暂时无法回答，请稍后再试。\nSorry, I can't answer right now. Please try again in a moment.";

  private final Vertx vertx;
  private final ChatPipeline pipeline;
  private final Map<String, Bot<?>> bots;
  private final long timeoutMillis;
  private final MeterRegistry registry;

  ImAnswers(Vertx vertx, ChatPipeline pipeline, List<Bot<?>> bots, long timeoutMillis, MeterRegistry registry) {
    this.vertx = vertx;
    this.pipeline = pipeline;
    this.bots = bots.stream().collect(Collectors.toUnmodifiableMap(bot -> bot.channel().name(), bot -> bot));
    this.timeoutMillis = timeoutMillis;
    this.registry = registry;
  }

  @Override
  public Future<Void> run(ImJob job, ImWorkQueue.Ledger ledger) {
    Bot<?> bot = bots.get(job.channel());
    if (bot == null) {
      return Future.failedFuture("no channel '" + job.channel() + "' is configured on this node");
    }
    return run(bot, job, ledger);
  }

  private <M extends IncomingMessage> Future<Void> run(Bot<M> bot, ImJob job, ImWorkQueue.Ledger ledger) {
    M message = bot.decode(job.message());
    return ledger.answer(() -> answer(bot, message, job.requestId()))
      .compose(answer -> answer == null ? Future.succeededFuture()
        : deliver(bot, message, answer, job.requestId(), ledger));
  }

  /** What to send the sender; null when the message asks nothing of the bot. */
  private <M extends IncomingMessage> Future<ImWorkQueue.Answer> answer(Bot<M> bot, M message, String requestId) {
    ImChannel channel = bot.channel();
    return bot.question(message).otherwise((Bot.Question) null).compose(question -> {
      if (question == null || question.isEmpty()) {
        count(channel, "not_asked");
        return Future.succeededFuture(null);
      }
      return userMessage(bot, message, question).compose(asked -> turn(bot, message, asked, requestId), refused -> {
        ImageUnavailable unavailable = ImageUnavailable.of(refused);
        LOG.warn("im channel {}: request {}: an image of message {} does not go to the model: {}", channel.name(),
          requestId, message.id(), unavailable.getMessage());
        registry.counter("switchboard.im.images", "channel", channel.name(), "outcome",
          unavailable.reason().name().toLowerCase(Locale.ROOT)).increment();
        return Future.succeededFuture(new ImWorkQueue.Answer(unavailable.answer(), "image_refused"));
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

  private <M extends IncomingMessage> Future<ImWorkQueue.Answer> turn(Bot<M> bot, M message, ChatMessage question,
                                                                     String requestId) {
    ImChannel channel = bot.channel();
    ChatCompletionRequest chat = new ChatCompletionRequest(channel.model(), List.of(question), false, false, null);
    return conversation(channel, message.sender(), requestId)
      .compose(conversationId -> pipeline.turn(new ChatPipeline.ChatTurn(requestId, channel.tenant(), 0, chat,
        conversationId, timeoutMillis), null))
      .transform(outcome -> {
        if (outcome.failed() && Guardrails.isViolation(ApiError.from(outcome.cause()))) {
          return Future.succeededFuture(new ImWorkQueue.Answer(REFUSAL, "refused"));
        }
        String answer = outcome.succeeded() ? outcome.result().result().content() : null;
        if (answer == null || answer.isBlank()) {
          LOG.warn("im channel {}: request {} got no answer from model {} ({})", channel.name(), requestId,
            channel.model(), outcome.failed() ? ApiError.from(outcome.cause()).message() : "empty answer");
          return Future.succeededFuture(new ImWorkQueue.Answer(APOLOGY, "model_failed"));
        }
        return Future.succeededFuture(new ImWorkQueue.Answer(answer, "answered"));
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

  /**
   * Sends the answer in parts, one after the other, each tried again when the platform is busy, skipping what an
   * earlier run of the job delivered. A part an earlier run may have sent goes again only where the platform drops
   * repeats. Fails (the job runs again later) when the platform stayed busy; a send the platform refused for good
   * ends the job.
   */
  private <M extends IncomingMessage> Future<Void> deliver(Bot<M> bot, M to, ImWorkQueue.Answer answer,
                                                          String requestId, ImWorkQueue.Ledger ledger) {
    String channel = bot.channel().name();
    List<String> parts = TextParts.split(answer.text(), bot.partLimit(), bot.measure());
    Future<Void> sent = Future.succeededFuture();
    for (int i = 0; i < parts.size(); i++) {
      int part = i;
      sent = sent.compose(v -> ledger.begin(part)).compose(state -> switch (state) {
        case SENT -> Future.succeededFuture();
        case UNCERTAIN -> {
          if (!bot.idempotentSends()) {
            LOG.warn("im channel {}: request {}: part {} may have been sent by a node that died; not sent again",
              channel, requestId, part);
            yield Future.succeededFuture();
          }
          yield sendPart(bot, to, parts.get(part), requestId, part, ledger);
        }
        case SEND -> sendPart(bot, to, parts.get(part), requestId, part, ledger);
      });
    }
    return sent
      .onSuccess(v -> registry.counter("switchboard.im.answers", "channel", channel, "outcome", answer.outcome())
        .increment())
      .recover(failure -> {
        registry.counter("switchboard.im.answers", "channel", channel, "outcome", "delivery_failed").increment();
        LOG.warn("im channel {}: request {}: the answer could not be delivered ({})", channel, requestId,
          failure.getMessage());
        boolean retriable = !(failure instanceof PlatformCallFailed call) || call.retriable();
        return retriable ? Future.failedFuture(failure) : Future.succeededFuture();
      });
  }

  private <M extends IncomingMessage> Future<Void> sendPart(Bot<M> bot, M to, String text, String requestId, int part,
                                                           ImWorkQueue.Ledger ledger) {
    return sendPart(bot, to, text, requestId, part, 0).compose(v -> ledger.sent(part),
      // the platform answered with an error: the part is certainly not there, a later run may send it
      failure -> (failure instanceof PlatformCallFailed ? ledger.unsent(part) : Future.<Void>succeededFuture())
        .transform(v -> Future.failedFuture(failure)));
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

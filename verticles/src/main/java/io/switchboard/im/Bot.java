package io.switchboard.im;

import io.switchboard.config.ConfigException;
import io.switchboard.config.SwitchboardConfig.ImChannel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One configured company bot on one platform: how its platform's callbacks are verified and read, and how an
 * answer is sent back through the platform's API. One instance per connection verticle instance, used from that
 * instance's event loop only.
 */
abstract class Bot<M extends IncomingMessage> {
  /**
   * How far a signed timestamp (WeCom, Feishu) may be from now. Their documentation sets no window; this one is
   * shorter than {@link SeenMessages#TTL_MILLIS}, so a replayed callback is either refused or recognised as seen.
   */
  static final long REPLAY_WINDOW_MILLIS = 8 * 3_600_000L;
  /** The largest image fetched (OpenAI takes up to 20 MB an image; IM platforms' own limits are 10 MB or less). */
  static final long MAX_IMAGE_BYTES = 10L * 1024 * 1024;
  /** All images of one message together: under the 50 MB OpenAI takes for a whole request once Base64'd. */
  static final long MAX_MESSAGE_IMAGE_BYTES = 20L * 1024 * 1024;
  static final int MAX_IMAGES = 4;
  /** How long one image may take to arrive, the platform's download-link step included. */
  static final long IMAGE_TIMEOUT_MILLIS = 20_000;

  /**
   * What a message asks of the bot: its words (mentions of the bot taken out) and the platform's keys of its images
   * (WeCom MediaId, DingTalk downloadCode, Feishu image_key), in the order written.
   */
  record Question(String text, List<String> images) {
    Question {
      text = text == null ? "" : text;
      images = List.copyOf(images);
    }

    static Question text(String text) {
      return new Question(text, List.of());
    }

    boolean isEmpty() {
      return text.isBlank() && images.isEmpty();
    }
  }

  protected final ImChannel channel;
  protected final PlatformApi api;
  protected final AccessToken token;
  private final int partLimit;
  private final TextParts.Measure measure;

  /** @param partLimit the longest message the platform takes, in {@code measure} units */
  protected Bot(Vertx vertx, ImChannel channel, int partLimit, TextParts.Measure measure) {
    this.channel = channel;
    this.api = new PlatformApi(vertx);
    this.token = new AccessToken(this::fetchToken);
    this.partLimit = partLimit;
    this.measure = measure;
  }

  /** The bot of a configured channel. @throws ConfigException naming the channel and what is missing or wrong */
  static Bot<?> create(Vertx vertx, ImChannel channel) {
    return switch (channel.platform()) {
      case "wecom" -> new WeComBot(vertx, channel);
      case "dingtalk" -> new DingTalkBot(vertx, channel);
      case "feishu" -> new FeishuBot(vertx, channel);
      default -> throw new ConfigException("im_channels '" + channel.name() + "': unknown platform '"
        + channel.platform() + "'");
    };
  }

  ImChannel channel() {
    return channel;
  }

  /** The webhook, {@code /im/<platform>/<name>}. */
  String path() {
    return "/im/" + channel.platform() + "/" + channel.name();
  }

  /** Whether the platform checks the webhook with a GET (WeCom's echostr). */
  boolean verifiesWithGet() {
    return false;
  }

  /** Answers the platform's GET check of the webhook. @throws CallbackRejected when it is not the platform's */
  Callback<M> verifyUrl(HttpServerRequest request, long nowMillis) {
    throw CallbackRejected.malformed("this platform does not verify with GET");
  }

  /** Verifies and reads a POSTed callback. @throws CallbackRejected when it is not the platform's or unreadable */
  abstract Callback<M> receive(HttpServerRequest request, Buffer body, long nowMillis);

  /** The question asked of the bot, without the mention of the bot; null when the message is not for the bot. */
  abstract Future<Question> question(M message);

  /**
   * Fetches one image of the message through the platform's media API, at most {@code maxBytes}, within {@link
   * #IMAGE_TIMEOUT_MILLIS}. @param key one of {@link Question#images()}
   * @return fails with {@link ImageUnavailable} when the image is too large, not an image, or cannot be fetched
   */
  abstract Future<InlineImage> image(M message, String key, long maxBytes);

  /**
   * Sends one part of an answer back where the message came from. {@code requestId} and {@code part} are the same
   * when a job is run again, for platforms that drop a repeated send by a key ({@link #idempotentSends()}).
   */
  abstract Future<Void> send(M to, String text, String requestId, int part);

  /** Whether the platform drops a repeat of a part {@link #send} sent before, so sending it again is safe. */
  boolean idempotentSends() {
    return false;
  }

  /** The message as a job keeps it ({@link ImJob#message()}); {@link #decode} reads it back. */
  abstract JsonObject encode(M message);

  /** @throws RuntimeException when {@code json} is not what {@link #encode} wrote */
  abstract M decode(JsonObject json);

  /** The longest message the platform takes, in {@link #measure()} units. */
  int partLimit() {
    return partLimit;
  }

  TextParts.Measure measure() {
    return measure;
  }

  /** The strings of a JSON array written by {@link #encode}. */
  protected static List<String> strings(JsonArray array) {
    return array.stream().map(String.class::cast).toList();
  }

  /** Asks the platform for an access token. */
  protected abstract Future<AccessToken.Grant> fetchToken();

  /** A call that needs the access token, made again once with a new token when the platform refuses the old one. */
  protected <R> Future<R> withToken(Function<String, Future<R>> call, Predicate<R> tokenRefused) {
    return token.get().compose(current -> call.apply(current).compose(reply -> {
      if (!tokenRefused.test(reply)) {
        return Future.succeededFuture(reply);
      }
      token.invalidate(current);
      return token.get().compose(call);
    }));
  }

  /** A credential the platform requires. @throws ConfigException naming the channel and the key */
  protected String credential(String key) {
    String value = channel.credentials().get(key);
    if (value == null || value.isBlank()) {
      throw new ConfigException("im_channels '" + channel.name() + "' (" + channel.platform() + "): credentials."
        + key + " is missing");
    }
    return value;
  }

  protected String optionalCredential(String key) {
    String value = channel.credentials().get(key);
    return value == null || value.isBlank() ? null : value;
  }

  protected ConfigException badCredential(String key, String problem) {
    return new ConfigException("im_channels '" + channel.name() + "' (" + channel.platform() + "): credentials."
      + key + " " + problem);
  }

  /** The channel's api_base, or the platform's own. */
  protected String base(String platformDefault) {
    return channel.apiBase() != null ? channel.apiBase() : platformDefault;
  }

  /** @throws CallbackRejected unless {@code seconds} is a Unix time within {@link #REPLAY_WINDOW_MILLIS} of now */
  static void requireFresh(String seconds, long nowMillis) {
    long sent;
    try {
      sent = Long.parseLong(seconds) * 1000;
    } catch (NumberFormatException | NullPointerException e) {
      throw CallbackRejected.badSignature("the timestamp is missing or not a number");
    }
    if (Math.abs(nowMillis - sent) > REPLAY_WINDOW_MILLIS) {
      throw CallbackRejected.badSignature("the timestamp is too far from now (stale or replayed)");
    }
  }

  /** A failed platform reply as an error that names the call and the platform's code, never a secret. */
  protected static PlatformCallFailed failed(String call, PlatformApi.Reply reply, Object code, boolean retriable) {
    return new PlatformCallFailed(call + " answered HTTP " + reply.status() + (code == null ? "" : " code " + code),
      retriable);
  }

  Future<Void> close() {
    return api.close();
  }
}

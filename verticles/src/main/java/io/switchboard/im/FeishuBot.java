package io.switchboard.im;

import io.switchboard.config.SwitchboardConfig.ImChannel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A Feishu / Lark (飞书) app bot with event subscription by request URL: the {@code url_verification} challenge,
 * bodies encrypted with the Encrypt Key and signed in {@code X-Lark-Signature}, the Verification Token checked in
 * v1 and v2 events; {@code im.message.receive_v1} events are answered with {@code im/v1/messages/:id/reply}, with a
 * {@code tenant_access_token} of the app. Text, image and rich-text (post) messages are answered; images are fetched
 * with {@code im/v1/messages/:id/resources/:key}.
 */
final class FeishuBot extends Bot<FeishuBot.Message> {
  private static final Logger LOG = LoggerFactory.getLogger(FeishuBot.class);
  static final String DEFAULT_BASE = "https://open.feishu.cn";
  /** Feishu takes text bodies up to 150 KB; answers are sent in parts of a readable size. */
  static final int TEXT_LIMIT_CHARS = 4000;
  /** tenant access token invalid / missing / malformed / expired */
  private static final Set<Integer> TOKEN_REFUSED = Set.of(99991661, 99991663, 99991664, 99991665, 99991668);
  /** request frequency limit */
  private static final Set<Integer> BUSY = Set.of(99991400, 230020);
  private static final Pattern MESSAGE_ID = Pattern.compile("[A-Za-z0-9_\\-]{1,128}");
  /** image keys ({@code img_v3_02ab_...}) go into a URL path: nothing but these characters */
  private static final Pattern IMAGE_KEY = Pattern.compile("[A-Za-z0-9_\\-]{1,256}");
  /** message resources: the resource is larger than Feishu serves */
  private static final int RESOURCE_TOO_LARGE = 234037;

  record Mention(String key, String openId, String name) {
  }

  /**
   * @param id        the event id (the same in a re-sent event)
   * @param messageId the chat message to reply to
   * @param text      the text as sent, mentions as their keys ({@code @_user_1})
   * @param images    the image_keys of its images, in order
   */
  record Message(String id, String sender, String messageId, boolean group, String text, List<String> images,
                 List<Mention> mentions)
    implements IncomingMessage {
    @Override
    public String toString() {
      return "FeishuMessage[id=" + id + ", group=" + group + "]";
    }
  }

  private final String appId;
  private final String appSecret;
  private final byte[] verificationToken;
  private final FeishuCrypto crypto;
  private final String base;
  /** The bot's own open_id, to tell a mention of the bot from others; asked of the platform once. */
  private Future<String> botOpenId;

  FeishuBot(Vertx vertx, ImChannel channel) {
    super(vertx, channel, TEXT_LIMIT_CHARS, TextParts.Measure.CODE_POINTS);
    this.appId = credential("app_id");
    this.appSecret = credential("app_secret");
    this.verificationToken = credential("verification_token").getBytes(StandardCharsets.UTF_8);
    String encryptKey = optionalCredential("encrypt_key");
    this.crypto = encryptKey == null ? null : new FeishuCrypto(encryptKey);
    this.base = base(DEFAULT_BASE);
  }

  @Override
  Callback<Message> receive(HttpServerRequest request, Buffer body, long nowMillis) {
    JsonObject outer = json(body.toString(StandardCharsets.UTF_8));
    JsonObject event;
    boolean signed = false;
    if (crypto != null) {
      if (!(outer.getValue("encrypt") instanceof String encrypted)) {
        throw CallbackRejected.malformed("an Encrypt Key is configured but the body is not encrypted");
      }
      String signature = request.getHeader("X-Lark-Signature");
      if (signature != null) {
        String timestamp = request.getHeader("X-Lark-Request-Timestamp");
        crypto.verify(timestamp, request.getHeader("X-Lark-Request-Nonce"), signature, body.getBytes());
        requireFresh(timestamp, nowMillis);
        signed = true;
      }
      event = json(crypto.decrypt(encrypted));
    } else {
      if (outer.containsKey("encrypt")) {
        throw CallbackRejected.malformed("the body is encrypted but no encrypt_key is configured");
      }
      event = outer;
    }
    JsonObject header = event.getValue("header") instanceof JsonObject h ? h : null;
    String token = header != null ? header.getString("token") : event.getString("token");
    if (token == null || !MessageDigest.isEqual(verificationToken, token.getBytes(StandardCharsets.UTF_8))) {
      throw CallbackRejected.badSignature("the verification token does not match");
    }
    if ("url_verification".equals(event.getString("type"))) {
      // Feishu signs events, not the URL check; the token (and decryption) vouch for it
      return Callback.respond(200, "application/json",
        new JsonObject().put("challenge", String.valueOf(event.getValue("challenge"))).encode());
    }
    if (crypto != null && !signed) {
      throw CallbackRejected.badSignature("the event carries no X-Lark-Signature");
    }
    Callback<Message> ack = Callback.respond(200, "application/json", "{}");
    if (header == null || !"im.message.receive_v1".equals(header.getString("event_type"))) {
      return ack.ignore(); // v1 events and other event types: nothing to answer
    }
    Message message = message(header.getString("event_id"), event.getValue("event") instanceof JsonObject e ? e : null);
    return message == null ? ack.ignore() : ack.deliver(message);
  }

  private static Message message(String eventId, JsonObject event) {
    if (eventId == null || event == null || !(event.getValue("message") instanceof JsonObject message)
      || !(event.getValue("sender") instanceof JsonObject sender)) {
      return null;
    }
    if (!"user".equals(sender.getString("sender_type", "user"))) {
      return null; // never answer another bot
    }
    JsonObject ids = sender.getValue("sender_id") instanceof JsonObject s ? s : new JsonObject();
    String senderId = firstOf(ids.getString("user_id"), ids.getString("open_id"), ids.getString("union_id"));
    String messageId = message.getString("message_id");
    StringBuilder text = new StringBuilder();
    List<String> images = new ArrayList<>();
    if (senderId == null || messageId == null || !MESSAGE_ID.matcher(messageId).matches()
      || !content(message.getString("message_type"), message.getString("content"), text, images)) {
      return null;
    }
    List<Mention> mentions = new ArrayList<>();
    if (message.getValue("mentions") instanceof JsonArray array) {
      for (Object item : array) {
        if (item instanceof JsonObject mention && mention.getString("key") != null) {
          JsonObject id = mention.getValue("id") instanceof JsonObject i ? i : new JsonObject();
          mentions.add(new Mention(mention.getString("key"), id.getString("open_id"), mention.getString("name", "")));
        }
      }
    }
    return new Message(eventId, senderId, messageId, "group".equals(message.getString("chat_type")),
      text.toString(), images, mentions);
  }

  /**
   * The words and images of a text, image or rich-text (post) message (Feishu's
   * "接收消息内容" page of the im/v1 message reference): text
   * {@code {"text"}}, image {@code {"image_key"}}, post {@code {"title","content":[[{"tag":"text"|"at"|"img",...}]]}}.
   * @return false for other kinds
   */
  private static boolean content(String type, String content, StringBuilder text, List<String> images) {
    if (content == null) {
      return false;
    }
    JsonObject json;
    try {
      json = new JsonObject(content);
    } catch (DecodeException | ClassCastException e) {
      return false;
    }
    if ("text".equals(type) && json.getValue("text") instanceof String words) {
      text.append(words);
      return true;
    }
    if ("image".equals(type)) {
      addImage(json.getValue("image_key"), images);
      return !images.isEmpty();
    }
    if ("post".equals(type) && json.getValue("content") instanceof JsonArray lines) {
      if (json.getValue("title") instanceof String title && !title.isBlank()) {
        text.append(title).append('\n'); // a rich-text post's title is part of what was said
      }
      for (Object line : lines) {
        if (line instanceof JsonArray elements) {
          for (Object element : elements) {
            if (element instanceof JsonObject e) {
              switch (String.valueOf(e.getValue("tag"))) {
                case "at" -> text.append(e.getString("user_id", ""));
                case "img" -> addImage(e.getValue("image_key"), images);
                default -> text.append(e.getValue("text") instanceof String words ? words : "");
              }
            }
          }
          text.append('\n');
        }
      }
      return true;
    }
    return false;
  }

  private static void addImage(Object key, List<String> images) {
    if (key instanceof String k && IMAGE_KEY.matcher(k).matches()) {
      images.add(k);
    }
  }

  /** In a group, only a message that mentions the bot is a question; the bot's mention is taken out of it. */
  @Override
  Future<Question> question(Message message) {
    if (!message.group()) {
      return Future.succeededFuture(new Question(withoutMentions(message, null), message.images()));
    }
    if (message.mentions().isEmpty()) {
      return Future.succeededFuture(null);
    }
    return botOpenId().map(self -> {
      if (self == null) {
        // without the bot's id: Feishu delivers group messages to a bot only when it is mentioned (unless the app
        // may read all group messages), so a message with mentions is taken as addressed to it
        return new Question(withoutMentions(message, message.mentions().get(0).openId()), message.images());
      }
      boolean asked = message.mentions().stream().anyMatch(m -> self.equals(m.openId()));
      return asked ? new Question(withoutMentions(message, self), message.images()) : null;
    });
  }

  private static String withoutMentions(Message message, String botOpenId) {
    String text = message.text();
    for (Mention mention : message.mentions()) {
      boolean bot = botOpenId != null && botOpenId.equals(mention.openId());
      text = text.replace(mention.key(), bot ? "" : "@" + mention.name());
    }
    return text.strip();
  }

  private Future<String> botOpenId() {
    if (botOpenId == null) {
      botOpenId = withToken(token -> api.get(base + "/open-apis/bot/v3/info",
            Map.of("authorization", "Bearer " + token)),
          reply -> TOKEN_REFUSED.contains(reply.body().getInteger("code", 0)))
        .map(reply -> reply.body().getJsonObject("bot", new JsonObject()).getString("open_id"))
        .andThen(found -> {
          if (found.failed() || found.result() == null) {
            botOpenId = null; // ask again next time
            LOG.warn("im channel {}: the bot's open_id could not be read (bot/v3/info); taking mentions in groups as "
              + "addressed to the bot", channel.name());
          }
        })
        .otherwise((String) null);
    }
    return botOpenId;
  }

  @Override
  boolean idempotentSends() {
    return true;
  }

  @Override
  JsonObject encode(Message message) {
    JsonArray mentions = new JsonArray();
    message.mentions().forEach(m -> mentions.add(new JsonObject().put("key", m.key()).put("open_id", m.openId())
      .put("name", m.name())));
    return new JsonObject().put("id", message.id()).put("sender", message.sender())
      .put("message_id", message.messageId()).put("group", message.group()).put("text", message.text())
      .put("images", new JsonArray(message.images())).put("mentions", mentions);
  }

  @Override
  Message decode(JsonObject json) {
    List<Mention> mentions = new ArrayList<>();
    for (Object item : json.getJsonArray("mentions")) {
      JsonObject m = (JsonObject) item;
      mentions.add(new Mention(m.getString("key"), m.getString("open_id"), m.getString("name")));
    }
    return new Message(json.getString("id"), json.getString("sender"), json.getString("message_id"),
      json.getBoolean("group"), json.getString("text"), strings(json.getJsonArray("images")), mentions);
  }

  @Override
  Future<Void> send(Message to, String text, String requestId, int part) {
    JsonObject body = new JsonObject().put("msg_type", "text")
      .put("content", new JsonObject().put("text", text).encode())
      .put("uuid", idempotencyKey(requestId, part)); // Feishu drops a repeat of the same uuid within an hour
    String url = base + "/open-apis/im/v1/messages/" + to.messageId() + "/reply";
    return withToken(token -> api.post(url, Map.of("authorization", "Bearer " + token), body),
        reply -> TOKEN_REFUSED.contains(reply.body().getInteger("code", 0)))
      .compose(reply -> {
        Integer code = reply.body().getInteger("code");
        if (reply.status() == 200 && code != null && code == 0) {
          return Future.succeededFuture();
        }
        return Future.failedFuture(failed("Feishu im/v1/messages/reply", reply, code,
          reply.status() == 429 || reply.status() >= 500 || (code != null && BUSY.contains(code))));
      });
  }

  /**
   * {@code GET /open-apis/im/v1/messages/:message_id/resources/:file_key?type=image} (获取消息中的资源文件,
   * https://open.larksuite.com/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/message-resource/get): the file with its Content-Type, or an error as
   * JSON {@code {"code","msg"}} with a 4xx.
   */
  @Override
  Future<InlineImage> image(Message message, String key, long maxBytes) {
    String call = "Feishu im/v1/messages/resources";
    String url = base + "/open-apis/im/v1/messages/" + message.messageId() + "/resources/" + key + "?type=image";
    return withToken(token -> api.download(url, Map.of("authorization", "Bearer " + token),
          maxBytes, IMAGE_TIMEOUT_MILLIS),
        download -> download.status() != 200 && TOKEN_REFUSED.contains(download.json().getInteger("code", 0)))
      .map(download -> {
        if (download.status() == 200) {
          return InlineImage.of(call, download.contentType(), download.bytes());
        }
        Object code = download.json().getValue("code");
        String why = call + " answered HTTP " + download.status() + (code == null ? "" : " code " + code);
        throw code instanceof Number n && n.intValue() == RESOURCE_TOO_LARGE ? ImageUnavailable.tooLarge(why)
          : ImageUnavailable.notFetched(why);
      });
  }

  /** At most 50 characters, as Feishu requires of a uuid. */
  static String idempotencyKey(String requestId, int part) {
    String suffix = "-" + part;
    int over = requestId.length() + suffix.length() - 50;
    return (over > 0 ? requestId.substring(over) : requestId) + suffix;
  }

  @Override
  protected Future<AccessToken.Grant> fetchToken() {
    return api.post(base + "/open-apis/auth/v3/tenant_access_token/internal", Map.of(),
        new JsonObject().put("app_id", appId).put("app_secret", appSecret))
      .compose(reply -> {
        String value = reply.body().getString("tenant_access_token");
        Integer code = reply.body().getInteger("code", -1);
        if (reply.status() != 200 || code != 0 || value == null) {
          return Future.failedFuture(failed("Feishu tenant_access_token", reply, code,
            reply.status() == 429 || reply.status() >= 500));
        }
        return Future.succeededFuture(new AccessToken.Grant(value, reply.body().getLong("expire", 7200L) * 1000));
      });
  }

  private static JsonObject json(String text) {
    try {
      return new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      throw CallbackRejected.malformed("the body is not a JSON object");
    }
  }

  private static String firstOf(String... values) {
    for (String value : values) {
      if (value != null && !value.isBlank()) {
        return value;
      }
    }
    return null;
  }
}

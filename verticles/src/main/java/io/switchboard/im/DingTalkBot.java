package io.switchboard.im;

import io.switchboard.config.SwitchboardConfig.ImChannel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A DingTalk (钉钉) enterprise app robot in HTTP mode: callbacks carry {@code timestamp} and {@code sign} headers;
 * answers go through the robot API ({@code robot/oToMessages/batchSend} in one-to-one chats,
 * {@code robot/groupMessages/send} in groups) with an access token from {@code oauth2/accessToken}, or, for a sender
 * with no staff id (an external contact), through the message's {@code sessionWebhook}. Text, picture and rich-text
 * (text and pictures) messages are answered; a picture is fetched by its downloadCode through
 * {@code robot/messageFiles/download}.
 */
final class DingTalkBot extends Bot<DingTalkBot.Message> {
  static final String DEFAULT_BASE = "https://api.dingtalk.com";
  static final String SESSION_WEBHOOK_ORIGIN = "https://oapi.dingtalk.com";
  /** Answers are sent in parts of at most this many characters. */
  static final int TEXT_LIMIT_CHARS = 5000;

  /**
   * @param staffId        the sender's staff (user) id in the company; null for external contacts
   * @param conversationId the chat (an openConversationId), where group answers go
   */
  /** @param images the downloadCodes of the message's pictures, in order */
  record Message(String id, String sender, String staffId, String text, List<String> images, boolean group,
                 boolean atBot, String conversationId, String sessionWebhook, long sessionWebhookExpiresAt)
    implements IncomingMessage {
    @Override
    public String toString() {
      return "DingTalkMessage[id=" + id + ", group=" + group + "]";
    }
  }

  private final String appKey;
  private final String appSecret;
  private final String robotCode;
  private final String base;
  private final String sessionWebhookOrigin;
  /** The configured api_base's origin, from where download links may come over plain HTTP (tests); none by default */
  private final String apiOrigin;

  DingTalkBot(Vertx vertx, ImChannel channel) {
    super(vertx, channel, TEXT_LIMIT_CHARS, TextParts.Measure.CODE_POINTS);
    this.appKey = credential("app_key");
    this.appSecret = credential("app_secret");
    String code = optionalCredential("robot_code");
    this.robotCode = code != null ? code : appKey; // an enterprise app's robot code is its app key
    this.base = base(DEFAULT_BASE);
    this.sessionWebhookOrigin = origin(channel.apiBase() != null ? channel.apiBase() : SESSION_WEBHOOK_ORIGIN);
    this.apiOrigin = channel.apiBase() != null ? origin(channel.apiBase()) : null;
  }

  @Override
  Callback<Message> receive(HttpServerRequest request, Buffer body, long nowMillis) {
    DingTalkSignature.verify(request.getHeader("timestamp"), request.getHeader("sign"), appSecret, nowMillis);
    JsonObject json;
    try {
      json = body.length() == 0 ? null : body.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      json = null;
    }
    if (json == null) {
      throw CallbackRejected.malformed("the body is not a JSON object");
    }
    Callback<Message> ack = Callback.respond(200, "application/json", "");
    String id = json.getString("msgId");
    String staffId = blankToNull(json.getString("senderStaffId"));
    String sender = staffId != null ? staffId : blankToNull(json.getString("senderId"));
    if (id == null || sender == null) {
      return ack.ignore();
    }
    StringBuilder text = new StringBuilder();
    List<String> images = new ArrayList<>();
    if (!content(json, text, images)) {
      return ack.ignore(); // voice, video, files, cards: nothing to answer
    }
    Object expires = json.getValue("sessionWebhookExpiredTime");
    return ack.deliver(new Message(id, sender, staffId, text.toString(), images,
      "2".equals(String.valueOf(json.getValue("conversationType"))), Boolean.TRUE.equals(json.getValue("isInAtList")),
      json.getString("conversationId"), json.getString("sessionWebhook"),
      expires instanceof Number n ? n.longValue() : 0));
  }

  /**
   * The words and pictures of a message the bot answers (机器人接收消息, https://open.dingtalk.com/document/orgapp/receive-message):
   * {@code text.content}; a {@code picture}'s {@code content.downloadCode}; a {@code richText}'s
   * {@code content.richText}, a list of {@code {"text"}} and {@code {"type":"picture","downloadCode"}} items. The
   * content comes as an object, and in some deliveries as that object's JSON in a string: both are read.
   * @return false when the message is of another kind
   */
  private static boolean content(JsonObject json, StringBuilder text, List<String> images) {
    String type = json.getString("msgtype");
    if ("text".equals(type)) {
      if (!(json.getValue("text") instanceof JsonObject t)) {
        return false;
      }
      text.append(t.getValue("content", ""));
      return true;
    }
    JsonObject content = object(json.getValue("content"));
    if ("picture".equals(type)) {
      String code = downloadCode(content);
      if (code != null) {
        images.add(code);
      }
      return !images.isEmpty();
    }
    if ("richText".equals(type) && content.getValue("richText") instanceof JsonArray items) {
      for (Object item : items) {
        if (item instanceof JsonObject element) {
          String code = downloadCode(element);
          if (element.getValue("text") instanceof String words) {
            text.append(words);
          } else if (code != null) {
            images.add(code);
          }
        }
      }
      return true;
    }
    return false;
  }

  private static String downloadCode(JsonObject element) {
    Object code = element.getValue("downloadCode");
    return code instanceof String c && !c.isBlank() ? c : null;
  }

  private static JsonObject object(Object value) {
    if (value instanceof JsonObject object) {
      return object;
    }
    if (value instanceof String encoded) {
      try {
        return new JsonObject(encoded);
      } catch (DecodeException | ClassCastException e) {
        return new JsonObject();
      }
    }
    return new JsonObject();
  }

  /** DingTalk takes the @mention out of the text; in a group the bot answers only when it was mentioned. */
  @Override
  Future<Question> question(Message message) {
    return Future.succeededFuture(message.group() && !message.atBot() ? null
      : new Question(message.text().strip(), message.images()));
  }

  /**
   * Two steps (下载机器人接收消息的文件内容,
   * https://open.dingtalk.com/document/orgapp/download-the-file-content-of-the-robot-receiving-message):
   * {@code POST /v1.0/robot/messageFiles/download {downloadCode, robotCode}} answers a temporary
   * {@code downloadUrl}, which is then read. The link is taken only over HTTPS (or from the channel's api_base, which
   * tests point at a fake): an answer of the API can then not make the bot read a plain-HTTP address.
   */
  @Override
  Future<InlineImage> image(Message message, String key, long maxBytes) {
    String call = "DingTalk robot/messageFiles/download";
    JsonObject body = new JsonObject().put("downloadCode", key).put("robotCode", robotCode);
    return withToken(token -> api.post(base + "/v1.0/robot/messageFiles/download",
          Map.of("x-acs-dingtalk-access-token", token), body),
        reply -> reply.status() == 401 || "InvalidAuthentication".equals(reply.body().getString("code")))
      .compose(reply -> {
        String url = reply.body().getValue("downloadUrl") instanceof String u ? u : null;
        if (reply.status() != 200 || url == null) {
          return Future.failedFuture(ImageUnavailable.notFetched(call + " answered HTTP " + reply.status()
            + (reply.body().getValue("code") == null ? "" : " code " + reply.body().getValue("code"))));
        }
        if (!url.startsWith("https://") && (apiOrigin == null || !apiOrigin.equals(origin(url)))) {
          return Future.failedFuture(ImageUnavailable.notFetched(call + " gave a download link that is not HTTPS"));
        }
        String link = "DingTalk downloadUrl " + PlatformApi.describe(HttpMethod.GET, url);
        return api.download(url, Map.of(), maxBytes, IMAGE_TIMEOUT_MILLIS)
          .map(download -> {
            if (download.status() != 200) {
              throw ImageUnavailable.notFetched(link + " answered HTTP " + download.status());
            }
            return InlineImage.of(link, download.contentType(), download.bytes());
          });
      });
  }

  @Override
  JsonObject encode(Message message) {
    return new JsonObject().put("id", message.id()).put("sender", message.sender()).put("staff_id", message.staffId())
      .put("text", message.text()).put("images", new JsonArray(message.images())).put("group", message.group())
      .put("at_bot", message.atBot()).put("conversation_id", message.conversationId())
      .put("session_webhook", message.sessionWebhook())
      .put("session_webhook_expires_at", message.sessionWebhookExpiresAt());
  }

  @Override
  Message decode(JsonObject json) {
    return new Message(json.getString("id"), json.getString("sender"), json.getString("staff_id"),
      json.getString("text"), strings(json.getJsonArray("images")), json.getBoolean("group"),
      json.getBoolean("at_bot"), json.getString("conversation_id"), json.getString("session_webhook"),
      json.getLong("session_webhook_expires_at"));
  }

  @Override
  Future<Void> send(Message to, String text, String requestId, int part) {
    String msgParam = new JsonObject().put("content", text).encode();
    if (to.group() && to.conversationId() != null) {
      return robotCall("robot/groupMessages/send", new JsonObject().put("robotCode", robotCode)
        .put("openConversationId", to.conversationId()).put("msgKey", "sampleText").put("msgParam", msgParam));
    }
    if (!to.group() && to.staffId() != null) {
      return robotCall("robot/oToMessages/batchSend", new JsonObject().put("robotCode", robotCode)
        .put("userIds", new JsonArray().add(to.staffId())).put("msgKey", "sampleText").put("msgParam", msgParam));
    }
    return sessionWebhook(to, text);
  }

  private Future<Void> robotCall(String path, JsonObject body) {
    return withToken(token -> api.post(base + "/v1.0/" + path, Map.of("x-acs-dingtalk-access-token", token), body),
        reply -> reply.status() == 401 || "InvalidAuthentication".equals(reply.body().getString("code")))
      .compose(reply -> {
        JsonArray invalid = reply.body().getJsonArray("invalidStaffIdList");
        if (reply.status() == 200 && (invalid == null || invalid.isEmpty())) {
          return Future.succeededFuture();
        }
        return Future.failedFuture(failed("DingTalk " + path, reply, reply.body().getString("code"),
          reply.status() == 429 || reply.status() >= 500));
      });
  }

  /** The reply address DingTalk gave with the message: only ever DingTalk's own, and only while it is valid. */
  private Future<Void> sessionWebhook(Message to, String text) {
    String url = to.sessionWebhook();
    if (url == null || !sessionWebhookOrigin.equals(origin(url))) {
      return Future.failedFuture(new PlatformCallFailed("DingTalk message has no usable sessionWebhook", false));
    }
    if (to.sessionWebhookExpiresAt() > 0 && System.currentTimeMillis() > to.sessionWebhookExpiresAt()) {
      return Future.failedFuture(new PlatformCallFailed("DingTalk sessionWebhook expired", false));
    }
    JsonObject body = new JsonObject().put("msgtype", "text").put("text", new JsonObject().put("content", text));
    return api.post(url, Map.of(), body).compose(reply -> {
      Integer code = reply.body().getInteger("errcode", 0);
      if (reply.status() == 200 && code == 0) {
        return Future.succeededFuture();
      }
      return Future.failedFuture(failed("DingTalk sessionWebhook", reply, code, reply.status() >= 500));
    });
  }

  @Override
  protected Future<AccessToken.Grant> fetchToken() {
    return api.post(base + "/v1.0/oauth2/accessToken", Map.of(),
        new JsonObject().put("appKey", appKey).put("appSecret", appSecret))
      .compose(reply -> {
        String value = reply.body().getString("accessToken");
        if (reply.status() != 200 || value == null) {
          return Future.failedFuture(failed("DingTalk oauth2/accessToken", reply, reply.body().getString("code"),
            reply.status() == 429 || reply.status() >= 500));
        }
        return Future.succeededFuture(new AccessToken.Grant(value, reply.body().getLong("expireIn", 7200L) * 1000));
      });
  }

  private static String origin(String url) {
    try {
      URI uri = URI.create(url);
      return uri.getScheme() + "://" + uri.getAuthority();
    } catch (IllegalArgumentException e) {
      return "";
    }
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }
}

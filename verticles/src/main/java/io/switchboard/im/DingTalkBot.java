package io.switchboard.im;

import io.switchboard.config.SwitchboardConfig.ImChannel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.Map;

/**
 * A DingTalk (钉钉) enterprise app robot in HTTP mode: callbacks carry {@code timestamp} and {@code sign} headers;
 * answers go through the robot API ({@code robot/oToMessages/batchSend} in one-to-one chats,
 * {@code robot/groupMessages/send} in groups) with an access token from {@code oauth2/accessToken}, or, for a sender
 * with no staff id (an external contact), through the message's {@code sessionWebhook}.
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
  record Message(String id, String sender, String staffId, String text, boolean group, boolean atBot,
                 String conversationId, String sessionWebhook, long sessionWebhookExpiresAt)
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

  DingTalkBot(Vertx vertx, ImChannel channel) {
    super(vertx, channel, TEXT_LIMIT_CHARS, TextParts.Measure.CODE_POINTS);
    this.appKey = credential("app_key");
    this.appSecret = credential("app_secret");
    String code = optionalCredential("robot_code");
    this.robotCode = code != null ? code : appKey; // an enterprise app's robot code is its app key
    this.base = base(DEFAULT_BASE);
    this.sessionWebhookOrigin = origin(channel.apiBase() != null ? channel.apiBase() : SESSION_WEBHOOK_ORIGIN);
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
    JsonObject text = json.getValue("text") instanceof JsonObject t ? t : null;
    if (!"text".equals(json.getString("msgtype")) || id == null || sender == null || text == null) {
      return ack.ignore();
    }
    Object expires = json.getValue("sessionWebhookExpiredTime");
    return ack.deliver(new Message(id, sender, staffId, String.valueOf(text.getValue("content", "")),
      "2".equals(String.valueOf(json.getValue("conversationType"))), Boolean.TRUE.equals(json.getValue("isInAtList")),
      json.getString("conversationId"), json.getString("sessionWebhook"),
      expires instanceof Number n ? n.longValue() : 0));
  }

  /** DingTalk takes the @mention out of the text; in a group the bot answers only when it was mentioned. */
  @Override
  Future<String> question(Message message) {
    return Future.succeededFuture(message.group() && !message.atBot() ? null : message.text().strip());
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

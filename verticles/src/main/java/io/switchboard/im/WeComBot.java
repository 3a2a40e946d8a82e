package io.switchboard.im;

import io.switchboard.config.SwitchboardConfig.ImChannel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A WeCom (企业微信) self-built app: callbacks verified with {@code msg_signature} and decrypted with the
 * EncodingAESKey (GET echostr check included); answers sent with {@code cgi-bin/message/send}, the access token
 * from {@code cgi-bin/gettoken}. App messages are one-to-one chats between a member and the app. Text and image
 * messages are answered; an image is fetched with {@code cgi-bin/media/get} by its MediaId.
 */
final class WeComBot extends Bot<WeComBot.Message> {
  static final String DEFAULT_BASE = "https://qyapi.weixin.qq.com";
  /** WeCom cuts text messages longer than 2048 bytes. */
  static final int TEXT_LIMIT_BYTES = 2048;
  /** invalid credential, invalid / missing / expired access_token */
  private static final Set<Integer> TOKEN_REFUSED = Set.of(40001, 40014, 41001, 42001);
  /** system busy, API frequency limits */
  private static final Set<Integer> BUSY = Set.of(-1, 45009, 45033);
  /** media/get: the file is larger than one download takes (WeCom then wants Range requests) */
  private static final int MEDIA_TOO_LARGE = 830002;

  /** @param mediaId the image's MediaId (an image message), else null */
  record Message(String id, String sender, String text, String mediaId) implements IncomingMessage {
    @Override
    public String toString() {
      return "WeComMessage[id=" + id + "]";
    }
  }

  private final String corpId;
  private final String corpSecret;
  private final int agentId;
  private final WeComCrypto crypto;
  private final String base;

  WeComBot(Vertx vertx, ImChannel channel) {
    super(vertx, channel, TEXT_LIMIT_BYTES, TextParts.Measure.UTF8_BYTES);
    this.corpId = credential("corp_id");
    String callbackToken = credential("token");
    String aesKey = credential("encoding_aes_key");
    this.corpSecret = credential("corp_secret");
    String agent = credential("agent_id");
    try {
      this.agentId = Integer.parseInt(agent.trim());
    } catch (NumberFormatException e) {
      throw badCredential("agent_id", "must be the app's numeric AgentId");
    }
    try {
      this.crypto = new WeComCrypto(callbackToken, aesKey, corpId);
    } catch (IllegalArgumentException e) {
      throw badCredential("encoding_aes_key", e.getMessage());
    }
    this.base = base(DEFAULT_BASE);
  }

  @Override
  boolean verifiesWithGet() {
    return true;
  }

  /** The URL check: {@code GET ?msg_signature&timestamp&nonce&echostr}, answered with echostr decrypted. */
  @Override
  Callback<Message> verifyUrl(HttpServerRequest request, long nowMillis) {
    String echo = request.getParam("echostr");
    String timestamp = request.getParam("timestamp");
    crypto.verify(request.getParam("msg_signature"), timestamp, request.getParam("nonce"), echo);
    requireFresh(timestamp, nowMillis);
    return Callback.respond(200, "text/plain; charset=utf-8", crypto.decrypt(echo));
  }

  @Override
  Callback<Message> receive(HttpServerRequest request, Buffer body, long nowMillis) {
    String encrypted = WeComXml.fields(body.toString(StandardCharsets.UTF_8)).get("Encrypt");
    String timestamp = request.getParam("timestamp");
    crypto.verify(request.getParam("msg_signature"), timestamp, request.getParam("nonce"), encrypted);
    requireFresh(timestamp, nowMillis);
    Map<String, String> message = WeComXml.fields(crypto.decrypt(encrypted));
    // an empty answer: WeCom neither retries nor shows anything; the answer follows through message/send
    Callback<Message> ack = Callback.respond(200, "text/plain; charset=utf-8", "");
    String id = message.get("MsgId");
    String sender = message.get("FromUserName");
    String type = message.get("MsgType");
    if (id == null || sender == null || sender.isBlank()) {
      return ack.ignore();
    }
    if ("text".equals(type)) {
      return ack.deliver(new Message(id, sender, message.getOrDefault("Content", ""), null));
    }
    // an image message (接收消息 → 接收普通消息 → 图片消息) carries PicUrl and
    // MediaId; the bot reads it by MediaId through the API, bounded and authenticated, not from the PicUrl link
    String mediaId = message.get("MediaId");
    if ("image".equals(type) && mediaId != null && !mediaId.isBlank()) {
      return ack.deliver(new Message(id, sender, "", mediaId.strip()));
    }
    return ack.ignore(); // events, voice, video, files: nothing to answer
  }

  @Override
  Future<Question> question(Message message) {
    return Future.succeededFuture(new Question(message.text().strip(),
      message.mediaId() == null ? List.of() : List.of(message.mediaId())));
  }

  /**
   * {@code GET cgi-bin/media/get?access_token&media_id} (获取临时素材,
   * https://developer.work.weixin.qq.com/document/path/96486, the same API for self-built apps):
   * the file with its Content-Type, or an error as JSON ({@code {"errcode":40007,"errmsg":"invalid media_id"}}), even
   * with HTTP 200.
   */
  @Override
  Future<InlineImage> image(Message message, String key, long maxBytes) {
    String call = "WeCom media/get";
    return withToken(token -> api.download(base + "/cgi-bin/media/get?access_token=" + encode(token)
          + "&media_id=" + encode(key), Map.of(), maxBytes, IMAGE_TIMEOUT_MILLIS),
        download -> TOKEN_REFUSED.contains(errcode(download)))
      .map(download -> {
        int code = errcode(download);
        if (download.status() == 200 && code == 0) {
          return InlineImage.of(call, download.contentType(), download.bytes());
        }
        String why = call + " answered HTTP " + download.status() + (code == 0 ? "" : " errcode " + code);
        throw code == MEDIA_TOO_LARGE ? ImageUnavailable.tooLarge(why) : ImageUnavailable.notFetched(why);
      });
  }

  /** The errcode of a download WeCom refused; 0 when it served a file. */
  private static int errcode(PlatformApi.Download download) {
    if (download.contentType() != null && download.contentType().toLowerCase(Locale.ROOT).startsWith("image/")) {
      return 0;
    }
    return download.json().getValue("errcode") instanceof Number n ? n.intValue() : 0;
  }

  @Override
  JsonObject encode(Message message) {
    return new JsonObject().put("id", message.id()).put("sender", message.sender()).put("text", message.text())
      .put("media_id", message.mediaId());
  }

  @Override
  Message decode(JsonObject json) {
    return new Message(json.getString("id"), json.getString("sender"), json.getString("text"),
      json.getString("media_id"));
  }

  @Override
  Future<Void> send(Message to, String text, String requestId, int part) {
    JsonObject body = new JsonObject().put("touser", to.sender()).put("msgtype", "text").put("agentid", agentId)
      .put("text", new JsonObject().put("content", text)).put("safe", 0);
    return withToken(token -> api.post(base + "/cgi-bin/message/send?access_token=" + encode(token), Map.of(), body),
        reply -> TOKEN_REFUSED.contains(reply.body().getInteger("errcode", 0)))
      .compose(reply -> {
        Integer code = reply.body().getInteger("errcode");
        if (reply.status() == 200 && code != null && code == 0) {
          return Future.succeededFuture();
        }
        return Future.failedFuture(failed("WeCom message/send", reply, code,
          reply.status() >= 500 || (code != null && BUSY.contains(code))));
      });
  }

  @Override
  protected Future<AccessToken.Grant> fetchToken() {
    return api.get(base + "/cgi-bin/gettoken?corpid=" + encode(corpId) + "&corpsecret=" + encode(corpSecret), Map.of())
      .compose(reply -> {
        String value = reply.body().getString("access_token");
        Integer code = reply.body().getInteger("errcode", 0);
        if (reply.status() != 200 || code != 0 || value == null) {
          return Future.failedFuture(failed("WeCom gettoken", reply, code,
            reply.status() >= 500 || BUSY.contains(code)));
        }
        return Future.succeededFuture(new AccessToken.Grant(value, reply.body().getLong("expires_in", 7200L) * 1000));
      });
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}

package io.switchboard.im;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;

import static io.switchboard.im.FakePlatforms.DING_APP_SECRET;
import static io.switchboard.im.FakePlatforms.FEISHU_ENCRYPT_KEY;
import static io.switchboard.im.FakePlatforms.FEISHU_VERIFICATION;
import static io.switchboard.im.FakePlatforms.WECOM_AES_KEY;
import static io.switchboard.im.FakePlatforms.WECOM_AGENT;
import static io.switchboard.im.FakePlatforms.WECOM_CALLBACK_TOKEN;
import static io.switchboard.im.FakePlatforms.WECOM_CORP;

/** Callbacks as WeCom, DingTalk and Feishu send them: encrypted and signed by each platform's documented rules. */
final class PlatformCallbacks {
  static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(5)).build();
  static final WeComCrypto WECOM = new WeComCrypto(WECOM_CALLBACK_TOKEN, WECOM_AES_KEY, WECOM_CORP);
  static final FeishuCrypto FEISHU = new FeishuCrypto(FEISHU_ENCRYPT_KEY);

  private PlatformCallbacks() {
  }

  /** A callback ready to be sent, as often and to as many nodes as a test likes. */
  record Prepared(String method, String pathAndQuery, String body, Map<String, String> headers) {
    HttpResponse<String> send(String baseUrl) {
      try {
        return CLIENT.send(request(baseUrl), HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    CompletableFuture<HttpResponse<String>> sendAsync(String baseUrl) {
      return CLIENT.sendAsync(request(baseUrl), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest request(String baseUrl) {
      HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl + pathAndQuery))
        .timeout(Duration.ofSeconds(30));
      headers.forEach(builder::header);
      return method.equals("GET") ? builder.GET().build()
        : builder.POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    Prepared withHeader(String name, String value) {
      Map<String, String> changed = new LinkedHashMap<>(headers);
      changed.put(name, value);
      return new Prepared(method, pathAndQuery, body, changed);
    }

    Prepared withBody(String newBody) {
      return new Prepared(method, pathAndQuery, newBody, headers);
    }

    Prepared withPath(String newPathAndQuery) {
      return new Prepared(method, newPathAndQuery, body, headers);
    }
  }

  static long nowSeconds() {
    return System.currentTimeMillis() / 1000;
  }

  static String nonce() {
    return Long.toString(ThreadLocalRandom.current().nextLong(1_000_000_000L, 9_999_999_999L));
  }

  private static byte[] random16() {
    byte[] random = new byte[16];
    ThreadLocalRandom.current().nextBytes(random);
    return random;
  }

  private static String q(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  // --- WeCom: XML, AES with the EncodingAESKey, msg_signature in the query string

  static Prepared wecomUrlCheck(String path, String echo, long timestamp) {
    String encrypted = WECOM.encrypt(echo, random16());
    String nonce = nonce();
    String signature = WECOM.signature(String.valueOf(timestamp), nonce, encrypted);
    return new Prepared("GET", path + "?msg_signature=" + signature + "&timestamp=" + timestamp + "&nonce=" + nonce
      + "&echostr=" + q(encrypted), "", Map.of());
  }

  static Prepared wecomText(String path, String user, String msgId, String text, long timestamp) {
    String xml = "<xml><ToUserName><![CDATA[" + WECOM_CORP + "]]></ToUserName><FromUserName><![CDATA[" + user
      + "]]></FromUserName><CreateTime>" + timestamp + "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA["
      + text + "]]></Content><MsgId>" + msgId + "</MsgId><AgentID>" + WECOM_AGENT + "</AgentID></xml>";
    return wecomEncrypted(path, xml, timestamp);
  }

  /** An image a member sent to the app (接收普通消息 → 图片消息): PicUrl and MediaId. */
  static Prepared wecomImage(String path, String user, String msgId, String mediaId, long timestamp) {
    String xml = "<xml><ToUserName><![CDATA[" + WECOM_CORP + "]]></ToUserName><FromUserName><![CDATA[" + user
      + "]]></FromUserName><CreateTime>" + timestamp + "</CreateTime><MsgType><![CDATA[image]]></MsgType>"
      + "<PicUrl><![CDATA[https://wework.qpic.cn/wwpic/" + mediaId + "/0]]></PicUrl><MediaId><![CDATA[" + mediaId
      + "]]></MediaId><MsgId>" + msgId + "</MsgId><AgentID>" + WECOM_AGENT + "</AgentID></xml>";
    return wecomEncrypted(path, xml, timestamp);
  }

  /** A voice message (语音消息): MediaId and Format amr, and Recognition when speech recognition is on (else null). */
  static Prepared wecomVoice(String path, String user, String msgId, String mediaId, String recognition,
                             long timestamp) {
    String xml = "<xml><ToUserName><![CDATA[" + WECOM_CORP + "]]></ToUserName><FromUserName><![CDATA[" + user
      + "]]></FromUserName><CreateTime>" + timestamp + "</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
      + "<MediaId><![CDATA[" + mediaId + "]]></MediaId><Format><![CDATA[amr]]></Format>"
      + (recognition == null ? "" : "<Recognition><![CDATA[" + recognition + "]]></Recognition>")
      + "<MsgId>" + msgId + "</MsgId><AgentID>" + WECOM_AGENT + "</AgentID></xml>";
    return wecomEncrypted(path, xml, timestamp);
  }

  static Prepared wecomEncrypted(String path, String xml, long timestamp) {
    String encrypted = WECOM.encrypt(xml, random16());
    String nonce = nonce();
    String signature = WECOM.signature(String.valueOf(timestamp), nonce, encrypted);
    String body = "<xml><ToUserName><![CDATA[" + WECOM_CORP + "]]></ToUserName><Encrypt><![CDATA[" + encrypted
      + "]]></Encrypt><AgentID><![CDATA[" + WECOM_AGENT + "]]></AgentID></xml>";
    return new Prepared("POST", path + "?msg_signature=" + signature + "&timestamp=" + timestamp + "&nonce=" + nonce,
      body, Map.of("content-type", "text/xml"));
  }

  // --- DingTalk: JSON, timestamp and sign headers

  static Prepared dingtalkText(String path, JsonObject message, long timestampMillis) {
    String timestamp = String.valueOf(timestampMillis);
    return new Prepared("POST", path, message.encode(), Map.of("content-type", "application/json; charset=utf-8",
      "timestamp", timestamp, "sign", DingTalkSignature.sign(timestamp, DING_APP_SECRET)));
  }

  static JsonObject dingtalkMessage(String msgId, String staffId, String text, boolean group, boolean atBot) {
    JsonObject message = new JsonObject()
      .put("conversationId", group ? "cidGroupAcme0001==" : "cidSingle" + staffId)
      .put("chatbotCorpId", "dingacmecorp").put("chatbotUserId", "$:LWCP_v1:$robot")
      .put("msgId", msgId).put("senderNick", "张三").put("isAdmin", false)
      .put("senderId", "$:LWCP_v1:$" + staffId)
      .put("sessionWebhookExpiredTime", System.currentTimeMillis() + 5_400_000L)
      .put("createAt", System.currentTimeMillis()).put("senderCorpId", "dingacmecorp")
      .put("conversationType", group ? "2" : "1").put("isInAtList", atBot)
      .put("sessionWebhook", "https://oapi.dingtalk.com/robot/sendBySession?session=" + msgId)
      .put("robotCode", FakePlatforms.DING_ROBOT)
      .put("text", new JsonObject().put("content", " " + text)).put("msgtype", "text");
    if (staffId != null) {
      message.put("senderStaffId", staffId);
    }
    if (group) {
      message.put("conversationTitle", "Acme team")
        .put("atUsers", new JsonArray().add(new JsonObject().put("dingtalkId", "$:LWCP_v1:$robot")));
    }
    return message;
  }

  /** A picture message: {@code msgtype: picture}, {@code content: {downloadCode, pictureDownloadCode}}. */
  static JsonObject dingtalkPicture(String msgId, String staffId, String downloadCode) {
    JsonObject message = dingtalkMessage(msgId, staffId, "", false, false).put("msgtype", "picture")
      .put("content", new JsonObject().put("downloadCode", downloadCode).put("pictureDownloadCode", "pic-" + downloadCode));
    message.remove("text");
    return message;
  }

  /** An audio message: {@code msgtype: audio}, {@code content: {duration, downloadCode, recognition?}}. */
  static JsonObject dingtalkAudio(String msgId, String staffId, String downloadCode, String recognition) {
    JsonObject content = new JsonObject().put("duration", "4000").put("downloadCode", downloadCode);
    if (recognition != null) {
      content.put("recognition", recognition);
    }
    JsonObject message = dingtalkMessage(msgId, staffId, "", false, false).put("msgtype", "audio")
      .put("content", content);
    message.remove("text");
    return message;
  }

  /** A rich-text message: {@code content.richText} of text items and picture items, in order. */
  static JsonObject dingtalkRichText(String msgId, String staffId, JsonArray items) {
    JsonObject message = dingtalkMessage(msgId, staffId, "", false, false).put("msgtype", "richText")
      .put("content", new JsonObject().put("richText", items));
    message.remove("text");
    return message;
  }

  static JsonObject dingtalkRichPicture(String downloadCode) {
    return new JsonObject().put("type", "picture").put("downloadCode", downloadCode)
      .put("pictureDownloadCode", "pic-" + downloadCode);
  }

  // --- Feishu: JSON encrypted with the Encrypt Key, X-Lark-* signature headers

  static Prepared feishuEncrypted(String path, JsonObject event, long timestampSeconds) {
    String body = new JsonObject().put("encrypt", FEISHU.encrypt(event.encode(), random16())).encode();
    String timestamp = String.valueOf(timestampSeconds);
    String nonce = nonce();
    return new Prepared("POST", path, body, Map.of("content-type", "application/json; charset=utf-8",
      "X-Lark-Request-Timestamp", timestamp, "X-Lark-Request-Nonce", nonce,
      "X-Lark-Signature", FEISHU.signature(timestamp, nonce, body.getBytes(StandardCharsets.UTF_8))));
  }

  static JsonObject feishuChallenge(String challenge, String token) {
    return new JsonObject().put("challenge", challenge).put("token", token).put("type", "url_verification");
  }

  record Mention(String key, String openId, String name) {
  }

  /** A message of another type: {@code message_type} and its {@code content} JSON (encoded into a string, as Feishu does). */
  static JsonObject feishuMessage(String eventId, String openId, String messageId, String type, JsonObject content) {
    JsonObject event = feishuMessage(eventId, openId, messageId, false, "", List.of());
    event.getJsonObject("event").getJsonObject("message").put("message_type", type).put("content", content.encode());
    return event;
  }

  static JsonObject feishuMessage(String eventId, String openId, String messageId, boolean group, String text,
                                  List<Mention> mentions) {
    JsonArray mentionArray = new JsonArray();
    for (Mention mention : mentions) {
      mentionArray.add(new JsonObject().put("key", mention.key()).put("name", mention.name())
        .put("tenant_key", "acme-tenant")
        .put("id", new JsonObject().put("open_id", mention.openId()).put("union_id", "on_" + mention.openId())));
    }
    return new JsonObject().put("schema", "2.0")
      .put("header", new JsonObject().put("event_id", eventId).put("token", FEISHU_VERIFICATION)
        .put("create_time", String.valueOf(System.currentTimeMillis())).put("event_type", "im.message.receive_v1")
        .put("tenant_key", "acme-tenant").put("app_id", FakePlatforms.FEISHU_APP_ID))
      .put("event", new JsonObject()
        .put("sender", new JsonObject().put("sender_type", "user").put("tenant_key", "acme-tenant")
          .put("sender_id", new JsonObject().put("open_id", openId).put("union_id", "on_" + openId)))
        .put("message", new JsonObject().put("message_id", messageId).put("create_time", "1700000000000")
          .put("chat_id", group ? "oc_group_acme" : "oc_p2p_" + openId).put("chat_type", group ? "group" : "p2p")
          .put("message_type", "text").put("content", new JsonObject().put("text", text).encode())
          .put("mentions", mentionArray)));
  }
}

package io.switchboard.im;

import io.switchboard.testing.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * WeCom's, DingTalk's and Feishu's APIs as far as a bot uses them (token endpoints checking the app's credentials,
 * send-message endpoints checking the token, media downloads answering files or the platform's own errors), plus an
 * OpenAI-compatible model, on one loopback port. Everything sent is recorded for tests to look at.
 */
final class FakePlatforms implements AutoCloseable {
  static final String WECOM_CORP = "ww-acme-corp";
  static final String WECOM_SECRET = "wecom-corp-secret-0123456789";
  static final String WECOM_CALLBACK_TOKEN = "wecomCallbackToken42";
  static final String WECOM_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
  static final String WECOM_AGENT = "1000002";
  static final String DING_APP_KEY = "dingacmeappkey0001";
  static final String DING_APP_SECRET = "ding-app-secret-0123456789abcdef";
  static final String DING_ROBOT = "dingacmerobot0001";
  static final String FEISHU_APP_ID = "cli_acme0001";
  static final String FEISHU_APP_SECRET = "feishu-app-secret-0123456789";
  static final String FEISHU_VERIFICATION = "feishu-verification-token-01";
  static final String FEISHU_ENCRYPT_KEY = "feishu-encrypt-key-01";
  static final String FEISHU_BOT_OPEN_ID = "ou_bot_acme";
  /** A question containing this gets a long (8,100-byte) answer from the fake model. */
  static final String LONG = "[long]";
  static final String LONG_ANSWER = "这是一段很长的回答，用来检验分段。".repeat(150);

  /** One message a bot sent: which API, the token it used, and the JSON it sent. */
  record Sent(String platform, String path, String token, JsonObject body) {
    /** The message text, wherever the platform's format puts it. */
    String text() {
      return switch (platform) {
        case "wecom" -> body.getJsonObject("text").getString("content");
        case "dingtalk" -> path.startsWith("/robot/sendBySession") ? body.getJsonObject("text").getString("content")
          : new JsonObject(body.getString("msgParam")).getString("content");
        default -> new JsonObject(body.getString("content")).getString("text");
      };
    }

    /** A WeCom application message to {@code user}. */
    static Predicate<Sent> wecomTo(String user) {
      return s -> s.platform().equals("wecom") && user.equals(s.body().getString("touser"));
    }

    /** A DingTalk robot message to {@code staffId}, one to one. */
    static Predicate<Sent> dingtalkTo(String staffId) {
      return s -> s.platform().equals("dingtalk") && s.body().containsKey("userIds")
        && s.body().getJsonArray("userIds").contains(staffId);
    }

    /** A Feishu reply to the message {@code messageId}. */
    static Predicate<Sent> feishuReplyTo(String messageId) {
      return s -> s.platform().equals("feishu")
        && s.path().equals("/open-apis/im/v1/messages/" + messageId + "/reply");
    }
  }

  /**
   * A file the platform holds for a received message.
   * @param chunked served without a Content-Length, in pieces (as a CDN may), so only reading it tells its size
   */
  record Media(byte[] bytes, String contentType, boolean chunked) {
  }

  final List<Sent> sent = new CopyOnWriteArrayList<>();
  /** Media downloads asked for, by platform and key, in order (refused ones included). */
  final List<String> mediaRequests = new CopyOnWriteArrayList<>();
  /** Media downloads refused because the token was no longer valid, by platform. */
  final List<String> mediaTokenRefusals = new CopyOnWriteArrayList<>();
  private final Map<String, Media> wecomMedia = new ConcurrentHashMap<>();
  private final Map<String, Media> dingtalkFiles = new ConcurrentHashMap<>();
  private final Map<String, String> feishuResourceTypes = new ConcurrentHashMap<>();
  private final Map<String, String> dingtalkLinkBases = new ConcurrentHashMap<>();
  /** Reads of DingTalk's temporary download links. */
  final AtomicInteger dingtalkLinkReads = new AtomicInteger();
  /** temporary download links handed out: path to downloadCode */
  private final Map<String, String> dingtalkLinks = new ConcurrentHashMap<>();
  /** message_id + "/" + file_key */
  private final Map<String, Media> feishuResources = new ConcurrentHashMap<>();
  /** Requests to the fake model, in order. */
  final List<JsonObject> modelCalls = new CopyOnWriteArrayList<>();
  /** Feishu replies whose uuid was seen before: answered as sent, not delivered again. */
  final List<String> feishuRepeats = new CopyOnWriteArrayList<>();
  private final Set<String> feishuUuids = ConcurrentHashMap.newKeySet();
  final AtomicInteger wecomTokenFetches = new AtomicInteger();
  final AtomicInteger dingtalkTokenFetches = new AtomicInteger();
  final AtomicInteger feishuTokenFetches = new AtomicInteger();
  private final Set<String> validTokens = ConcurrentHashMap.newKeySet();
  private final AtomicInteger issued = new AtomicInteger();
  private final HttpServer server;
  final int port;

  private FakePlatforms(HttpServer server, int port) {
    this.server = server;
    this.port = port;
  }

  static FakePlatforms start(Vertx vertx) throws Exception {
    int port = FreePorts.next();
    Router router = Router.router(vertx);
    router.route().handler(BodyHandler.create(false));
    HttpServer server = vertx.createHttpServer().requestHandler(router);
    FakePlatforms fake = new FakePlatforms(server, port);
    fake.routes(router);
    server.listen(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return fake;
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  /** The platform forgets every token it issued (as when one expires early): the next send is refused once. */
  void revokeTokens() {
    validTokens.clear();
  }

  /** WeCom holds {@code media} under {@code mediaId} (as after a member sent an image to the app). */
  void wecomMedia(String mediaId, Media media) {
    wecomMedia.put(mediaId, media);
  }

  /** DingTalk holds {@code media} for {@code downloadCode}. */
  void dingtalkFile(String downloadCode, Media media) {
    dingtalkFiles.put(downloadCode, media);
  }

  /** As {@link #dingtalkFile}, its download link on {@code linkBase} instead of this server's own URL. */
  void dingtalkFile(String downloadCode, Media media, String linkBase) {
    dingtalkFiles.put(downloadCode, media);
    dingtalkLinkBases.put(downloadCode, linkBase);
  }

  /** Feishu holds {@code media} as resource {@code fileKey} of message {@code messageId} (an image). */
  void feishuResource(String messageId, String fileKey, Media media) {
    feishuResource(messageId, fileKey, media, "image");
  }

  /** ... of the resource type Feishu serves it as: {@code image}, or {@code file} (files, audio, video). */
  void feishuResource(String messageId, String fileKey, Media media, String type) {
    feishuResources.put(messageId + "/" + fileKey, media);
    feishuResourceTypes.put(messageId + "/" + fileKey, type);
  }

  List<Sent> sentWhere(Predicate<Sent> which) {
    return sent.stream().filter(which).toList();
  }

  /**
   * A node config's YAML with the acme apps' credentials (these fakes accept them) written in for WECOM_APP,
   * DINGTALK_APP and FEISHU_APP.
   */
  static String withApps(String yaml) {
    return yaml.replace("WECOM_APP", "{corp_id: " + WECOM_CORP + ", corp_secret: " + WECOM_SECRET + ", token: "
        + WECOM_CALLBACK_TOKEN + ", encoding_aes_key: " + WECOM_AES_KEY + ", agent_id: \"" + WECOM_AGENT + "\"}")
      .replace("DINGTALK_APP", "{app_key: " + DING_APP_KEY + ", app_secret: " + DING_APP_SECRET + ", robot_code: "
        + DING_ROBOT + "}")
      .replace("FEISHU_APP", "{app_id: " + FEISHU_APP_ID + ", app_secret: " + FEISHU_APP_SECRET
        + ", verification_token: " + FEISHU_VERIFICATION + ", encrypt_key: " + FEISHU_ENCRYPT_KEY + "}");
  }

  /** Waits up to 10 s for {@code count} sends that match, then a little longer to catch any extra one. */
  List<Sent> awaitSent(Predicate<Sent> which, int count) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 10_000;
    while (sentWhere(which).size() < count && System.currentTimeMillis() < deadline) {
      Thread.sleep(20);
    }
    Thread.sleep(300);
    return sentWhere(which);
  }

  /** The text of the one answer a bot sent {@code to}, after waiting for it; fails when it answered twice. */
  String awaitAnswer(Predicate<Sent> to) throws InterruptedException {
    List<Sent> answers = awaitSent(to, 1);
    assertEquals(1, answers.size(), "answered exactly once: " + answers);
    return answers.get(0).text();
  }

  private String issue(String prefix) {
    String token = prefix + "-" + issued.incrementAndGet();
    validTokens.add(token);
    return token;
  }

  private void routes(Router router) {
    router.get("/cgi-bin/gettoken").handler(ctx -> {
      wecomTokenFetches.incrementAndGet();
      HttpServerRequest request = ctx.request();
      if (!WECOM_CORP.equals(request.getParam("corpid")) || !WECOM_SECRET.equals(request.getParam("corpsecret"))) {
        json(ctx, 200, new JsonObject().put("errcode", 40001).put("errmsg", "invalid credential"));
        return;
      }
      json(ctx, 200, new JsonObject().put("errcode", 0).put("errmsg", "ok").put("access_token", issue("wecom"))
        .put("expires_in", 7200));
    });
    router.post("/cgi-bin/message/send").handler(ctx -> {
      String token = ctx.request().getParam("access_token");
      if (!validTokens.contains(token)) {
        json(ctx, 200, new JsonObject().put("errcode", 42001).put("errmsg", "access_token expired"));
        return;
      }
      record(ctx, "wecom", token);
      json(ctx, 200, new JsonObject().put("errcode", 0).put("errmsg", "ok").put("invaliduser", "")
        .put("msgid", "msg-" + sent.size()));
    });

    router.post("/v1.0/oauth2/accessToken").handler(ctx -> {
      dingtalkTokenFetches.incrementAndGet();
      JsonObject body = ctx.body().asJsonObject();
      if (!DING_APP_KEY.equals(body.getString("appKey")) || !DING_APP_SECRET.equals(body.getString("appSecret"))) {
        json(ctx, 400, new JsonObject().put("code", "invalidClientIdOrSecret").put("message", "无效的clientId或者clientSecret"));
        return;
      }
      json(ctx, 200, new JsonObject().put("accessToken", issue("ding")).put("expireIn", 7200));
    });
    for (String path : List.of("/v1.0/robot/oToMessages/batchSend", "/v1.0/robot/groupMessages/send")) {
      router.post(path).handler(ctx -> {
        String token = ctx.request().getHeader("x-acs-dingtalk-access-token");
        if (!validTokens.contains(token)) {
          json(ctx, 401, new JsonObject().put("code", "InvalidAuthentication").put("message", "不合法的access_token"));
          return;
        }
        if (!DING_ROBOT.equals(ctx.body().asJsonObject().getString("robotCode"))) {
          json(ctx, 400, new JsonObject().put("code", "resource.not.found").put("message", "robot 不存在"));
          return;
        }
        record(ctx, "dingtalk", token);
        json(ctx, 200, new JsonObject().put("processQueryKey", "pqk-" + sent.size())
          .put("invalidStaffIdList", new JsonArray()).put("flowControlledStaffIdList", new JsonArray()));
      });
    }
    router.post("/robot/sendBySession").handler(ctx -> {
      record(ctx, "dingtalk", null);
      json(ctx, 200, new JsonObject().put("errcode", 0).put("errmsg", "ok"));
    });

    router.post("/open-apis/auth/v3/tenant_access_token/internal").handler(ctx -> {
      feishuTokenFetches.incrementAndGet();
      JsonObject body = ctx.body().asJsonObject();
      if (!FEISHU_APP_ID.equals(body.getString("app_id")) || !FEISHU_APP_SECRET.equals(body.getString("app_secret"))) {
        json(ctx, 400, new JsonObject().put("code", 10014).put("msg", "app secret invalid"));
        return;
      }
      json(ctx, 200, new JsonObject().put("code", 0).put("msg", "ok").put("tenant_access_token", issue("t"))
        .put("expire", 7200));
    });
    router.get("/open-apis/bot/v3/info").handler(ctx -> {
      if (!validTokens.contains(bearer(ctx))) {
        json(ctx, 400, new JsonObject().put("code", 99991663).put("msg", "Invalid access token for authorization."));
        return;
      }
      json(ctx, 200, new JsonObject().put("code", 0).put("msg", "ok").put("bot", new JsonObject()
        .put("activate_status", 2).put("app_name", "acme").put("open_id", FEISHU_BOT_OPEN_ID)));
    });
    router.post("/open-apis/im/v1/messages/:message_id/reply").handler(ctx -> {
      String token = bearer(ctx);
      if (!validTokens.contains(token)) {
        json(ctx, 400, new JsonObject().put("code", 99991663).put("msg", "Invalid access token for authorization."));
        return;
      }
      String uuid = ctx.body().asJsonObject().getString("uuid");
      if (uuid != null && !feishuUuids.add(uuid)) {
        feishuRepeats.add(uuid); // Feishu sends at most one message per uuid within an hour
      } else {
        record(ctx, "feishu", token);
      }
      json(ctx, 200, new JsonObject().put("code", 0).put("msg", "success")
        .put("data", new JsonObject().put("message_id", "om_reply_" + sent.size())));
    });

    mediaRoutes(router);

    router.post("/v1/chat/completions").handler(ctx -> {
      JsonObject request = ctx.body().asJsonObject();
      modelCalls.add(request);
      JsonArray messages = request.getJsonArray("messages");
      String question = messages.getJsonObject(messages.size() - 1).getString("content");
      String answer = question.contains(LONG) ? LONG_ANSWER : "echo: " + question;
      json(ctx, 200, new JsonObject().put("id", "chatcmpl-fake").put("object", "chat.completion")
        .put("model", request.getString("model"))
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("finish_reason", "stop")
          .put("message", new JsonObject().put("role", "assistant").put("content", answer))))
        .put("usage", new JsonObject().put("prompt_tokens", messages.encode().length() / 4)
          .put("completion_tokens", answer.length()).put("total_tokens", 0)));
    });
  }

  private void mediaRoutes(Router router) {
    // 获取临时素材: the file with its Content-Type and Content-disposition, or errcode JSON with HTTP 200
    router.get("/cgi-bin/media/get").handler(ctx -> {
      String mediaId = ctx.request().getParam("media_id");
      mediaRequests.add("wecom:" + mediaId);
      if (!validTokens.contains(ctx.request().getParam("access_token"))) {
        mediaTokenRefusals.add("wecom");
        json(ctx, 200, new JsonObject().put("errcode", 42001).put("errmsg", "access_token expired, hint: [1700000000_"
          + "fake], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=42001"));
        return;
      }
      Media media = mediaId == null ? null : wecomMedia.get(mediaId);
      if (media == null) {
        json(ctx, 200, new JsonObject().put("errcode", 40007).put("errmsg", "invalid media_id"));
        return;
      }
      ctx.response().putHeader("Content-disposition", "attachment; filename=\"" + mediaId
          + (media.contentType().startsWith("audio/amr") ? ".amr" : ".jpg") + "\"")
        .putHeader("Cache-Control", "no-cache, must-revalidate");
      serve(ctx, media);
    });

    // 下载机器人接收消息的文件内容: a temporary downloadUrl, then the file at that link
    router.post("/v1.0/robot/messageFiles/download").handler(ctx -> {
      JsonObject body = ctx.body().asJsonObject();
      String code = body == null ? null : body.getString("downloadCode");
      mediaRequests.add("dingtalk:" + code);
      if (!validTokens.contains(ctx.request().getHeader("x-acs-dingtalk-access-token"))) {
        mediaTokenRefusals.add("dingtalk");
        json(ctx, 401, new JsonObject().put("code", "InvalidAuthentication").put("message", "不合法的access_token")
          .put("requestid", "fake-" + issued.get()));
        return;
      }
      if (!DING_ROBOT.equals(body.getString("robotCode"))) {
        json(ctx, 400, new JsonObject().put("code", "resource.not.found").put("message", "robot 不存在"));
        return;
      }
      if (code == null || !dingtalkFiles.containsKey(code)) {
        // the v1.0 API's error shape; the exact code for a stale downloadCode is not documented
        json(ctx, 400, new JsonObject().put("code", "InvalidParameter").put("message", "downloadCode 无效")
          .put("requestid", "fake-" + issued.get()));
        return;
      }
      String path = "/dingtalk-files/" + Integer.toHexString(code.hashCode()) + "-" + issued.incrementAndGet()
        + ".file";
      dingtalkLinks.put(path, code);
      json(ctx, 200, new JsonObject().put("downloadUrl", dingtalkLinkBases.getOrDefault(code, url()) + path + "?Expires=1700003600&OSSAccessKeyId=fake"
        + "&Signature=c2lnbmF0dXJl"));
    });
    router.get("/dingtalk-files/:file").handler(ctx -> {
      dingtalkLinkReads.incrementAndGet();
      String code = dingtalkLinks.get(ctx.request().path());
      if (code == null || ctx.request().getParam("Signature") == null) {
        ctx.response().setStatusCode(403).putHeader("content-type", "application/xml")
          .end("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code></Error>");
        return;
      }
      serve(ctx, dingtalkFiles.get(code));
    });

    // 获取消息中的资源文件: the file with its Content-Type, or {"code","msg"} with a 400
    router.get("/open-apis/im/v1/messages/:message_id/resources/:file_key").handler(ctx -> {
      String key = ctx.pathParam("message_id") + "/" + ctx.pathParam("file_key");
      mediaRequests.add("feishu:" + key);
      if (!validTokens.contains(bearer(ctx))) {
        mediaTokenRefusals.add("feishu");
        json(ctx, 400, new JsonObject().put("code", 99991663).put("msg", "Invalid access token for authorization."));
        return;
      }
      String type = ctx.request().getParam("type");
      if (!"image".equals(type) && !"file".equals(type)) {
        json(ctx, 400, new JsonObject().put("code", 234001).put("msg", "Invalid request param."));
        return;
      }
      Media media = feishuResources.get(key);
      if (media != null && !type.equals(feishuResourceTypes.get(key))) {
        // an audio message's resource is a file: asked for as an image, it is not found as one
        json(ctx, 400, new JsonObject().put("code", 234001).put("msg", "Invalid request param."));
        return;
      }
      if (media == null) {
        json(ctx, 400, new JsonObject().put("code", 234003).put("msg", "File not in msg."));
        return;
      }
      serve(ctx, media);
    });
  }

  private static void serve(RoutingContext ctx, Media media) {
    ctx.response().setStatusCode(200).putHeader("content-type", media.contentType());
    if (!media.chunked()) {
      ctx.response().end(Buffer.buffer(media.bytes()));
      return;
    }
    ctx.response().setChunked(true);
    for (int at = 0; at < media.bytes().length; at += 65_536) {
      ctx.response().write(Buffer.buffer(Arrays.copyOfRange(media.bytes(), at,
        Math.min(media.bytes().length, at + 65_536))));
    }
    ctx.response().end();
  }

  private void record(RoutingContext ctx, String platform, String token) {
    sent.add(new Sent(platform, ctx.request().path(), token, ctx.body().asJsonObject()));
  }

  private static String bearer(RoutingContext ctx) {
    String header = ctx.request().getHeader("authorization");
    return header != null && header.startsWith("Bearer ") ? header.substring(7) : null;
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }

  @Override
  public void close() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}

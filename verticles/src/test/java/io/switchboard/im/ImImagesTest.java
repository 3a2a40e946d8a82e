package io.switchboard.im;

import io.switchboard.im.FakePlatforms.Media;
import io.switchboard.im.FakePlatforms.Sent;
import io.switchboard.im.PlatformCallbacks.Prepared;
import io.switchboard.testing.FakeOpenAi;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

import static io.switchboard.im.FakePlatforms.Sent.dingtalkTo;
import static io.switchboard.im.FakePlatforms.Sent.feishuReplyTo;
import static io.switchboard.im.FakePlatforms.Sent.wecomTo;
import static io.switchboard.im.PlatformCallbacks.dingtalkPicture;
import static io.switchboard.im.PlatformCallbacks.dingtalkRichPicture;
import static io.switchboard.im.PlatformCallbacks.dingtalkRichText;
import static io.switchboard.im.PlatformCallbacks.dingtalkText;
import static io.switchboard.im.PlatformCallbacks.feishuEncrypted;
import static io.switchboard.im.PlatformCallbacks.feishuMessage;
import static io.switchboard.im.PlatformCallbacks.nowSeconds;
import static io.switchboard.im.PlatformCallbacks.wecomImage;
import static io.switchboard.im.PlatformCallbacks.wecomText;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Images sent to the bots: fetched through each platform's media API (fakes speaking the real protocols, errors
 * included) and handed to a vision model (a fake OpenAI upstream that records what it was sent) as image parts of
 * one user message, the bytes exactly as the platform served them.
 */
@Timeout(120)
class ImImagesTest {
  static final String WECOM = "/im/wecom/acme-wecom";
  static final String DING = "/im/dingtalk/acme-ding";
  static final String FEISHU = "/im/feishu/acme-feishu";
  /** What the fake model says when the last user message has an image part with a data: URL. */
  static final String SEES = "I see an image (data).";

  private static Vertx vertx;
  private static FakePlatforms fake;
  private static FakeOpenAi model;
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    fake = FakePlatforms.start(vertx);
    model = new FakeOpenAi();
    node = TestNode.start("""
      server: {request_timeout_ms: 20000}
      auth:
        enabled: true
        keys: [{key: test-key-acme-0123456789, tenant: acme}]
      model_list:
        - model_name: vision
          provider: openai
          api_base: MODEL
          api_key: fake-upstream-key-0123456789
      session: {store: memory}
      im_channels:
        - name: acme-wecom
          platform: wecom
          tenant: acme
          model: vision
          api_base: FAKE
          credentials: WECOM_APP
        - name: acme-ding
          platform: dingtalk
          tenant: acme
          model: vision
          api_base: FAKE
          credentials: DINGTALK_APP
        - name: acme-feishu
          platform: feishu
          tenant: acme
          model: vision
          api_base: FAKE
          credentials: FEISHU_APP
      """.transform(FakePlatforms::withApps)
        .replace("FAKE", fake.url()).replace("MODEL", model.baseUrl()),
      // one connection verticle instance: one token per platform, so a refused token is seen exactly once
      Map.of("SWITCHBOARD_SERVER_INSTANCES", "1"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    if (model != null) {
      model.close();
    }
    if (fake != null) {
      fake.close();
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  private static String unique(String prefix) {
    return prefix + "-" + System.nanoTime();
  }

  /** A JPEG (by its magic bytes) of random content, so no two tests send the same bytes. */
  static byte[] jpeg(int size) {
    return image(size, 0xFF, 0xD8, 0xFF, 0xE0);
  }

  static byte[] png(int size) {
    return image(size, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A);
  }

  private static byte[] image(int size, int... magic) {
    byte[] bytes = new byte[size];
    ThreadLocalRandom.current().nextBytes(bytes);
    for (int i = 0; i < magic.length; i++) {
      bytes[i] = (byte) magic[i];
    }
    return bytes;
  }

  private static String dataUrl(String mime, byte[] bytes) {
    return "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(bytes);
  }

  private static void acknowledged(Prepared callback) {
    HttpResponse<String> response = callback.send(node.baseUrl());
    assertEquals(200, response.statusCode(), response.body());
  }

  /** The model request whose last message is the user message with this image (there must be exactly one). */
  private static JsonArray userPartsCarrying(String dataUrl) {
    List<JsonObject> carrying = model.requests.stream().filter(r -> {
      JsonArray messages = r.getJsonArray("messages");
      return messages.getJsonObject(messages.size() - 1).encode().contains(dataUrl);
    }).toList();
    assertEquals(1, carrying.size(), "one model call carries the image");
    JsonArray messages = carrying.get(0).getJsonArray("messages");
    JsonObject user = messages.getJsonObject(messages.size() - 1);
    assertEquals("user", user.getString("role"));
    return user.getJsonArray("content");
  }

  private static JsonObject imagePart(String dataUrl) {
    return new JsonObject().put("type", "image_url").put("image_url", new JsonObject().put("url", dataUrl));
  }

  private static JsonObject textPart(String text) {
    return new JsonObject().put("type", "text").put("text", text);
  }

  // --- WeCom

  @Test
  void an_image_sent_on_wecom_reaches_the_model_with_its_exact_bytes_once_though_wecom_resends_it() throws Exception {
    String user = unique("zhangsan");
    String mediaId = unique("1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0");
    byte[] bytes = jpeg(48_213);
    fake.wecomMedia(mediaId, new Media(bytes, "image/jpeg", false));
    Prepared callback = wecomImage(WECOM, user, String.valueOf(System.nanoTime()), mediaId, nowSeconds());
    acknowledged(callback);
    acknowledged(callback);

    String answer = fake.awaitAnswer(wecomTo(user));
    assertTrue(answer.startsWith(SEES), "the model saw an image: " + answer);
    assertEquals(new JsonArray().add(imagePart(dataUrl("image/jpeg", bytes))),
      userPartsCarrying(dataUrl("image/jpeg", bytes)), "one image part, no empty text part");
    assertEquals(1, fake.mediaRequests.stream().filter(("wecom:" + mediaId)::equals).count(),
      "the re-sent callback fetched nothing");
  }

  @Test
  void a_wrong_wecom_media_id_gets_a_clear_answer_and_no_model_call() throws Exception {
    String user = unique("lisi");
    int calls = model.requests.size();
    acknowledged(wecomImage(WECOM, user, String.valueOf(System.nanoTime()), unique("no-such-media"), nowSeconds()));
    assertEquals(ImageUnavailable.Reason.NOT_FETCHED.answer(), fake.awaitAnswer(wecomTo(user)));
    assertEquals(calls, model.requests.size(), "the model was not asked");
  }

  @Test
  void the_next_turn_carries_the_image_from_memory() throws Exception {
    String user = unique("wangwu");
    String mediaId = unique("media-remembered");
    byte[] bytes = png(2_000);
    fake.wecomMedia(mediaId, new Media(bytes, "image/png", false));
    acknowledged(wecomImage(WECOM, user, String.valueOf(System.nanoTime()), mediaId, nowSeconds()));
    fake.awaitAnswer(wecomTo(user));
    Thread.sleep(300); // the turn is stored after its answer went out

    acknowledged(wecomText(WECOM, user, String.valueOf(System.nanoTime()), "and what colour was it?", nowSeconds()));
    assertEquals(2, fake.awaitSent(wecomTo(user), 2).size());
    JsonArray prompt = model.last().getJsonArray("messages");
    assertEquals(List.of("user", "assistant", "user"),
      prompt.stream().map(m -> ((JsonObject) m).getString("role")).toList());
    assertEquals(new JsonArray().add(imagePart(dataUrl("image/png", bytes))), prompt.getJsonObject(0)
      .getJsonArray("content"), "the stored turn kept its image part");
    assertEquals("and what colour was it?", prompt.getJsonObject(2).getString("content"));
  }

  // --- DingTalk

  @Test
  void a_dingtalk_picture_reaches_the_model_through_its_download_link() throws Exception {
    String staff = unique("staff");
    String code = unique("mIofN81Aa+zoRgzXipAMzmV5uhVKUlBdjKugAIvsm");
    byte[] bytes = png(31_337);
    // the link serves the file as a generic download: the bytes tell it is a PNG
    fake.dingtalkFile(code, new Media(bytes, "application/octet-stream", true));
    acknowledged(dingtalkText(DING, dingtalkPicture(unique("msg"), staff, code), System.currentTimeMillis()));

    String answer = fake.awaitAnswer(dingtalkTo(staff));
    assertTrue(answer.startsWith(SEES), answer);
    assertEquals(new JsonArray().add(imagePart(dataUrl("image/png", bytes))), userPartsCarrying(dataUrl("image/png",
      bytes)));
  }

  @Test
  void a_dingtalk_download_link_that_is_not_https_is_not_followed() throws Exception {
    String staff = unique("staff");
    String code = unique("code-plain-http");
    // reachable, but on another origin than the channel's api_base, over plain HTTP
    fake.dingtalkFile(code, new Media(png(1_000), "image/png", false), "http://localhost:" + fake.port);
    int reads = fake.dingtalkLinkReads.get();
    int calls = model.requests.size();
    acknowledged(dingtalkText(DING, dingtalkPicture(unique("msg"), staff, code), System.currentTimeMillis()));
    assertEquals(ImageUnavailable.Reason.NOT_FETCHED.answer(), fake.awaitAnswer(dingtalkTo(staff)));
    assertEquals(reads, fake.dingtalkLinkReads.get(), "the link was not read");
    assertEquals(calls, model.requests.size());
  }

  @Test
  void a_dingtalk_rich_text_sends_its_words_and_pictures_as_one_user_message() throws Exception {
    String staff = unique("staff");
    String first = unique("code-a");
    String second = unique("code-b");
    byte[] one = jpeg(5_000);
    byte[] two = png(7_000);
    fake.dingtalkFile(first, new Media(one, "image/jpeg", false));
    fake.dingtalkFile(second, new Media(two, "image/png", false));
    JsonArray items = new JsonArray().add(new JsonObject().put("text", "这两张图有什么不同？"))
      .add(dingtalkRichPicture(first)).add(new JsonObject().put("text", "\nbe brief")).add(dingtalkRichPicture(second));
    acknowledged(dingtalkText(DING, dingtalkRichText(unique("msg"), staff, items), System.currentTimeMillis()));

    assertTrue(fake.awaitAnswer(dingtalkTo(staff)).startsWith("I see an image (data). I see an image (data)."));
    assertEquals(new JsonArray().add(textPart("这两张图有什么不同？\nbe brief"))
        .add(imagePart(dataUrl("image/jpeg", one))).add(imagePart(dataUrl("image/png", two))),
      userPartsCarrying(dataUrl("image/jpeg", one)), "the text, then the pictures in order");
  }

  // --- Feishu

  @Test
  void a_feishu_image_message_reaches_the_model_with_its_exact_bytes() throws Exception {
    String messageId = unique("om_image");
    String key = unique("img_v3_02ab_8e1c");
    byte[] bytes = jpeg(64_000);
    fake.feishuResource(messageId, key, new Media(bytes, "image/jpeg", false));
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), unique("ou_user"), messageId, "image",
      new JsonObject().put("image_key", key)), nowSeconds()));

    assertTrue(fake.awaitAnswer(feishuReplyTo(messageId)).startsWith(SEES));
    assertEquals(new JsonArray().add(imagePart(dataUrl("image/jpeg", bytes))),
      userPartsCarrying(dataUrl("image/jpeg", bytes)));
  }

  @Test
  void a_feishu_post_sends_its_text_and_its_image_as_one_user_message() throws Exception {
    String messageId = unique("om_post");
    String key = unique("img_v3_02ab_post");
    byte[] bytes = png(9_999);
    fake.feishuResource(messageId, key, new Media(bytes, "image/png", false));
    JsonObject post = new JsonObject().put("title", "").put("content", new JsonArray()
      .add(new JsonArray().add(new JsonObject().put("tag", "text").put("text", "what is on this whiteboard?")))
      .add(new JsonArray().add(new JsonObject().put("tag", "img").put("image_key", key).put("width", 800)
        .put("height", 600))));
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), unique("ou_user"), messageId, "post", post),
      nowSeconds()));

    assertTrue(fake.awaitAnswer(feishuReplyTo(messageId)).startsWith(SEES));
    assertEquals(new JsonArray().add(textPart("what is on this whiteboard?"))
      .add(imagePart(dataUrl("image/png", bytes))), userPartsCarrying(dataUrl("image/png", bytes)));
  }

  @Test
  void a_file_that_is_not_an_image_gets_a_clear_answer_and_no_model_call() throws Exception {
    String messageId = unique("om_pdf");
    String key = unique("img_v3_pdf");
    byte[] pdf = "%PDF-1.7\n1 0 obj <<>> endobj\n".getBytes(StandardCharsets.US_ASCII);
    fake.feishuResource(messageId, key, new Media(pdf, "application/pdf", false));
    int calls = model.requests.size();
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), unique("ou_user"), messageId, "image",
      new JsonObject().put("image_key", key)), nowSeconds()));
    assertEquals(ImageUnavailable.Reason.NOT_AN_IMAGE.answer(), fake.awaitAnswer(feishuReplyTo(messageId)));
    assertEquals(calls, model.requests.size());
  }

  // --- all three

  @Test
  void an_expired_token_refused_by_a_media_api_is_fetched_again_once_on_every_platform() throws Exception {
    String user = unique("token-user");
    String staff = unique("staff");
    String messageId = unique("om_token");
    byte[] wecomBytes = jpeg(3_000);
    byte[] dingBytes = png(3_000);
    byte[] feishuBytes = jpeg(3_001);
    String mediaId = unique("media-token");
    String code = unique("code-token");
    String key = unique("img_v3_token");
    fake.wecomMedia(mediaId, new Media(wecomBytes, "image/jpeg", false));
    fake.dingtalkFile(code, new Media(dingBytes, "image/png", false));
    fake.feishuResource(messageId, key, new Media(feishuBytes, "image/jpeg", false));
    // every bot holds a token first, then the platforms forget them all
    acknowledged(wecomText(WECOM, user, String.valueOf(System.nanoTime()), "warm up", nowSeconds()));
    fake.awaitAnswer(wecomTo(user));
    String warmStaff = unique("staff-warm");
    acknowledged(dingtalkText(DING, PlatformCallbacks.dingtalkMessage(unique("msg"), warmStaff, "warm up", false,
      false), System.currentTimeMillis()));
    fake.awaitAnswer(dingtalkTo(warmStaff));
    String warmMessage = unique("om_warm");
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), unique("ou_warm"), warmMessage, false, "warm up",
      List.of()), nowSeconds()));
    fake.awaitAnswer(feishuReplyTo(warmMessage));
    int refusals = fake.mediaTokenRefusals.size();
    fake.revokeTokens();

    acknowledged(wecomImage(WECOM, user, String.valueOf(System.nanoTime()), mediaId, nowSeconds()));
    acknowledged(dingtalkText(DING, dingtalkPicture(unique("msg"), staff, code), System.currentTimeMillis()));
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), unique("ou_user"), messageId, "image",
      new JsonObject().put("image_key", key)), nowSeconds()));

    assertTrue(fake.awaitSent(wecomTo(user), 2).get(1).text().startsWith(SEES));
    assertTrue(fake.awaitAnswer(dingtalkTo(staff)).startsWith(SEES));
    assertTrue(fake.awaitAnswer(feishuReplyTo(messageId)).startsWith(SEES));
    userPartsCarrying(dataUrl("image/jpeg", wecomBytes));
    userPartsCarrying(dataUrl("image/png", dingBytes));
    userPartsCarrying(dataUrl("image/jpeg", feishuBytes));
    List<String> refused = fake.mediaTokenRefusals.subList(refusals, fake.mediaTokenRefusals.size());
    assertEquals(List.of("dingtalk", "feishu", "wecom"), refused.stream().sorted().toList(),
      "each media API refused the old token once (42001, InvalidAuthentication, 99991663) and took the new one");
  }

  @Test
  void a_too_large_image_gets_a_clear_answer_and_no_model_call() throws Exception {
    int calls = model.requests.size();
    byte[] big = jpeg((int) Bot.MAX_IMAGE_BYTES + 1);

    String user = unique("big-sender");
    String mediaId = unique("media-big");
    fake.wecomMedia(mediaId, new Media(big, "image/jpeg", false)); // with a Content-Length: refused before reading
    acknowledged(wecomImage(WECOM, user, String.valueOf(System.nanoTime()), mediaId, nowSeconds()));

    String staff = unique("staff-big");
    String code = unique("code-big");
    fake.dingtalkFile(code, new Media(big, "application/octet-stream", true)); // streamed: refused at the limit
    acknowledged(dingtalkText(DING, dingtalkPicture(unique("msg"), staff, code), System.currentTimeMillis()));

    assertEquals(ImageUnavailable.Reason.TOO_LARGE.answer(), fake.awaitAnswer(wecomTo(user)));
    assertEquals(ImageUnavailable.Reason.TOO_LARGE.answer(), fake.awaitAnswer(dingtalkTo(staff)));
    assertEquals(calls, model.requests.size(), "the model was not asked");
  }

  @Test
  void more_images_than_a_message_may_carry_get_a_clear_answer_and_nothing_is_fetched() throws Exception {
    String staff = unique("staff-many");
    JsonArray items = new JsonArray().add(new JsonObject().put("text", "compare these"));
    for (int i = 0; i <= Bot.MAX_IMAGES; i++) {
      items.add(dingtalkRichPicture(unique("code-many-" + i)));
    }
    int fetches = fake.mediaRequests.size();
    acknowledged(dingtalkText(DING, dingtalkRichText(unique("msg"), staff, items), System.currentTimeMillis()));
    assertEquals(ImageUnavailable.Reason.TOO_MANY.answer(), fake.awaitAnswer(dingtalkTo(staff)));
    assertEquals(fetches, fake.mediaRequests.size());
  }

}

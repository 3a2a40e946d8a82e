package io.switchboard.im;

import io.switchboard.im.FakePlatforms.Media;
import io.switchboard.im.FakePlatforms.Sent;
import io.switchboard.im.PlatformCallbacks.Prepared;
import io.switchboard.testing.Audio;
import io.switchboard.testing.FakeOpenAi;
import io.switchboard.testing.FreePorts;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static io.switchboard.im.FakePlatforms.Sent.dingtalkTo;
import static io.switchboard.im.FakePlatforms.Sent.wecomTo;
import static io.switchboard.im.PlatformCallbacks.dingtalkAudio;
import static io.switchboard.im.PlatformCallbacks.dingtalkText;
import static io.switchboard.im.PlatformCallbacks.feishuEncrypted;
import static io.switchboard.im.PlatformCallbacks.feishuMessage;
import static io.switchboard.im.PlatformCallbacks.nowSeconds;
import static io.switchboard.im.PlatformCallbacks.wecomVoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Voice messages sent to the bots: fetched through each platform's media API (fakes speaking the real protocols,
 * refusing what the platforms refuse), transcribed through the gateway (the simulator, which hears the words the
 * audio file carries), and answered as the text they say by the chat model (a fake OpenAI upstream recording what it
 * was asked). A platform's own recognition is used as it is; audio that cannot be heard gets a polite note.
 */
@Timeout(120)
class ImVoiceTest {
  static final String WECOM = "/im/wecom/acme-wecom";
  static final String DING = "/im/dingtalk/acme-ding";
  static final String FEISHU = "/im/feishu/acme-feishu";
  static final String SILENT_WECOM = "/im/wecom/deaf-wecom";

  private static Vertx vertx;
  private static FakePlatforms fake;
  private static FakeOpenAi model;
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    fake = FakePlatforms.start(vertx);
    model = new FakeOpenAi();
    String wecom = """
          api_base: FAKE
          credentials: WECOM_APP
      """;
    node = TestNode.start(("""
      server: {request_timeout_ms: 20000}
      auth:
        enabled: true
        keys: [{key: test-key-acme-0123456789, tenant: acme}]
      simulator: {port: %d, ttft_ms: 2}
      model_list:
        - model_name: assistant
          provider: openai
          api_base: MODEL
          api_key: fake-upstream-key-0123456789
        - model_name: whisper
          provider: simulator
          model_info: {mode: audio_transcription}
      session: {store: memory}
      im_channels:
        - name: acme-wecom
          platform: wecom
          tenant: acme
          model: assistant
          transcription_model: whisper
      """ + wecom + """
        - name: deaf-wecom
          platform: wecom
          tenant: acme
          model: assistant
      """ + wecom + """
        - name: acme-ding
          platform: dingtalk
          tenant: acme
          model: assistant
          transcription_model: whisper
          api_base: FAKE
          credentials: DINGTALK_APP
        - name: acme-feishu
          platform: feishu
          tenant: acme
          model: assistant
          transcription_model: whisper
          api_base: FAKE
          credentials: FEISHU_APP
      """).formatted(FreePorts.next()).transform(FakePlatforms::withApps)
        .replace("FAKE", fake.url()).replace("MODEL", model.baseUrl()),
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

  private static void acknowledged(Prepared callback) {
    HttpResponse<String> response = callback.send(node.baseUrl());
    assertEquals(200, response.statusCode(), response.body());
  }

  /** The model was asked exactly once with the words as the user's last message, a plain string. */
  private static void askedOnceWith(String words) {
    List<JsonObject> asked = model.requests.stream().filter(r -> {
      JsonArray messages = r.getJsonArray("messages");
      return words.equals(messages.getJsonObject(messages.size() - 1).getValue("content"));
    }).toList();
    assertEquals(1, asked.size(), "one model call asks '" + words + "': " + model.requests);
  }

  @Test
  void a_wecom_voice_message_is_fetched_as_amr_transcribed_and_answered_once_though_wecom_resends_it()
    throws Exception {
    String user = unique("zhangsan");
    String mediaId = unique("1Ua3vOoQ5Ma0sEcGNz-voice");
    String words = "明天上午十点开会吗 " + user;
    fake.wecomMedia(mediaId, new Media(Audio.amr(words), "audio/amr", false));
    Prepared callback = wecomVoice(WECOM, user, String.valueOf(System.nanoTime()), mediaId, null, nowSeconds());
    acknowledged(callback);
    acknowledged(callback);
    assertFalse(fake.awaitAnswer(wecomTo(user)).isBlank());
    askedOnceWith(words);
    assertEquals(1, fake.mediaRequests.stream().filter(("wecom:" + mediaId)::equals).count(),
      "fetched once, through media/get");
  }

  @Test
  void wecoms_own_recognition_is_used_and_nothing_is_fetched() throws Exception {
    String user = unique("lisi");
    String mediaId = unique("voice-recognised");
    String words = "帮我查一下天气 " + user;
    acknowledged(wecomVoice(WECOM, user, String.valueOf(System.nanoTime()), mediaId, words, nowSeconds()));
    assertFalse(fake.awaitAnswer(wecomTo(user)).isBlank());
    askedOnceWith(words);
    assertFalse(fake.mediaRequests.contains("wecom:" + mediaId), "WeCom's recognition needs no download");
  }

  @Test
  void a_channel_without_a_transcription_model_asks_politely_for_text() throws Exception {
    String user = unique("wangwu");
    String mediaId = unique("voice-unheard");
    fake.wecomMedia(mediaId, new Media(Audio.amr("never heard"), "audio/amr", false));
    acknowledged(wecomVoice(SILENT_WECOM, user, String.valueOf(System.nanoTime()), mediaId, null, nowSeconds()));
    assertEquals(ImAnswers.VOICE_UNSUPPORTED, fake.awaitAnswer(wecomTo(user)));
    assertEquals(0, model.calls("never heard"));
  }

  @Test
  void audio_that_cannot_be_heard_gets_a_polite_note_and_the_model_is_not_asked() throws Exception {
    String user = unique("zhaoliu");
    String mediaId = unique("voice-garbage");
    fake.wecomMedia(mediaId, new Media("this is no audio at all".getBytes(), "audio/amr", false));
    acknowledged(wecomVoice(WECOM, user, String.valueOf(System.nanoTime()), mediaId, null, nowSeconds()));
    assertEquals(ImAnswers.VOICE_APOLOGY, fake.awaitAnswer(wecomTo(user)));
    String missing = unique("voice-expired");
    String other = unique("sunqi");
    acknowledged(wecomVoice(WECOM, other, String.valueOf(System.nanoTime()), missing, null, nowSeconds()));
    assertEquals(ImAnswers.VOICE_APOLOGY, fake.awaitAnswer(wecomTo(other)), "WeCom's invalid media_id: the same note");
  }

  @Test
  void a_dingtalk_audio_message_is_downloaded_in_two_steps_and_transcribed() throws Exception {
    String staff = unique("staff");
    String code = unique("dl-audio");
    String words = "please summarise the weekly report " + staff;
    fake.dingtalkFile(code, new Media(Audio.amr(words), "application/octet-stream", true));
    acknowledged(dingtalkText(DING, dingtalkAudio(unique("msg"), staff, code, null), System.currentTimeMillis()));
    assertFalse(fake.awaitAnswer(dingtalkTo(staff)).isBlank());
    askedOnceWith(words);
    assertTrue(fake.mediaRequests.contains("dingtalk:" + code));
  }

  @Test
  void dingtalks_recognition_is_used_as_the_question() throws Exception {
    String staff = unique("staff");
    String code = unique("dl-recognised");
    String words = "会议室在几楼 " + staff;
    acknowledged(dingtalkText(DING, dingtalkAudio(unique("msg"), staff, code, words), System.currentTimeMillis()));
    assertFalse(fake.awaitAnswer(dingtalkTo(staff)).isBlank());
    askedOnceWith(words);
    assertFalse(fake.mediaRequests.contains("dingtalk:" + code));
  }

  @Test
  void a_feishu_audio_message_is_fetched_as_a_file_resource_and_transcribed() throws Exception {
    String messageId = "om_" + System.nanoTime();
    String fileKey = "file_v3_00ab_" + System.nanoTime();
    String words = "what is on my calendar today " + messageId;
    fake.feishuResource(messageId, fileKey, new Media(Audio.oggOpus(words), "audio/opus", false), "file");
    acknowledged(feishuEncrypted(FEISHU, feishuMessage(unique("ev"), unique("ou_user"), messageId, "audio",
      new JsonObject().put("file_key", fileKey).put("duration", 3000)), nowSeconds()));
    Predicate<Sent> reply = s -> s.platform().equals("feishu")
      && s.path().equals("/open-apis/im/v1/messages/" + messageId + "/reply");
    assertFalse(fake.awaitAnswer(reply).isBlank());
    askedOnceWith(words);
    assertTrue(fake.mediaRequests.contains("feishu:" + messageId + "/" + fileKey));
  }
}

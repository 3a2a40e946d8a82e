package io.switchboard.im;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.config.ConfigException;
import io.switchboard.config.ConfigLoader;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A channel with a missing or malformed credential stops the node with a message naming the channel and the key. */
class ImChannelConfigTest {
  private static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  private static String yaml(String platform, String credentials) {
    return """
      model_list:
        - model_name: switchboard-simulator
          provider: simulator
      im_channels:
        - name: acme-bot
          platform: PLATFORM
          model: switchboard-simulator
          credentials: CREDENTIALS
      """.replace("PLATFORM", platform).replace("CREDENTIALS", credentials);
  }

  private static Throwable mountFailure(String platform, String credentials) {
    SwitchboardConfig config = ConfigLoader.parse("test.yaml", yaml(platform, credentials), Map.of());
    Future<ImWebhooks> mounted = ImWebhooks.mount(vertx, Router.router(vertx), null, config, new SimpleMeterRegistry());
    assertTrue(mounted.failed(), "mount should fail");
    return assertInstanceOf(ConfigException.class, mounted.cause());
  }

  @Test
  void a_missing_credential_is_named_with_its_channel_and_no_secret_is_repeated() {
    String message = mountFailure("wecom", "{corp_id: ww1, corp_secret: s3cr3t-value, "
      + "encoding_aes_key: kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR, agent_id: \"1000002\"}").getMessage();
    assertEquals("im_channels 'acme-bot' (wecom): credentials.token is missing", message);
    assertFalse(message.contains("s3cr3t-value") || message.contains("kWxPEV2"));

    assertEquals("im_channels 'acme-bot' (dingtalk): credentials.app_secret is missing",
      mountFailure("dingtalk", "{app_key: k}").getMessage());
    assertEquals("im_channels 'acme-bot' (feishu): credentials.verification_token is missing",
      mountFailure("feishu", "{app_id: cli_1, app_secret: s}").getMessage());
  }

  @Test
  void a_malformed_credential_is_named_without_its_value() {
    String wecom = "{corp_id: ww1, corp_secret: s, token: t, encoding_aes_key: %s, agent_id: \"%s\"}";
    assertEquals("im_channels 'acme-bot' (wecom): credentials.encoding_aes_key must be 43 characters long",
      mountFailure("wecom", wecom.formatted("tooShortKey", "1000002")).getMessage());
    assertEquals("im_channels 'acme-bot' (wecom): credentials.agent_id must be the app's numeric AgentId",
      mountFailure("wecom", wecom.formatted("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "agent-one")).getMessage());
  }
}

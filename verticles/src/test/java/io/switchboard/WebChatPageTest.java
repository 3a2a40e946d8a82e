package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The web chat page in a real headless Chromium (Debian's chromium, driven by playwright-core from npm):
 * see src/test/js/webchat.mjs for the steps. CI installs both; elsewhere the test is skipped without them.
 */
class WebChatPageTest {
  private static final String KEY = "web-test-key-00000000001";

  @Test
  void a_person_signs_in_chats_sees_the_reply_stream_and_stops_a_long_one() throws Exception {
    Path script = Path.of("src/test/js/webchat.mjs");
    boolean ready = Files.isExecutable(Path.of("/usr/bin/chromium"))
      && Files.isDirectory(Path.of("src/test/js/node_modules/playwright-core"));
    if (!ready && "true".equals(System.getenv("CI"))) {
      throw new AssertionError("CI must install chromium and run npm ci in verticles/src/test/js");
    }
    Assumptions.assumeTrue(ready, "chromium or playwright-core is not installed");
    try (TestNode node = TestNode.start("""
      auth:
        enabled: true
        keys: [{key: web-test-key-00000000001, tenant: web}]
      simulator: {ttft_ms: 5}
      model_list:
        - {model_name: sim-paced, provider: simulator, simulator: {tokens_per_second: 40, reply_tokens: 20}}
        - {model_name: slow-talker, provider: simulator, simulator: {tokens_per_second: 10, reply_tokens: 300}}
      """)) {
      String expected = new JsonObject(Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject()
          .put("model", "sim-paced").put("messages", new JsonArray().add(new JsonObject().put("role", "user")
            .put("content", "hello from the browser"))).encode(), "authorization", "Bearer " + KEY).body())
        .getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content");
      Path screenshot = Path.of("target/webchat.png").toAbsolutePath();
      Process browser = new ProcessBuilder("node", script.getFileName().toString(), node.baseUrl(), KEY, expected,
        screenshot.toString()).directory(script.getParent().toFile()).redirectErrorStream(true).start();
      boolean finished = browser.waitFor(90, TimeUnit.SECONDS);
      String output = new String(browser.getInputStream().readAllBytes());
      if (!finished) {
        browser.destroyForcibly();
      }
      System.out.println(output);
      assertTrue(finished, "the browser run finished in time:\n" + output);
      assertEquals(0, browser.exitValue(), output);
      assertTrue(output.contains("PASSED"), output);
    }
  }
}

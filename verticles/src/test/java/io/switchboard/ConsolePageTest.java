package io.switchboard;

import io.switchboard.testing.FreePorts;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operator console on the management port in a real headless Chromium (Debian's chromium, driven by
 * playwright-core from npm): src/test/js/console.mjs has one scenario per test, each checking what an operator
 * sees and what the node then does (a revoked key refused on the public port, a degraded model answered by its
 * backup). The node is real, with the admin API on; chat turns go to the built-in simulator.
 */
class ConsolePageTest {
  private static final String ADMIN_TOKEN = "console-admin-token-000000001";
  private static final String YAML_KEY = "console-yaml-key-0000000001";

  private static TestNode node;

  @BeforeAll
  static void start() {
    Assumptions.assumeTrue(browserReady(), "chromium or playwright-core is not installed");
    int nobody = FreePorts.next(); // nothing listens here: the "broken" deployment's calls are refused
    node = TestNode.start("""
      management: {admin_token: %s}
      auth:
        enabled: true
        keys:
          - {key: %s, tenant: yaml-tenant}
      tenants:
        - {name: acme, rpm_limit: 600, tpm_limit: 200000, max_budget: 50, budget_duration: 30d}
      simulator: {ttft_ms: 5, reply_tokens: 8}
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
        - {model_name: sim-backup, provider: simulator}
        - model_name: broken
          provider: openai
          api_base: "http://127.0.0.1:%d/v1"
          api_key: sk-nobody
          circuit_breaker: {max_failures: 1, reset_timeout_ms: 600000}
      """.formatted(ADMIN_TOKEN, YAML_KEY, nobody));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void before_sign_in_only_the_form_shows_a_wrong_token_is_refused_and_the_token_stays_in_the_tab() throws Exception {
    run("signin", new JsonObject());
  }

  @Test
  void deployments_show_health_and_breaker_and_the_degrade_switch_moves_a_models_traffic_and_back() throws Exception {
    run("deployments", new JsonObject());
  }

  @Test
  void a_key_is_created_its_secret_shown_once_its_turns_charted_and_once_revoked_it_is_refused() throws Exception {
    run("keys", new JsonObject().put("tenant", "acme")
      .put("screenshot", Path.of("target/console-keys.png").toAbsolutePath().toString()));
  }

  @Test
  void tenants_limits_are_listed_and_set_from_the_page() throws Exception {
    run("limits", new JsonObject());
  }

  @Test
  void a_panel_whose_api_the_node_lacks_says_so_and_the_rest_works() throws Exception {
    run("missing", new JsonObject());
  }

  @Test
  void the_console_fits_a_desktop_and_a_phone() throws Exception {
    run("layout", new JsonObject().put("screenshot", Path.of("target/console.png").toAbsolutePath().toString()));
  }

  @Test
  void on_a_node_without_an_admin_token_the_console_says_the_admin_api_is_off() throws Exception {
    try (TestNode off = TestNode.start("""
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
      """)) {
      run("off", new JsonObject().put("managementUrl", off.managementUrl()));
    }
  }

  private static boolean browserReady() {
    boolean ready = Files.isExecutable(Path.of("/usr/bin/chromium"))
      && Files.isDirectory(Path.of("src/test/js/node_modules/playwright-core"));
    if (!ready && "true".equals(System.getenv("CI"))) {
      throw new AssertionError("CI must install chromium and run npm ci in verticles/src/test/js");
    }
    return ready;
  }

  private static void run(String scenario, JsonObject options) throws Exception {
    Path script = Path.of("src/test/js/console.mjs");
    if (!options.containsKey("managementUrl")) {
      options.put("managementUrl", node.managementUrl());
    }
    options.put("apiUrl", node.baseUrl()).put("token", ADMIN_TOKEN).put("yamlKey", YAML_KEY);
    Process browser = new ProcessBuilder("node", script.getFileName().toString(), scenario, options.encode())
      .directory(script.getParent().toFile()).redirectErrorStream(true).start();
    boolean finished = browser.waitFor(90, TimeUnit.SECONDS);
    if (!finished) {
      browser.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    String output = new String(browser.getInputStream().readAllBytes());
    System.out.println("[" + scenario + "]\n" + output);
    assertTrue(finished, "the browser run finished in time:\n" + output);
    assertEquals(0, browser.exitValue(), output);
    assertTrue(output.contains("PASSED"), output);
  }
}

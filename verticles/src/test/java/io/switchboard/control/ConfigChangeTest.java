package io.switchboard.control;

import io.switchboard.config.ConfigLoader;
import io.switchboard.config.SwitchboardConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What a reload applies live, what it redeploys, and what it leaves for a restart. */
class ConfigChangeTest {
  private static final String BASE = """
    server:
      port: 8080
    model_list:
      - model_name: chat
        id: blue
        provider: simulator
        weight: 100
      - model_name: chat
        id: green
        provider: simulator
        weight: 0
    """;

  private static SwitchboardConfig parse(String yaml) {
    return ConfigLoader.parse("test.yaml", yaml, Map.of());
  }

  @Test
  void aWeightAloneRedeploysRoutingOnly() {
    ConfigChange change = ConfigChange.between(parse(BASE), parse(BASE.replace("weight: 100", "weight: 50")));
    assertEquals(Set.of("routing"), change.redeploy());
    assertEquals(List.of(), change.needsRestart());
    assertEquals(50, change.applied().deployments().get(0).weight());
  }

  @Test
  void aNewDeploymentRedeploysTheProxyAndRouting() {
    ConfigChange change = ConfigChange.between(parse(BASE), parse(BASE + """
        - model_name: added
          provider: simulator
      """));
    assertEquals(Set.of("routing", "inference-proxy"), change.redeploy());
  }

  @Test
  void aPortIsNamedAndKeptItsRunningValue() {
    ConfigChange change = ConfigChange.between(parse(BASE), parse(BASE.replace("port: 8080", "port: 8081")));
    assertEquals(List.of("server"), change.needsRestart());
    assertEquals(8080, change.applied().server().port());
    assertEquals(Set.of(), change.redeploy());
  }

  @Test
  void keysApplyWithoutARedeploy() {
    ConfigChange change = ConfigChange.between(parse(BASE), parse(BASE + """
      auth:
        enabled: true
        keys:
          - key: a-new-key-0123456789
            tenant: acme
      """));
    assertEquals(Set.of(), change.redeploy());
    assertEquals(List.of(), change.needsRestart());
    assertEquals("acme", change.applied().auth().keys().get(0).tenant());
  }

  @Test
  void aNodeWithoutTheVerticleRedeploysNothing() {
    SwitchboardConfig running = ConfigLoader.parse("test.yaml", BASE, Map.of("SWITCHBOARD_VERTICLES", "connection,session"));
    ConfigChange change = ConfigChange.between(running, ConfigLoader.parse("test.yaml",
      BASE.replace("weight: 100", "weight: 50"), Map.of("SWITCHBOARD_VERTICLES", "connection,session")));
    assertEquals(Set.of(), change.redeploy());
  }
}

package io.switchboard;

import io.switchboard.testing.ConstantLoad;
import io.switchboard.testing.Http;
import io.switchboard.testing.NodeProcess;
import io.switchboard.testing.TcpBalancer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three nodes in their own JVMs, one configuration file, a plain TCP balancer in front: a reload, weights and a
 * SIGHUP asked of one node apply on all three, and a rolling restart (SIGTERM, start again, one node at a time) under
 * constant load loses nothing.
 */
@Timeout(420)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RollingRestartTest {
  private static final Logger LOG = LoggerFactory.getLogger(RollingRestartTest.class);
  private static final String ADMIN = "rolling-admin-token-0123";
  private static final String[] AUTH = {"authorization", "Bearer " + ADMIN};
  /** The balancer checks /ready every 200 ms: a node going stays reachable a second after /ready fails. */
  private static final Map<String, String> ENV = Map.of("SWITCHBOARD_SESSION_ALLOW_LOCAL_MEMORY_IN_CLUSTER", "true",
    "SWITCHBOARD_SERVER_DRAIN_DELAY_MS", "1000");

  private static Path file;
  private static final List<NodeProcess> nodes = new ArrayList<>();

  private static String yaml(int blue, int green) {
    return """
      management:
        admin_token: %s
      simulator:
        ttft_ms: 5
        tokens_per_second: 200
        reply_tokens: 10
      model_list:
        - model_name: chat
          id: blue
          provider: simulator
          weight: %d
        - model_name: chat
          id: green
          provider: simulator
          weight: %d
      """.formatted(ADMIN, blue, green);
  }

  private static NodeProcess start(String name) {
    return NodeProcess.start(name, ENV, "--cluster", "--conf", file.toString());
  }

  @BeforeAll
  static void startCluster() throws Exception {
    file = Files.createTempFile("switchboard-cluster", ".yaml");
    Files.writeString(file, yaml(100, 0));
    for (String name : List.of("roll-a", "roll-b", "roll-c")) {
      nodes.add(start(name));
    }
    nodes.forEach(n -> n.awaitHealthy(120_000));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    nodes.forEach(NodeProcess::close);
    Files.deleteIfExists(file);
  }

  private static String admin(NodeProcess node) {
    return "http://127.0.0.1:" + node.managementPort + "/admin";
  }

  private static int greenWeight(NodeProcess node) {
    return new JsonObject(Http.get(admin(node) + "/models/chat/weights", AUTH).body()).getJsonObject("weights")
      .getInteger("green");
  }

  private static void awaitOnEveryNode(String what, Predicate<NodeProcess> holds) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 15_000;
    while (System.currentTimeMillis() < deadline) {
      if (nodes.stream().allMatch(holds)) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(what + " not true on every node within 15 s");
  }

  @Test
  @Order(1)
  void aReloadAskedOfOneNodeAppliesOnAll() throws Exception {
    Files.writeString(file, yaml(0, 100));
    var answer = Http.post(admin(nodes.get(0)) + "/config/reload", "", AUTH);
    assertEquals(200, answer.statusCode(), answer.body());
    String version = new JsonObject(answer.body()).getString("version");
    awaitOnEveryNode("the reloaded weights", n -> greenWeight(n) == 100);
    awaitOnEveryNode("the same version", n -> version.equals(new JsonObject(Http.get(admin(n) + "/config", AUTH)
      .body()).getString("version")));
  }

  @Test
  @Order(2)
  void weightsSetOnOneNodeApplyOnAll() throws Exception {
    var answer = Http.put(admin(nodes.get(1)) + "/models/chat/weights", "{\"weights\":{\"blue\":100,\"green\":0}}",
      AUTH);
    assertEquals(200, answer.statusCode(), answer.body());
    awaitOnEveryNode("the new weights", n -> greenWeight(n) == 0);
  }

  @Test
  @Order(3)
  void sighupReloadsTheFile() throws Exception {
    Files.writeString(file, yaml(50, 50));
    new ProcessBuilder("kill", "-HUP", String.valueOf(nodes.get(2).pid())).start().waitFor();
    awaitOnEveryNode("the file's weights after SIGHUP", n -> greenWeight(n) == 50);
  }

  @Test
  @Order(4)
  void aRollingRestartBehindTheBalancerLosesNothing() throws Exception {
    try (TcpBalancer balancer = new TcpBalancer(nodes.stream().map(n -> new int[] {n.apiPort, n.managementPort}).toList());
         ConstantLoad load = new ConstantLoad(balancer.port, "chat", true).start(2, 1, 1)) {
      load.awaitTurns(20, 30_000);
      for (int i = 0; i < nodes.size(); i++) {
        NodeProcess old = nodes.get(i);
        old.close(); // SIGTERM: drains, leaves the cluster, exits
        assertTrue(old.log().contains("shutting down"), "the node drained on SIGTERM");
        NodeProcess fresh = start("roll-" + i + "-again").awaitHealthy(120_000);
        nodes.set(i, fresh);
        balancer.replace(old.apiPort, new int[] {fresh.apiPort, fresh.managementPort});
        load.awaitTurns(20, 30_000);
      }
      List<ConstantLoad.Turn> turns = load.stop();
      List<ConstantLoad.Turn> failed = turns.stream().filter(t -> !t.ok()).toList();
      LOG.info("rolling restart of 3 nodes: {} turns, {} failed, {} WebSocket reconnects after 1012", turns.size(),
        failed.size(), load.reconnects());
      assertEquals(List.of(), failed, "failed or broken turns");
      assertTrue(load.reconnects() >= 1, "a socket on a node that went was closed with 1012 and opened elsewhere");
    }
  }
}

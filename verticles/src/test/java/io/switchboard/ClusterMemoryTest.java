package io.switchboard;

import io.switchboard.config.ConfigException;
import io.switchboard.config.ConfigLoader;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.testing.FreePorts;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory in a cluster: the in-memory store is per node, so a clustered node refuses it unless told that per-node
 * memory is meant, and then says so on every answer ({@code x-switchboard-memory: local}).
 */
class ClusterMemoryTest {
  private static final String MEMORY_STORE = """
    model_list:
      - {model_name: switchboard-simulator, provider: simulator}
    session: {store: memory}
    """;

  @Test
  void a_clustered_node_with_the_in_memory_store_does_not_start() {
    String flag = assertThrows(ConfigException.class, () -> ConfigLoader.parse("test.yaml", MEMORY_STORE,
      Map.of("SWITCHBOARD_CLUSTER_ENABLED", "true"))).getMessage(); // what --cluster sets
    assertTrue(flag.contains("session.store") && flag.contains("allow_local_memory_in_cluster"), flag);
    String file = assertThrows(ConfigException.class, () -> ConfigLoader.parse("test.yaml",
      MEMORY_STORE + "cluster: {enabled: true}\n", Map.of())).getMessage();
    assertTrue(file.contains("test.yaml line"), file);
  }

  @Test
  void redis_or_the_explicit_allowance_lets_it_start() {
    SwitchboardConfig redis = ConfigLoader.parse("test.yaml", MEMORY_STORE.replace("store: memory", "store: redis"),
      Map.of("SWITCHBOARD_CLUSTER_ENABLED", "true"));
    assertTrue(redis.cluster().enabled());
    SwitchboardConfig allowed = ConfigLoader.parse("test.yaml", MEMORY_STORE.replace("store: memory",
      "store: memory, allow_local_memory_in_cluster: true"), Map.of("SWITCHBOARD_CLUSTER_ENABLED", "true"));
    assertTrue(allowed.session().localInCluster(allowed.cluster()));
    SwitchboardConfig single = ConfigLoader.parse("test.yaml", MEMORY_STORE, Map.of());
    assertTrue(!single.session().localInCluster(single.cluster()), "one node alone: its memory is all the memory");
  }

  @Test
  void conf_cluster_xml_in_the_working_directory_is_used_when_no_file_is_named(@TempDir Path dir) throws Exception {
    SwitchboardConfig.Cluster unnamed = new SwitchboardConfig.Cluster(true, null, "127.0.0.1");
    assertNull(Switchboard.clusterConfigFile(unnamed, dir), "nothing there: the bundled one");
    Files.createDirectories(dir.resolve("conf"));
    Files.writeString(dir.resolve("conf/cluster.xml"), "<hazelcast/>");
    assertEquals(dir.resolve("conf/cluster.xml"), Switchboard.clusterConfigFile(unnamed, dir));
    SwitchboardConfig.Cluster named = new SwitchboardConfig.Cluster(true, "/etc/hz.xml", "127.0.0.1");
    assertEquals(Path.of("/etc/hz.xml"), Switchboard.clusterConfigFile(named, dir));
  }

  @Test
  void an_allowed_clustered_node_with_local_memory_says_memory_local(@TempDir Path dir) throws Exception {
    // a cluster of its own: a unique name and port, so no other test's nodes can join it
    int port = FreePorts.next();
    String xml = Files.readString(Path.of("../conf/cluster.xml"))
      .replace("<cluster-name>switchboard</cluster-name>", "<cluster-name>memory-" + UUID.randomUUID() + "</cluster-name>")
      .replaceAll("<port auto-increment=\"true\" port-count=\"20\">5701</port>", "<port auto-increment=\"false\">" + port
        + "</port>")
      .replaceAll("(?s)<tcp-ip enabled=\"true\">.*?</tcp-ip>", "<tcp-ip enabled=\"true\"><member>127.0.0.1:" + port
        + "</member></tcp-ip>");
    Path file = dir.resolve("cluster.xml");
    Files.writeString(file, xml);
    try (TestNode node = TestNode.start(MEMORY_STORE.replace("store: memory",
      "store: memory, allow_local_memory_in_cluster: true") + "cluster: {enabled: true, config_file: \"" + file + "\"}\n")) {
      HttpResponse<String> answer = Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject()
        .put("model", "switchboard-simulator").put("messages", new JsonArray()
          .add(new JsonObject().put("role", "user").put("content", "remember me"))).encode(),
        "x-conversation-id", "local-1");
      assertEquals(200, answer.statusCode(), answer.body());
      assertEquals("local", answer.headers().firstValue("x-switchboard-memory").orElse(null));
    }
  }
}

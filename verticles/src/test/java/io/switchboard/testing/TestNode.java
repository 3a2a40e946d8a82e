package io.switchboard.testing;

import io.switchboard.Switchboard;
import io.switchboard.config.ConfigLoader;
import io.switchboard.config.SwitchboardConfig;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A real Switchboard node in this JVM, on free loopback ports, configured from YAML written in the test. */
public final class TestNode implements AutoCloseable {
  private final Switchboard node;
  public final int apiPort;
  public final int managementPort;

  private TestNode(Switchboard node, int apiPort, int managementPort) {
    this.node = node;
    this.apiPort = apiPort;
    this.managementPort = managementPort;
  }

  /** {@code yaml} is a whole configuration; server and management ports are filled in. */
  public static TestNode start(String yaml) {
    return start(yaml, Map.of());
  }

  public static TestNode start(String yaml, Map<String, String> env) {
    return start(null, yaml, env);
  }

  /** A node started from {@code file} (as {@code --conf file} does), so it can reload it; ports filled in. */
  public static TestNode start(Path file, Map<String, String> env) {
    return start(file, null, env);
  }

  private static TestNode start(Path file, String yaml, Map<String, String> env) {
    int apiPort = FreePorts.next();
    int managementPort = FreePorts.next();
    Map<String, String> all = new HashMap<>(env);
    all.put("SWITCHBOARD_SERVER_PORT", String.valueOf(apiPort));
    all.put("SWITCHBOARD_SERVER_HOST", "127.0.0.1");
    all.put("SWITCHBOARD_MANAGEMENT_PORT", String.valueOf(managementPort));
    all.put("SWITCHBOARD_MANAGEMENT_HOST", "127.0.0.1");
    all.putIfAbsent("SWITCHBOARD_SERVER_INSTANCES", "2");
    SwitchboardConfig config = file != null ? ConfigLoader.load(file, all) : ConfigLoader.parse("test.yaml", yaml, all);
    try {
      Switchboard node = Switchboard.start(config, file, all).toCompletionStage().toCompletableFuture()
        .get(60, TimeUnit.SECONDS);
      return new TestNode(node, apiPort, managementPort);
    } catch (Exception e) {
      throw new IllegalStateException("node did not start", e);
    }
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + apiPort;
  }

  public String managementUrl() {
    return "http://127.0.0.1:" + managementPort;
  }

  public Switchboard node() {
    return node;
  }

  @Override
  public void close() throws Exception {
    node.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}

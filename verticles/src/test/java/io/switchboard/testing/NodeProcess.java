package io.switchboard.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A Switchboard node in its own JVM (this JVM's class path), for cluster tests. Its log goes to target/. */
public final class NodeProcess implements AutoCloseable {
  private static final List<String> OPENS = List.of(
    "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.management/sun.management=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED");

  private final Process process;
  private final Path log;
  public final int apiPort;
  public final int managementPort;

  private NodeProcess(Process process, Path log, int apiPort, int managementPort) {
    this.process = process;
    this.log = log;
    this.apiPort = apiPort;
    this.managementPort = managementPort;
  }

  /** Starts {@code java io.switchboard.Switchboard args...} with these SWITCHBOARD_* settings. */
  public static NodeProcess start(String name, Map<String, String> env, String... args) {
    int apiPort = FreePorts.next();
    int managementPort = FreePorts.next();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(OPENS);
    command.addAll(List.of("-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
      System.getProperty("java.class.path"), "io.switchboard.Switchboard"));
    command.addAll(List.of(args));
    Path log = Path.of("target", "node-" + name + ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    builder.environment().put("SWITCHBOARD_SERVER_PORT", String.valueOf(apiPort));
    builder.environment().put("SWITCHBOARD_SERVER_HOST", "127.0.0.1");
    builder.environment().put("SWITCHBOARD_MANAGEMENT_PORT", String.valueOf(managementPort));
    builder.environment().put("SWITCHBOARD_MANAGEMENT_HOST", "127.0.0.1");
    builder.environment().put("SWITCHBOARD_SERVER_INSTANCES", "1");
    try {
      Files.createDirectories(log.getParent());
      return new NodeProcess(builder.start(), log, apiPort, managementPort);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits until /health answers (the node deployed everything), or fails with the node's log. */
  public NodeProcess awaitHealthy(long timeoutMillis) {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (System.currentTimeMillis() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("node exited with " + process.exitValue() + ":\n" + log());
      }
      try {
        HttpResponse<String> health = Http.get("http://127.0.0.1:" + managementPort + "/health");
        if (health.statusCode() == 200) {
          return this;
        }
      } catch (RuntimeException notYet) {
        // not listening yet
      }
      sleep(250);
    }
    throw new IllegalStateException("node not healthy after " + timeoutMillis + " ms:\n" + log());
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + apiPort;
  }

  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** The node's process id (for {@code kill -HUP}). */
  public long pid() {
    return process.pid();
  }

  /** kill -9. */
  public void kill() {
    process.destroyForcibly();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

}

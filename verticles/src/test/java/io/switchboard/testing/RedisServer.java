package io.switchboard.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A real redis-server for tests: the 6.2 binary shipped in embedded-redis, bound to 127.0.0.1 on a free port, or the
 * server named by the REDIS_URL environment variable when that is set (then it cannot be stopped by a test).
 * Persistence is the append-only file only ({@code appendonly yes}, {@code save ""}) in a temporary directory, so a
 * stop (SIGTERM: Redis flushes the file) and start on the same port keeps the data, like a restarted production Redis.
 */
public final class RedisServer implements AutoCloseable {
  private final String url;
  private final redis.embedded.RedisServer process;
  private final Path dataDir;

  private RedisServer(String url, redis.embedded.RedisServer process, Path dataDir) {
    this.url = url;
    this.process = process;
    this.dataDir = dataDir;
  }

  /** REDIS_URL's server if set, else a new embedded one. */
  public static RedisServer launch() {
    String external = System.getenv("REDIS_URL");
    if (external != null && !external.isBlank()) {
      return new RedisServer(external, null, null);
    }
    return launchEmbedded();
  }

  /** Always a new embedded server, for tests that stop and start it. */
  public static RedisServer launchEmbedded() {
    int port = FreePorts.next();
    try {
      Path dataDir = Files.createTempDirectory("switchboard-redis-");
      redis.embedded.RedisServer process = redis.embedded.RedisServer.newRedisServer()
        .bind("127.0.0.1")
        .port(port)
        .setting("dir " + dataDir.toAbsolutePath())
        .setting("save \"\"")
        .setting("appendonly yes")
        // read the output to the end: a pipe nobody reads would eventually block redis-server on a log line
        .soutListener(line -> {
        })
        .build();
      RedisServer server = new RedisServer("redis://127.0.0.1:" + port, process, dataDir);
      server.start();
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String url() {
    return url;
  }

  public boolean isEmbedded() {
    return process != null;
  }

  /** Stops the server; clients see their connections closed and new connections refused. */
  public void stop() {
    requireEmbedded();
    try {
      process.stop();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts the stopped server again on the same port, with the data it had persisted. */
  public void start() {
    requireEmbedded();
    try {
      process.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Freezes the server (SIGSTOP): it keeps its connections and accepts new ones, but answers nothing. */
  public void pause() {
    signal("STOP");
  }

  /** Lets a paused server go on (SIGCONT). */
  public void resume() {
    signal("CONT");
  }

  private void signal(String name) {
    requireEmbedded();
    long pid;
    try {
      // embedded-redis keeps its child process to itself
      java.lang.reflect.Field field = redis.embedded.RedisInstance.class.getDeclaredField("process");
      field.setAccessible(true);
      pid = ((Process) field.get(process)).pid();
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot find the redis-server process", e);
    }
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(pid)).inheritIO().start();
      if (!kill.waitFor(5, java.util.concurrent.TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + name + " " + pid + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    if (process == null) {
      return;
    }
    stop();
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void requireEmbedded() {
    if (process == null) {
      throw new IllegalStateException("the server at REDIS_URL is not this test's to stop or start");
    }
  }
}

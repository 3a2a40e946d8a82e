package io.switchboard.governance;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.config.ConfigLoader;
import io.switchboard.testing.PostgresServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * How many spend rows a second the PostgreSQL log writes: {@code spend.rows} rows (200,000) recorded through
 * {@link Spend#record} as fast as one thread can, into a real PostgreSQL on loopback, for each batch size in
 * {@code spend.batches}; timed from the first record to the last row committed. Not part of the suite (its name
 * ends in Benchmark); run it with
 * {@code mvn -B -q -o -pl verticles -am test -Dtest=SpendLogThroughputBenchmark -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class SpendLogThroughputBenchmark {

  @Test
  void rows_per_second_into_postgres() throws Exception {
    int rows = Integer.getInteger("spend.rows", 200_000);
    // the first pass warms the JIT up and is not reported
    String[] batches = ("500," + System.getProperty("spend.batches", "100,500,2000")).split(",");
    JsonObject usage = UsageLedger.usage(1200, 256, 350, 64);
    int pass = 0;
    try (PostgresServer postgres = PostgresServer.launch()) {
      for (String batch : batches) {
        Vertx vertx = Vertx.vertx();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Spend spend = new Spend(vertx, ConfigLoader.parse("bench.yaml", """
          model_list: [{model_name: sim, provider: simulator}]
          spend_log: {store: postgres, postgres_url: "%s", batch_size: %s, flush_millis: 100, max_memory_rows: %d}
          """.formatted(postgres.url(), batch, rows), Map.of()), registry);
        try (Connection c = postgres.dataSource().getConnection(); Statement st = c.createStatement()) {
          st.execute("DROP TABLE IF EXISTS switchboard_spend"); // made again by the log, as on a new database
        }
        spend.start().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        long started = System.nanoTime();
        for (int i = 0; i < rows; i++) {
          spend.record(new TurnRecord(Instant.now(), "bench-" + batch + "-" + i, "key_0123abcd", "bench", "acme",
            "sim", "sim.0", usage, 0.0012345, 180, 200, false, null));
        }
        long recorded = System.nanoTime();
        while (registry.get("switchboard.spend.log.rows").counter().count() < rows) {
          Thread.sleep(2);
        }
        long written = System.nanoTime();
        spend.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        try (Connection c = postgres.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM switchboard_spend")) {
          rs.next();
          assertEquals(rows, rs.getLong(1));
        }
        double seconds = (written - started) / 1e9;
        if (pass++ == 0) {
          continue;
        }
        System.out.printf("spend log -> PostgreSQL: batch_size %s: %,d rows in %.2f s = %,.0f rows/s "
            + "(record(): %.0f ns a row on the caller; %,.0f batches)%n", batch, rows, seconds, rows / seconds,
          (recorded - started) / (double) rows, registry.get("switchboard.spend.log.batches").counter().count());
      }
    }
  }
}

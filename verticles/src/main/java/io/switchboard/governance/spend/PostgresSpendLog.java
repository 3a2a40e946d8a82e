package io.switchboard.governance.spend;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.governance.TurnRecord;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The spend log in PostgreSQL, table {@value #TABLE} (created when missing). Rows wait in a bounded queue and are
 * written off the turn's path, one multi-row INSERT (arrays unnested) per batch: at {@code batch_size} rows, or every
 * {@code flush_millis}, one batch in flight at a time. While the database is out of reach the rows stay queued (up to
 * {@code max_memory_rows}; beyond, new rows are dropped and counted) and the failed batch is tried again every
 * {@code flush_millis}. A retried batch that had in fact been written is not written twice (unique on time and
 * request id). Undeploying the verticle writes everything still queued first.
 */
public final class PostgresSpendLog extends VerticleBase implements SpendLog {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresSpendLog.class);
  public static final String TABLE = "switchboard_spend";
  /** How long a clean shutdown keeps trying to write what is queued while the database does not answer. */
  private static final long CLOSE_DEADLINE_MILLIS = 15_000;
  private static final String DDL = "CREATE TABLE IF NOT EXISTS " + TABLE + " ("
    + "time timestamptz NOT NULL, request_id text NOT NULL, key_id text, key_alias text, tenant text NOT NULL, "
    + "model text NOT NULL, deployment text, prompt_tokens integer NOT NULL, completion_tokens integer NOT NULL, "
    + "cached_tokens integer NOT NULL, reasoning_tokens integer NOT NULL, cost_usd double precision NOT NULL, "
    + "latency_ms integer NOT NULL, status smallint NOT NULL, cache_hit boolean NOT NULL, refusal text, "
    + "UNIQUE (time, request_id));"
    + "CREATE INDEX IF NOT EXISTS " + TABLE + "_tenant_time ON " + TABLE + " (tenant, time)";
  private static final String INSERT = "INSERT INTO " + TABLE + " (time, request_id, key_id, key_alias, tenant, "
    + "model, deployment, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, "
    + "status, cache_hit, refusal) SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], "
    + "$5::text[], $6::text[], $7::text[], $8::int[], $9::int[], $10::int[], $11::int[], $12::float8[], $13::int[], "
    + "$14::smallint[], $15::bool[], $16::text[]) ON CONFLICT DO NOTHING";
  /** The group expressions of a usage query (never built from what a client sent). */
  private static final Map<String, String> GROUPS = Map.of(
    "day", "to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD')", "model", "model", "key", "key_id", "tenant", "tenant");

  private final SwitchboardConfig.SpendLog settings;
  private final ArrayBlockingQueue<TurnRecord> queue;
  private final AtomicBoolean kicked = new AtomicBoolean();
  private final Counter written;
  private final Counter batches;
  private final Counter dropped;
  private final Counter failures;
  private Pool pool;
  private long timer;
  /** The batch being written, or one that failed and is written again before anything newer. */
  private volatile List<TurnRecord> pending;
  private boolean writing;
  private volatile boolean tableReady;
  private Future<Void> creating;
  private boolean down;

  public PostgresSpendLog(SwitchboardConfig.SpendLog settings, MeterRegistry registry) {
    this.settings = settings;
    this.queue = new ArrayBlockingQueue<>(settings.maxMemoryRows());
    this.written = Counter.builder("switchboard.spend.log.rows").description("Spend rows written to the log")
      .register(registry);
    this.batches = Counter.builder("switchboard.spend.log.batches").description("Batches written to PostgreSQL")
      .register(registry);
    this.dropped = Counter.builder("switchboard.spend.log.dropped")
      .description("Spend rows dropped: the queue was full (PostgreSQL out of reach too long)").register(registry);
    this.failures = Counter.builder("switchboard.spend.log.write.failures")
      .description("Batches PostgreSQL did not take (kept and tried again)").register(registry);
    Gauge.builder("switchboard.spend.log.queued", this, PostgresSpendLog::queued)
      .description("Spend rows waiting to be written").register(registry);
  }

  @Override
  public Future<?> start() {
    pool = PgBuilder.pool()
      .with(new PoolOptions().setMaxSize(2).setConnectionTimeout(5).setConnectionTimeoutUnit(TimeUnit.SECONDS))
      .with(new NetClientOptions().setConnectTimeout(5_000))
      .connectingTo(PgConnectOptions.fromUri(settings.postgresUrl())).using(vertx).build();
    timer = vertx.setPeriodic(settings.flushMillis(), t -> flush());
    // not waited for: a database out of reach (or slow to answer) does not hold the node's start; rows wait for it
    ensureTable().onFailure(this::outage);
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    Promise<Void> drained = Promise.promise();
    drain(System.currentTimeMillis() + CLOSE_DEADLINE_MILLIS, drained);
    return drained.future().eventually(() -> pool.close());
  }

  @Override
  public void append(TurnRecord row) {
    if (!queue.offer(row)) {
      dropped.increment();
      return;
    }
    if (queue.size() >= settings.batchSize() && context != null && kicked.compareAndSet(false, true)) {
      context.runOnContext(v -> {
        kicked.set(false);
        flush();
      });
    }
  }

  @Override
  public String source() {
    return "postgres";
  }

  @Override
  public Future<Void> close() {
    return deploymentID() == null ? Future.succeededFuture() : vertx.undeploy(deploymentID());
  }

  /** Rows waiting: queued, and a batch being written or to be written again. */
  public int queued() {
    List<TurnRecord> batch = pending;
    return queue.size() + (batch == null ? 0 : batch.size());
  }

  private void flush() {
    if (writing) {
      return;
    }
    List<TurnRecord> batch = pending;
    if (batch == null) {
      batch = new ArrayList<>(Math.min(settings.batchSize(), queue.size()));
      queue.drainTo(batch, settings.batchSize());
      if (batch.isEmpty()) {
        return;
      }
      pending = batch;
    }
    writing = true;
    List<TurnRecord> rows = batch;
    ensureTable().compose(v -> pool.preparedQuery(INSERT).execute(columns(rows))).onComplete(outcome -> {
      writing = false;
      if (outcome.succeeded()) {
        pending = null;
        written.increment(rows.size());
        batches.increment();
        if (down) {
          down = false;
          LOG.info("spend log: PostgreSQL takes rows again ({} waiting)", queued());
        }
        if (queue.size() >= settings.batchSize()) {
          flush();
        }
      } else {
        failures.increment();
        String state = outcome.cause() instanceof PgException pg ? pg.getSqlState() : null;
        if ("42P01".equals(state)) {
          tableReady = false; // dropped under us: created again on the next try
        }
        if (state != null && (state.startsWith("22") || state.startsWith("23"))) {
          // the database refuses these rows themselves (a data or integrity error): trying again cannot help, and
          // would hold every row behind them
          pending = null;
          dropped.increment(rows.size());
          LOG.error("spend log: PostgreSQL refused a batch of {} rows ({}); they are dropped", rows.size(),
            outcome.cause().getMessage());
        } else {
          outage(outcome.cause());
        }
      }
    });
  }

  /** On shutdown: batch after batch until nothing waits, or the deadline passes with the database out of reach. */
  private void drain(long deadline, Promise<Void> done) {
    if (queued() == 0 && !writing) {
      done.complete();
      return;
    }
    if (System.currentTimeMillis() > deadline) {
      LOG.error("spend log: {} rows could not be written before shutdown (PostgreSQL out of reach)", queued());
      done.complete();
      return;
    }
    flush();
    vertx.setTimer(writing ? 5 : Math.min(200, settings.flushMillis()), t -> drain(deadline, done));
  }

  private void outage(Throwable failure) {
    if (!down) {
      down = true;
      LOG.warn("spend log: PostgreSQL does not take rows ({}); keeping up to {} rows and trying every {} ms",
        failure.getMessage(), settings.maxMemoryRows(), settings.flushMillis());
    }
  }

  /** The table, made once: concurrent CREATE TABLE IF NOT EXISTS can collide, so callers share one attempt. */
  private synchronized Future<Void> ensureTable() {
    if (tableReady) {
      return Future.succeededFuture();
    }
    if (creating == null) {
      creating = pool.query(DDL).execute().<Void>mapEmpty().andThen(outcome -> {
        synchronized (this) {
          tableReady = outcome.succeeded();
          creating = null;
        }
      });
    }
    return creating;
  }

  private static Tuple columns(List<TurnRecord> rows) {
    int n = rows.size();
    OffsetDateTime[] time = new OffsetDateTime[n];
    String[] requestId = new String[n];
    String[] keyId = new String[n];
    String[] keyAlias = new String[n];
    String[] tenant = new String[n];
    String[] model = new String[n];
    String[] deployment = new String[n];
    Integer[] prompt = new Integer[n];
    Integer[] completion = new Integer[n];
    Integer[] cached = new Integer[n];
    Integer[] reasoning = new Integer[n];
    Double[] cost = new Double[n];
    Integer[] latency = new Integer[n];
    Short[] status = new Short[n];
    Boolean[] cacheHit = new Boolean[n];
    String[] refusal = new String[n];
    for (int i = 0; i < n; i++) {
      TurnRecord row = rows.get(i);
      time[i] = OffsetDateTime.ofInstant(row.time(), ZoneOffset.UTC);
      requestId[i] = text(row.requestId());
      keyId[i] = text(row.keyId());
      keyAlias[i] = text(row.keyAlias());
      tenant[i] = text(row.tenant());
      model[i] = text(row.model());
      deployment[i] = text(row.deployment());
      prompt[i] = row.promptTokens();
      completion[i] = row.completionTokens();
      cached[i] = row.cachedTokens();
      reasoning[i] = row.reasoningTokens();
      cost[i] = row.costUsd();
      latency[i] = (int) Math.min(Integer.MAX_VALUE, row.latencyMillis());
      status[i] = (short) row.status();
      cacheHit[i] = row.cacheHit();
      refusal[i] = row.refusal();
    }
    return Tuple.tuple().addValue(time).addValue(requestId).addValue(keyId).addValue(keyAlias).addValue(tenant)
      .addValue(model).addValue(deployment).addValue(prompt).addValue(completion).addValue(cached)
      .addValue(reasoning).addValue(cost).addValue(latency).addValue(status).addValue(cacheHit).addValue(refusal);
  }

  /** PostgreSQL's text cannot hold NUL (it would refuse the whole batch). */
  private static String text(String value) {
    return value == null || value.indexOf('\u0000') < 0 ? value : value.replace("\u0000", "");
  }

  /** Summed in PostgreSQL: every node's rows (those still queued on a node are not in yet). */
  @Override
  public Future<List<JsonObject>> usage(UsageQuery query) {
    String group = GROUPS.get(query.groupBy());
    String sql = "SELECT " + group + " AS g, max(key_alias), count(*), coalesce(sum(prompt_tokens), 0), "
      + "coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0), coalesce(sum(reasoning_tokens), 0), "
      + "coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE cache_hit), count(*) FILTER (WHERE status >= 400) "
      + "FROM " + TABLE + " WHERE time >= $1 AND time < $2 AND ($3::text IS NULL OR tenant = $3) "
      + "AND ($4::text IS NULL OR key_id = $4) AND ($5::text IS NULL OR model = $5) "
      + "GROUP BY g ORDER BY g NULLS LAST";
    Tuple params = Tuple.of(OffsetDateTime.ofInstant(query.from(), ZoneOffset.UTC),
      OffsetDateTime.ofInstant(query.to(), ZoneOffset.UTC), query.tenant(), query.key(), query.model());
    return ensureTable().compose(v -> pool.preparedQuery(sql).execute(params)).map(rows -> {
      List<JsonObject> data = new ArrayList<>(rows.size());
      for (Row row : rows) {
        data.add(UsageTotals.row(query.groupBy(), row.getString(0), row.getString(1), row.getLong(2), row.getLong(3),
          row.getLong(4), row.getLong(5), row.getLong(6), row.getDouble(7), row.getLong(8), row.getLong(9)));
      }
      return data;
    });
  }
}

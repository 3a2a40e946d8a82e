package io.switchboard.governance;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.governance.spend.MemorySpendLog;
import io.switchboard.governance.spend.PostgresSpendLog;
import io.switchboard.governance.spend.SpendLog;
import io.switchboard.governance.spend.UsageQuery;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What every turn used and cost: one per node, shared by its connection instances. {@link #record} puts the turn in
 * the spend log (a bounded ring in memory, or PostgreSQL in batches) and counts its tokens and cost in metrics,
 * labelled by tenant and model — only tenants and models named in the config, the rest as {@code other}, so a
 * client cannot grow the number of series. Never blocks, never fails a turn.
 */
public final class Spend {
  private static final Logger LOG = LoggerFactory.getLogger(Spend.class);
  public static final String OTHER = "other";

  private final Vertx vertx;
  private final MeterRegistry registry;
  private final Prices prices;
  private final SpendLog log;
  private final Set<String> tenants;
  private final Set<String> models;
  /** Tenant label, then model label: bounded by the config. */
  private final Map<String, Map<String, Meters>> meters = new ConcurrentHashMap<>();
  private final Counter written;
  private final SwitchboardConfig.SpendLog settings;

  public Spend(Vertx vertx, SwitchboardConfig config, MeterRegistry registry) {
    this.vertx = vertx;
    this.registry = registry;
    this.prices = new Prices(config);
    this.tenants = labelledTenants(config);
    this.models = new HashSet<>();
    config.deployments().forEach(d -> models.add(d.modelName()));
    this.settings = config.spendLog();
    this.log = settings.postgres() ? new PostgresSpendLog(settings, registry)
      : new MemorySpendLog(settings.maxMemoryRows());
    this.written = log instanceof MemorySpendLog ? Counter.builder("switchboard.spend.log.rows")
      .description("Spend rows written to the log").register(registry) : null;
  }

  /** Tenants that may be metric labels: those the config names. */
  static Set<String> labelledTenants(SwitchboardConfig config) {
    Set<String> tenants = new HashSet<>();
    tenants.add("default");
    config.auth().keys().forEach(k -> tenants.add(k.tenant()));
    config.imChannels().forEach(c -> tenants.add(c.tenant()));
    return Set.copyOf(tenants);
  }

  /** Starts the log's writer (PostgreSQL: connects and creates the table; a database not up yet is waited for). */
  public Future<Void> start() {
    if (log instanceof PostgresSpendLog postgres) {
      LOG.info("spend log: {}", settings);
      return vertx.deployVerticle(postgres).mapEmpty();
    }
    return Future.succeededFuture();
  }

  /** Writes what the log still holds; call once no turn runs any more. */
  public Future<Void> close() {
    return log.close();
  }

  public Prices prices() {
    return prices;
  }

  /** "memory" (this node's rows only) or "postgres" (every node's). */
  public String source() {
    return log.source();
  }

  /** One finished turn. */
  public void record(TurnRecord turn) {
    try {
      log.append(turn);
      if (written != null) {
        written.increment();
      }
      String tenant = label(tenants, turn.tenant());
      meters.computeIfAbsent(tenant, t -> new ConcurrentHashMap<>())
        .computeIfAbsent(label(models, turn.model()), model -> new Meters(registry, tenant, model)).count(turn);
    } catch (RuntimeException e) {
      LOG.warn("request {}: spend not recorded ({})", turn.requestId(), e.toString());
    }
  }

  /** The usage answer's rows. */
  public Future<List<JsonObject>> usage(UsageQuery query) {
    return log.usage(query);
  }

  private static String label(Set<String> known, String value) {
    return known.contains(value) ? value : OTHER;
  }

  /** One tenant and model's counters, looked up once. */
  private static final class Meters {
    private final Counter prompt;
    private final Counter completion;
    private final Counter cached;
    private final Counter reasoning;
    private final Counter usd;

    Meters(MeterRegistry registry, String tenant, String model) {
      this.prompt = tokens(registry, tenant, model, "prompt");
      this.completion = tokens(registry, tenant, model, "completion");
      this.cached = tokens(registry, tenant, model, "cached");
      this.reasoning = tokens(registry, tenant, model, "reasoning");
      this.usd = Counter.builder("switchboard.spend.usd").description("What the turns cost, in USD")
        .tag("tenant", tenant).tag("model", model).register(registry);
    }

    private static Counter tokens(MeterRegistry registry, String tenant, String model, String kind) {
      return Counter.builder("switchboard.tokens").description("Tokens used upstream (cached and reasoning are "
        + "part of prompt and completion)").tag("tenant", tenant).tag("model", model).tag("kind", kind)
        .register(registry);
    }

    void count(TurnRecord turn) {
      if (turn.usage() != null) {
        prompt.increment(turn.promptTokens());
        completion.increment(turn.completionTokens());
        cached.increment(turn.cachedTokens());
        reasoning.increment(turn.reasoningTokens());
      }
      if (turn.costUsd() > 0) {
        usd.increment(turn.costUsd());
      }
    }
  }
}

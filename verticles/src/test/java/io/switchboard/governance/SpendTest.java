package io.switchboard.governance;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.bus.ApiError;
import io.switchboard.config.ConfigLoader;
import io.switchboard.governance.spend.MemorySpendLog;
import io.switchboard.governance.spend.UsageQuery;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class SpendTest {

  private static TurnRecord turn(String id, String tenant, String model, String refusal) {
    return new TurnRecord(Instant.now(), id, null, null, tenant, model, "d", UsageLedger.usage(10, 4, 5, 2), 0.5, 1,
      refusal == null ? 200 : 429, false, refusal);
  }

  @Test
  void metric_labels_are_only_the_tenants_and_models_the_config_names() {
    Vertx vertx = Vertx.vertx();
    try {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      Spend spend = new Spend(vertx, ConfigLoader.parse("t.yaml", """
        auth:
          enabled: true
          keys: [{key: k-0123456789abcdef, tenant: acme}]
        model_list: [{model_name: sim, provider: simulator}]
        """, Map.of()), registry);
      spend.record(turn("a", "acme", "sim", null));
      spend.record(turn("b", "made-up-tenant-1", "sim", null));
      spend.record(turn("c", "made-up-tenant-2", "invented-model", "rpm"));
      assertEquals(10, registry.get("switchboard.tokens").tags("tenant", "acme", "model", "sim", "kind", "prompt")
        .counter().count());
      assertEquals(10, registry.get("switchboard.tokens").tags("tenant", "other", "model", "sim", "kind", "prompt")
        .counter().count());
      assertEquals(2, registry.get("switchboard.tokens").tags("tenant", "other", "model", "other", "kind", "reasoning")
        .counter().count());
      assertEquals(1.0, registry.get("switchboard.spend.usd").tags("tenant", "other").counters().stream()
        .mapToDouble(c -> c.count()).sum(), 1e-12);
      assertNull(registry.find("switchboard.refusals").counter(),
        "refusals are counted once, by governance (switchboard.limits.refused), not again by spend");
      assertEquals(3, registry.find("switchboard.spend.usd").counters().size(), "acme/sim, other/sim, other/other");
      assertEquals(3, registry.get("switchboard.spend.log.rows").counter().count());
    } finally {
      vertx.close();
    }
  }

  @Test
  void a_refusal_is_named_by_the_limit_its_error_names() {
    assertEquals("rpm", TurnRecord.refusal(new ApiError(429, "requests", "rate_limit_exceeded", "slow down", null)));
    assertEquals("tpm", TurnRecord.refusal(new ApiError(429, "tokens", "rate_limit_exceeded", "slow down", null)));
    assertEquals("budget", TurnRecord.refusal(new ApiError(429, "insufficient_quota", "insufficient_quota", "spent",
      null)));
    assertEquals("model", TurnRecord.refusal(new ApiError(403, "invalid_request_error", "model_not_allowed", "no",
      null)));
    assertNull(TurnRecord.refusal(ApiError.cancelled("client disconnected")));
    assertNull(TurnRecord.refusal(ApiError.upstreamFailed("boom")));
  }

  @Test
  void the_memory_ring_holds_the_last_rows_oldest_first() {
    MemorySpendLog log = new MemorySpendLog(3);
    for (int i = 1; i <= 5; i++) {
      log.append(turn("r" + i, "t", "m", null));
    }
    assertEquals(3, log.size());
    assertEquals(List.of("r3", "r4", "r5"), log.rows().stream().map(TurnRecord::requestId).toList());
  }

  @Test
  void the_memory_ring_keeps_every_count_and_field_spend_reads_from_a_row() throws Exception {
    MemorySpendLog log = new MemorySpendLog(10);
    // the gateway's own request id (kept as its bits) and one a client named (kept as it came)
    TurnRecord answered = new TurnRecord(Instant.parse("2026-12-02T10:15:30.123Z"), "req_f123456789abcdef0a1b2c3d",
      "key_ab", "ci", "acme",
      "gpt-4o", "gpt-4o.0", UsageLedger.usage(10, 4, 5, 2), 0.25, 840, 200, false, null);
    TurnRecord refused = new TurnRecord(Instant.parse("2026-12-02T10:15:31Z"), "req_client-42", "key_ab", "ci", "acme", "gpt-4o",
      null, null, 0, 3, 429, false, "rpm");
    log.append(answered);
    log.append(refused);
    TurnRecord kept = log.rows().get(0);
    assertEquals(List.of(answered.time(), "req_f123456789abcdef0a1b2c3d", "key_ab", "ci", "acme", "gpt-4o", "gpt-4o.0", 0.25, 840L, 200, false),
      List.of(kept.time(), kept.requestId(), kept.keyId(), kept.keyAlias(), kept.tenant(), kept.model(),
        kept.deployment(), kept.costUsd(), kept.latencyMillis(), kept.status(), kept.cacheHit()));
    assertEquals(List.of(10, 5, 4, 2), List.of(kept.promptTokens(), kept.completionTokens(), kept.cachedTokens(),
      kept.reasoningTokens()));
    assertEquals(refused, log.rows().get(1), "a row without usage comes back as it went in");
    JsonObject totals = log.usage(new UsageQuery(null, null, null, Instant.parse("2026-12-01T00:00:00Z"),
      Instant.parse("2026-12-03T00:00:00Z"), "tenant")).toCompletionStage().toCompletableFuture().get().get(0);
    assertEquals(2, totals.getInteger("requests"), totals.encode());
    assertEquals(10, totals.getInteger("prompt_tokens"), totals.encode());
    assertEquals(1, totals.getInteger("errors"), totals.encode());
  }

  @Test
  void rows_beyond_the_postgres_queue_bound_are_dropped_and_counted() {
    Vertx vertx = Vertx.vertx();
    try {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      // never started: nothing is written, as while the database is out of reach
      Spend spend = new Spend(vertx, ConfigLoader.parse("t.yaml", """
        model_list: [{model_name: sim, provider: simulator}]
        spend_log: {store: postgres, postgres_url: "postgresql://u:p@127.0.0.1:1/db", max_memory_rows: 10}
        """, Map.of()), registry);
      for (int i = 0; i < 15; i++) {
        spend.record(turn("q" + i, "default", "sim", null));
      }
      assertEquals(10, registry.get("switchboard.spend.log.queued").gauge().value());
      assertEquals(5, registry.get("switchboard.spend.log.dropped").counter().count());
      assertEquals(15, registry.get("switchboard.tokens").tags("kind", "prompt").counter().count() / 10,
        "metrics still count every turn");
    } finally {
      vertx.close();
    }
  }
}

package io.switchboard.governance;

import io.switchboard.testing.Http;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Five known spend rows of tenant {@code ledger} over three January 2025 days, and what {@code /admin/usage} must say
 * of them grouped by day, key, model and tenant, with filters — the same for either spend log.
 */
public final class UsageLedger {
  private static final double CENTS = 1e-12;

  private UsageLedger() {
  }

  public static JsonObject usage(int prompt, int cached, int completion, int reasoning) {
    return new JsonObject().put("prompt_tokens", prompt).put("completion_tokens", completion)
      .put("total_tokens", prompt + completion)
      .put("prompt_tokens_details", new JsonObject().put("cached_tokens", cached))
      .put("completion_tokens_details", new JsonObject().put("reasoning_tokens", reasoning));
  }

  private static TurnRecord row(String time, String id, String key, String alias, String model, JsonObject usage,
                                double cost, int status, boolean hit, String refusal) {
    return new TurnRecord(Instant.parse(time), id, key, alias, "ledger", model, usage == null ? null : "dep-" + model,
      usage, cost, 12, status, hit, refusal);
  }

  public static void record(Spend spend) {
    spend.record(row("2025-01-01T10:00:00Z", "ledger-1", "key_a", "alpha", "m1", usage(100, 0, 10, 0), 0.001, 200,
      false, null));
    spend.record(row("2025-01-01T23:59:59.999Z", "ledger-2", "key_b", "beta", "m2", usage(200, 50, 20, 5), 0.002, 200,
      false, null));
    spend.record(row("2025-01-02T00:00:00Z", "ledger-3", "key_a", "alpha", "m1", null, 0, 429, false, "rpm"));
    spend.record(row("2025-01-02T12:00:00Z", "ledger-4", "key_a", "alpha", "m1", null, 0, 200, true, null));
    spend.record(row("2025-01-03T00:00:00Z", "ledger-5", "key_b", "beta", "m2", usage(1, 0, 1, 0), 1.0, 200, false,
      null));
  }

  /** Asks until the rows are in (a log written in batches takes a moment), then checks every answer. */
  public static void check(String managementUrl, String adminToken) {
    await(() -> {
      JsonArray all = data(managementUrl, adminToken, "tenant=ledger&from=2025-01-01&to=2025-01-03&group_by=tenant");
      return !all.isEmpty() && all.getJsonObject(0).getLong("requests") == 5;
    });

    JsonObject byDay = get(managementUrl, adminToken, "tenant=ledger&from=2025-01-01&to=2025-01-02&group_by=day");
    assertEquals("day", byDay.getString("group_by"));
    assertEquals("2025-01-01T00:00:00Z", byDay.getString("from"));
    assertEquals("2025-01-03T00:00:00Z", byDay.getString("to"), "a day as 'to' is the whole day");
    JsonArray days = byDay.getJsonArray("data");
    assertEquals(2, days.size(), days.encode());
    expect(days.getJsonObject(0), "day", "2025-01-01", 2, 300, 30, 50, 5, 0.003, 0, 0);
    expect(days.getJsonObject(1), "day", "2025-01-02", 2, 0, 0, 0, 0, 0, 1, 1);

    JsonArray keys = data(managementUrl, adminToken, "tenant=ledger&from=2025-01-01&to=2025-01-02&group_by=key");
    assertEquals(2, keys.size(), keys.encode());
    expect(keys.getJsonObject(0), "key", "key_a", 3, 100, 10, 0, 0, 0.001, 1, 1);
    assertEquals("alpha", keys.getJsonObject(0).getString("key_alias"));
    expect(keys.getJsonObject(1), "key", "key_b", 1, 200, 20, 50, 5, 0.002, 0, 0);

    JsonArray models = data(managementUrl, adminToken, "tenant=ledger&key=key_b&from=2025-01-01&to=2025-01-03"
      + "&group_by=model");
    assertEquals(1, models.size(), models.encode());
    expect(models.getJsonObject(0), "model", "m2", 2, 201, 21, 50, 5, 1.002, 0, 0);

    JsonArray hours = data(managementUrl, adminToken, "model=m1&from=2025-01-02T00:00:00Z"
      + "&to=2025-01-02T06:00:00%2B00:00&group_by=tenant");
    assertEquals(1, hours.size(), hours.encode());
    expect(hours.getJsonObject(0), "tenant", "ledger", 1, 0, 0, 0, 0, 0, 0, 1);

    assertTrue(data(managementUrl, adminToken, "tenant=nobody&from=2025-01-01&to=2025-01-03").isEmpty());
  }

  /** Parameters the API cannot take are 400s in OpenAI's shape naming the parameter. */
  public static void checkRefusals(String managementUrl, String adminToken) {
    expectBad(managementUrl, adminToken, "group_by=week", "group_by");
    expectBad(managementUrl, adminToken, "from=yesterday", "from");
    expectBad(managementUrl, adminToken, "to=2025-13-01", "to");
    expectBad(managementUrl, adminToken, "from=2025-02-01&to=2025-01-01", "from");
    expectBad(managementUrl, adminToken, "grop_by=day", "grop_by");
    expectBad(managementUrl, adminToken, "tenant=", "tenant");
    assertEquals(401, Http.get(managementUrl + "/admin/usage").statusCode(), "the admin token is needed");
  }

  private static void expectBad(String managementUrl, String adminToken, String query, String param) {
    HttpResponse<String> response = Http.get(managementUrl + "/admin/usage?" + query, "authorization",
      "Bearer " + adminToken);
    assertEquals(400, response.statusCode(), query + ": " + response.body());
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertEquals(param, error.getString("param"), response.body());
    assertEquals("invalid_request_error", error.getString("type"));
  }

  private static void expect(JsonObject row, String group, String value, long requests, long prompt, long completion,
                             long cached, long reasoning, double cost, long hits, long errors) {
    assertEquals(value, row.getString(group), row.encode());
    assertEquals(requests, row.getLong("requests"), row.encode());
    assertEquals(prompt, row.getLong("prompt_tokens"), row.encode());
    assertEquals(completion, row.getLong("completion_tokens"), row.encode());
    assertEquals(cached, row.getLong("cached_tokens"), row.encode());
    assertEquals(reasoning, row.getLong("reasoning_tokens"), row.encode());
    assertEquals(cost, row.getDouble("cost_usd"), CENTS, row.encode());
    assertEquals(hits, row.getLong("cache_hits"), row.encode());
    assertEquals(errors, row.getLong("errors"), row.encode());
  }

  public static JsonObject get(String managementUrl, String adminToken, String query) {
    HttpResponse<String> response = Http.get(managementUrl + "/admin/usage?" + query, "authorization",
      "Bearer " + adminToken);
    assertEquals(200, response.statusCode(), response.body());
    JsonObject body = new JsonObject(response.body());
    assertEquals("list", body.getString("object"));
    return body;
  }

  public static JsonArray data(String managementUrl, String adminToken, String query) {
    return get(managementUrl, adminToken, query).getJsonArray("data");
  }

  public static void await(BooleanSupplier condition) {
    long deadline = System.currentTimeMillis() + 20_000;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("not so within 20 s");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}

package io.switchboard.governance.spend;

import io.switchboard.governance.TurnRecord;
import io.vertx.core.json.JsonObject;

/** One group's sums in a usage answer. Not thread-safe: summed by one query. */
final class UsageTotals {
  private long requests;
  private long promptTokens;
  private long completionTokens;
  private long cachedTokens;
  private long reasoningTokens;
  private double costUsd;
  private long cacheHits;
  private long errors;
  private String keyAlias;

  void add(TurnRecord row) {
    requests++;
    promptTokens += row.promptTokens();
    completionTokens += row.completionTokens();
    cachedTokens += row.cachedTokens();
    reasoningTokens += row.reasoningTokens();
    costUsd += row.costUsd();
    cacheHits += row.cacheHit() ? 1 : 0;
    errors += row.error() ? 1 : 0;
    if (row.keyAlias() != null) {
      keyAlias = row.keyAlias();
    }
  }

  /** The answer's row: {@code {<groupBy>: group, [key_alias,] requests, ..._tokens, cost_usd, cache_hits, errors}}. */
  static JsonObject row(String groupBy, String group, String keyAlias, long requests, long prompt, long completion,
                        long cached, long reasoning, double costUsd, long cacheHits, long errors) {
    JsonObject row = new JsonObject().put(groupBy, group);
    if (groupBy.equals("key")) {
      row.put("key_alias", keyAlias);
    }
    return row.put("requests", requests).put("prompt_tokens", prompt).put("completion_tokens", completion)
      .put("cached_tokens", cached).put("reasoning_tokens", reasoning)
      // summed in binary floating point: 5 x 0.0057 would read 0.028499999999999998
      .put("cost_usd", Math.round(costUsd * 1e10) / 1e10)
      .put("cache_hits", cacheHits).put("errors", errors);
  }

  JsonObject toJson(String groupBy, String group) {
    return row(groupBy, group, keyAlias, requests, promptTokens, completionTokens, cachedTokens, reasoningTokens,
      costUsd, cacheHits, errors);
  }
}

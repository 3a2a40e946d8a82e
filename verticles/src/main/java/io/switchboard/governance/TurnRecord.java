package io.switchboard.governance;

import io.switchboard.bus.ApiError;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * One finished (or refused) chat turn as spend sees it: a spend-log row.
 *
 * @param time          when the turn ended
 * @param keyId         {@code key_<hex>} (admin API), {@code yaml:<index>}, {@code anonymous}; null when not known
 * @param model         the public model asked for
 * @param deployment    the deployment that answered; null when none did (a failure, a refusal, a cache hit)
 * @param usage         OpenAI's usage object of the upstream call; null when none was made or none was told
 * @param costUsd       what the call cost (0 for a cache hit or a refusal)
 * @param status        the HTTP status the turn ended with: 200, 429, 499 (cancelled), 5xx...
 * @param cacheHit      served from the response cache: no model was called
 * @param refusal       why the gateway refused it before calling a model ({@link #REFUSALS}); null otherwise
 */
public record TurnRecord(Instant time, String requestId, String keyId, String keyAlias, String tenant, String model,
                         String deployment, JsonObject usage, double costUsd, long latencyMillis, int status,
                         boolean cacheHit, String refusal) {
  public static final Set<String> REFUSALS = Set.of("rpm", "tpm", "budget", "model");

  public TurnRecord {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(model, "model");
    if (refusal != null && !REFUSALS.contains(refusal)) {
      throw new IllegalArgumentException("refusal must be one of " + REFUSALS + ", was " + refusal);
    }
    if (!(costUsd >= 0)) {
      throw new IllegalArgumentException("cost must not be negative");
    }
  }

  /**
   * Which limit an error says refused the turn: rpm or tpm ({@code rate_limit_exceeded}, type requests or tokens),
   * budget ({@code insufficient_quota}), model ({@code model_not_allowed}); null for any other error.
   */
  public static String refusal(ApiError error) {
    if (error.code() == null) {
      return null;
    }
    return switch (error.code()) {
      case "rate_limit_exceeded" -> "tokens".equals(error.type()) ? "tpm" : "requests".equals(error.type()) ? "rpm"
        : null;
      case "insufficient_quota" -> "budget";
      case "model_not_allowed" -> "model";
      default -> null;
    };
  }

  public int promptTokens() {
    return count(usage, "prompt_tokens");
  }

  public int completionTokens() {
    return count(usage, "completion_tokens");
  }

  /** Prompt tokens the provider read from its prompt cache ({@code prompt_tokens_details.cached_tokens}). */
  public int cachedTokens() {
    return count(usage == null ? null : usage.getValue("prompt_tokens_details"), "cached_tokens");
  }

  /** Completion tokens spent thinking ({@code completion_tokens_details.reasoning_tokens}). */
  public int reasoningTokens() {
    return count(usage == null ? null : usage.getValue("completion_tokens_details"), "reasoning_tokens");
  }

  /** Did not end in an answer (refused, cancelled, failed). */
  public boolean error() {
    return status >= 400;
  }

  private static int count(Object object, String field) {
    return object instanceof JsonObject json && json.getValue(field) instanceof Number n
      ? (int) Math.max(0, Math.min(Integer.MAX_VALUE, n.longValue())) : 0;
  }
}

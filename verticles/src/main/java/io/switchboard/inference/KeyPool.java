package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * A deployment's API keys, used in turn. A key the provider refuses (401/403) is taken out for good; a key
 * that is rate limited (429) rests until its Retry-After has passed. Keys are named in logs by position only.
 */
final class KeyPool {
  private static final Logger LOG = LoggerFactory.getLogger(KeyPool.class);
  private static final long DEFAULT_COOL_DOWN_MILLIS = 10_000;

  private final String deployment;
  private final List<String> keys;
  private final boolean[] revoked;
  private final long[] restingUntil;
  private int next;

  KeyPool(String deployment, List<String> keys) {
    this.deployment = deployment;
    this.keys = List.copyOf(keys);
    this.revoked = new boolean[keys.size()];
    this.restingUntil = new long[keys.size()];
  }

  boolean needsKeys() {
    return !keys.isEmpty();
  }

  /** The index of the next usable key; fails when every key is revoked or resting. */
  int acquire(long nowMillis) {
    for (int tried = 0; tried < keys.size(); tried++) {
      int candidate = next;
      next = (next + 1) % keys.size();
      if (!revoked[candidate] && restingUntil[candidate] <= nowMillis) {
        return candidate;
      }
    }
    long soonest = Long.MAX_VALUE;
    for (int i = 0; i < keys.size(); i++) {
      if (!revoked[i]) {
        soonest = Math.min(soonest, restingUntil[i]);
      }
    }
    if (soonest == Long.MAX_VALUE) {
      throw UpstreamFailure.retryable(ApiError.upstreamFailed("Every API key of this model's deployment was "
        + "refused by its provider."));
    }
    throw new UpstreamFailure(new ApiError(429, "rate_limit_error", "keys_cooling_down",
      "Every API key of this model's deployment is rate limited; retry shortly.", null), true, soonest - nowMillis);
  }

  String key(int index) {
    return keys.get(index);
  }

  void refused(int index, int status) {
    if (!revoked[index]) {
      revoked[index] = true;
      LOG.error("deployment {}: API key #{} was refused by the provider (HTTP {}) and is taken out of the pool",
        deployment, index + 1, status);
    }
  }

  void rateLimited(int index, long nowMillis, long retryAfterMillis) {
    restingUntil[index] = nowMillis + (retryAfterMillis > 0 ? retryAfterMillis : DEFAULT_COOL_DOWN_MILLIS);
    LOG.info("deployment {}: API key #{} rate limited; resting {} ms", deployment, index + 1,
      restingUntil[index] - nowMillis);
  }

  int usable(long nowMillis) {
    int usable = 0;
    for (int i = 0; i < keys.size(); i++) {
      if (!revoked[i] && restingUntil[i] <= nowMillis) {
        usable++;
      }
    }
    return usable;
  }
}

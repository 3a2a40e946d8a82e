package io.switchboard.governance;

import java.util.function.BiConsumer;

/**
 * OpenAI's rate-limit headers for one turn, for the tightest of the scopes that have a limit; a value of -1 means no
 * limit applies and its headers are left out. A reset is the time until the oldest request (or token) counted in the
 * sliding minute leaves it, i.e. until at least that much is free again.
 */
public record RateLimits(long limitRequests, long remainingRequests, long resetRequestsMillis, long limitTokens,
                         long remainingTokens, long resetTokensMillis) {
  public static final RateLimits NONE = new RateLimits(-1, -1, -1, -1, -1, -1);

  public static RateLimits of(Admission admission, long nowMillis) {
    long limitRequests = -1;
    long remainingRequests = Long.MAX_VALUE;
    long resetRequests = 0;
    long limitTokens = -1;
    long remainingTokens = Long.MAX_VALUE;
    long resetTokens = 0;
    for (int i = 0; i < admission.scopes().size(); i++) {
      Limits limits = admission.scopes().get(i).limits();
      ScopeState state = admission.states().get(i);
      if (limits.rpmLimit() > 0 && limits.rpmLimit() - state.requests() < remainingRequests) {
        limitRequests = limits.rpmLimit();
        remainingRequests = Math.max(0, limits.rpmLimit() - state.requests());
        resetRequests = reset(state.oldestRequestSec(), nowMillis);
      }
      if (limits.tpmLimit() > 0 && limits.tpmLimit() - state.tokens() < remainingTokens) {
        limitTokens = limits.tpmLimit();
        remainingTokens = Math.max(0, limits.tpmLimit() - state.tokens());
        resetTokens = reset(state.oldestTokenSec(), nowMillis);
      }
    }
    return new RateLimits(limitRequests, limitRequests < 0 ? -1 : remainingRequests, limitRequests < 0 ? -1
      : resetRequests, limitTokens, limitTokens < 0 ? -1 : remainingTokens, limitTokens < 0 ? -1 : resetTokens);
  }

  private static long reset(long oldestSec, long nowMillis) {
    return oldestSec == 0 ? 0 : Math.max(0, (oldestSec + 60) * 1000 - nowMillis);
  }

  public boolean any() {
    return limitRequests >= 0 || limitTokens >= 0;
  }

  /** Each header that applies, by its name. */
  public void forEach(BiConsumer<String, String> header) {
    if (limitRequests >= 0) {
      header.accept("x-ratelimit-limit-requests", String.valueOf(limitRequests));
      header.accept("x-ratelimit-remaining-requests", String.valueOf(remainingRequests));
      header.accept("x-ratelimit-reset-requests", format(resetRequestsMillis));
    }
    if (limitTokens >= 0) {
      header.accept("x-ratelimit-limit-tokens", String.valueOf(limitTokens));
      header.accept("x-ratelimit-remaining-tokens", String.valueOf(remainingTokens));
      header.accept("x-ratelimit-reset-tokens", format(resetTokensMillis));
    }
  }

  /** OpenAI's duration format: {@code 120ms}, {@code 1s}, {@code 1.5s}, {@code 6m0s}. */
  static String format(long millis) {
    if (millis < 1000) {
      return millis + "ms";
    }
    long minutes = millis / 60_000;
    long rest = millis % 60_000;
    String seconds = rest % 1000 == 0 ? String.valueOf(rest / 1000)
      : String.valueOf(rest / 1000.0).replaceAll("0+$", "");
    return minutes > 0 ? minutes + "m" + seconds + "s" : seconds + "s";
  }
}

package io.switchboard.im;

import io.vertx.core.Future;

import java.util.function.Supplier;

/**
 * One channel's access token to its platform's API: fetched when first needed, reused until five minutes before
 * it expires, fetched again at once when the platform says it is no longer valid. Callers that ask while a fetch
 * is under way share that fetch. Used from one event loop only (the connection verticle instance's).
 */
final class AccessToken {
  /** Refresh this long before the platform's expiry, so no call goes out with a token about to lapse. */
  static final long REFRESH_MARGIN_MILLIS = 300_000;

  record Grant(String value, long expiresInMillis) {
    @Override
    public String toString() {
      return "Grant[expiresInMillis=" + expiresInMillis + "]";
    }
  }

  private final Supplier<Future<Grant>> fetch;
  private String value;
  private long refreshAt;
  private Future<String> fetching;

  AccessToken(Supplier<Future<Grant>> fetch) {
    this.fetch = fetch;
  }

  Future<String> get() {
    if (value != null && System.currentTimeMillis() < refreshAt) {
      return Future.succeededFuture(value);
    }
    if (fetching != null) {
      return fetching;
    }
    Future<String> fetched = fetch.get().map(grant -> {
      value = grant.value();
      refreshAt = System.currentTimeMillis() + Math.max(0, grant.expiresInMillis() - REFRESH_MARGIN_MILLIS);
      return grant.value();
    });
    if (!fetched.isComplete()) {
      fetching = fetched;
      fetched.onComplete(done -> fetching = null);
    }
    return fetched;
  }

  /** The platform refused {@code refused}: the next {@link #get} fetches a new one (unless that happened already). */
  void invalidate(String refused) {
    if (refused != null && refused.equals(value)) {
      value = null;
    }
  }
}

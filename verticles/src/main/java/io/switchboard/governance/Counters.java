package io.switchboard.governance;

import io.vertx.core.Future;

import java.util.List;

/**
 * The limit counters: a sliding 60 s window of one-second buckets per scope for requests and for tokens, and a spend
 * counter per scope and budget period. {@link #admit} checks every scope and, only when all pass, counts the turn in
 * all of them, atomically; {@link #settle} corrects the reserved tokens with the real ones and adds the cost.
 */
interface Counters {
  /**
   * @param reserve tokens the turn reserves in each scope with a tpm_limit
   * @param count   false: only look (the counters as they are; nothing refused or counted)
   */
  Future<Admission> admit(List<Scope> scopes, long reserve, long nowMillis, boolean count);

  /** @param tokenDelta real tokens minus reserved ones (negative gives tokens back) */
  Future<Void> settle(Admission admission, long tokenDelta, double costUsd);
}

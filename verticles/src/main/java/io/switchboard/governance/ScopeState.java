package io.switchboard.governance;

/**
 * A scope's counters as admission saw them (after counting the turn, when it was admitted).
 *
 * @param requests         requests in the last 60 s (0 when the scope has no rpm_limit: not counted)
 * @param oldestRequestSec the second of the oldest of those (epoch seconds; 0 when none)
 * @param tokens           tokens in the last 60 s (0 when the scope has no tpm_limit)
 * @param spendUsd         spend in the current budget period
 */
public record ScopeState(long requests, long oldestRequestSec, long tokens, long oldestTokenSec, double spendUsd) {
  static final ScopeState EMPTY = new ScopeState(0, 0, 0, 0, 0);
}

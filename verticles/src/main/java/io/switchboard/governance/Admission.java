package io.switchboard.governance;

import java.util.List;

/**
 * What admission decided for a turn and the counters it saw; settled at the turn's end.
 *
 * @param reason      null when admitted, else rpm, tpm or budget
 * @param refused     the scope that refused (null when admitted)
 * @param nowMillis   when it was decided (this node's clock: budget periods and resets are computed from it)
 * @param second      the second the turn was counted in (epoch seconds; Redis's clock when Redis counted it)
 * @param reserved    the tokens reserved in each scope with a tpm_limit
 * @param local       counted in this node's memory (no Redis, or Redis unreachable with on_redis_down: local)
 */
public record Admission(String reason, Scope refused, long nowMillis, long second, List<Scope> scopes,
                        List<ScopeState> states, long reserved, boolean local) {
  /** A deployment without limits of its own: nothing counted, nothing to settle. */
  public static final Admission FREE = new Admission(null, null, 0, 0, List.of(), List.of(), 0, true);

  public boolean admitted() {
    return reason == null;
  }
}

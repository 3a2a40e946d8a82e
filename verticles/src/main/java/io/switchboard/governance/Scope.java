package io.switchboard.governance;

/**
 * One thing limits are counted for: {@code key:<id>}, {@code tenant:<name>} or {@code deployment:<id>}.
 *
 * @param label how a refusal names it to the client ("key 'ops-bot'", "tenant 'acme'")
 */
public record Scope(String name, String label, Limits limits) {
  /** The budget period a moment falls in: its index (0 for a budget that never resets), start and end (millis). */
  long periodIndex(long nowMillis) {
    return limits.budgetDuration() == null ? 0 : nowMillis / limits.budgetDuration().toMillis();
  }

  long periodStart(long nowMillis) {
    return limits.budgetDuration() == null ? 0 : periodIndex(nowMillis) * limits.budgetDuration().toMillis();
  }

  /** The end of the budget period, or 0 when the budget never resets. */
  long periodEnd(long nowMillis) {
    return limits.budgetDuration() == null ? 0 : periodStart(nowMillis) + limits.budgetDuration().toMillis();
  }

  String spendKey(long nowMillis) {
    return "sb:gov:spend:" + name + ":" + (limits.budgetDuration() == null ? "all"
      : limits.budgetDuration().toSeconds() + ":" + periodIndex(nowMillis));
  }
}

package io.switchboard.governance;

import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The limits of one scope (a key, a tenant or a deployment), with LiteLLM's names.
 *
 * @param rpmLimit       requests in any sliding 60 s; 0 = no limit
 * @param tpmLimit       tokens in any sliding 60 s (reserved at admission, settled with the real usage); 0 = no limit
 * @param maxBudget      USD per budget period; null = no budget
 * @param budgetDuration the budget period ({@code 30d}, {@code 1h}, ...); null = the budget never resets
 */
public record Limits(long rpmLimit, long tpmLimit, Double maxBudget, Duration budgetDuration) {
  public static final Limits NONE = new Limits(0, 0, null, null);
  private static final Pattern DURATION = Pattern.compile("([1-9][0-9]{0,6})([smhdw])");

  public Limits {
    if (rpmLimit < 0 || tpmLimit < 0) {
      throw new IllegalArgumentException("limits must not be negative");
    }
    if (maxBudget != null && (maxBudget < 0 || maxBudget.isNaN() || maxBudget.isInfinite())) {
      throw new IllegalArgumentException("max_budget must be a non-negative number of USD");
    }
  }

  /** Whether admission has anything to check for this scope. */
  public boolean any() {
    return rpmLimit > 0 || tpmLimit > 0 || maxBudget != null;
  }

  /** {@code 30d}, {@code 12h}, {@code 15m}, {@code 60s}, {@code 2w}; null when the text is none of these. */
  public static Duration parseDuration(String text) {
    Matcher m = text == null ? null : DURATION.matcher(text.trim());
    if (m == null || !m.matches()) {
      return null;
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      case "d" -> Duration.ofDays(n);
      default -> Duration.ofDays(7 * n);
    };
  }

  /** The shortest of the forms {@link #parseDuration} reads ({@code 30d}, {@code 90m}). */
  public static String formatDuration(Duration duration) {
    if (duration == null) {
      return null;
    }
    long s = duration.toSeconds();
    if (s % 604_800 == 0) {
      return s / 604_800 + "w";
    }
    if (s % 86_400 == 0) {
      return s / 86_400 + "d";
    }
    if (s % 3_600 == 0) {
      return s / 3_600 + "h";
    }
    return s % 60 == 0 ? s / 60 + "m" : s + "s";
  }

  /** Read back from {@link #toJson} (stored data, already checked when it was written). */
  public static Limits fromJson(JsonObject json) {
    Number budget = json.getNumber("max_budget");
    String duration = json.getString("budget_duration");
    return new Limits(json.getLong("rpm_limit") == null ? 0 : json.getLong("rpm_limit"),
      json.getLong("tpm_limit") == null ? 0 : json.getLong("tpm_limit"),
      budget == null ? null : budget.doubleValue(), duration == null ? null : parseDuration(duration));
  }

  /** The fields as the admin API shows them (null where no limit is set). */
  public JsonObject toJson(JsonObject into) {
    return into.put("rpm_limit", rpmLimit > 0 ? rpmLimit : null).put("tpm_limit", tpmLimit > 0 ? tpmLimit : null)
      .put("max_budget", maxBudget).put("budget_duration", formatDuration(budgetDuration));
  }
}

package io.switchboard.governance.spend;

import io.switchboard.governance.TurnRecord;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Objects;

/**
 * What {@code GET /admin/usage} asks: the spend-log rows of {@code [from, to)} that match every filter given (null =
 * any), summed per group.
 *
 * @param key     a key id
 * @param groupBy day (UTC) | model | key | tenant
 */
public record UsageQuery(String tenant, String key, String model, Instant from, Instant to, String groupBy) {
  public static final List<String> GROUPS = List.of("day", "model", "key", "tenant");

  public UsageQuery {
    Objects.requireNonNull(from, "from");
    Objects.requireNonNull(to, "to");
    if (!GROUPS.contains(groupBy)) {
      throw new IllegalArgumentException("groupBy must be one of " + GROUPS + ", was " + groupBy);
    }
  }

  boolean matches(TurnRecord row) {
    return !row.time().isBefore(from) && row.time().isBefore(to)
      && (tenant == null || tenant.equals(row.tenant()))
      && (key == null || key.equals(row.keyId()))
      && (model == null || model.equals(row.model()));
  }

  /** The group a row falls in; null for a row without a key when grouped by key. */
  String group(TurnRecord row) {
    return switch (groupBy) {
      case "day" -> row.time().atOffset(ZoneOffset.UTC).toLocalDate().toString();
      case "model" -> row.model();
      case "key" -> row.keyId();
      default -> row.tenant();
    };
  }
}

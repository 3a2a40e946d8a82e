package io.switchboard.governance.spend;

import io.switchboard.governance.TurnRecord;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The embedded default: this node's last {@code capacity} rows in a ring (the oldest overwritten). It knows nothing of
 * other nodes' turns and forgets everything on restart. Thread-safe.
 */
public final class MemorySpendLog implements SpendLog {
  private final TurnRecord[] ring;
  private long appended;

  public MemorySpendLog(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive");
    }
    this.ring = new TurnRecord[capacity];
  }

  @Override
  public synchronized void append(TurnRecord row) {
    ring[(int) (appended++ % ring.length)] = row;
  }

  /** How many rows are held (at most the capacity). */
  public synchronized int size() {
    return (int) Math.min(appended, ring.length);
  }

  /** The rows held, oldest first. */
  public synchronized List<TurnRecord> rows() {
    int size = size();
    List<TurnRecord> rows = new ArrayList<>(size);
    for (long i = appended - size; i < appended; i++) {
      rows.add(ring[(int) (i % ring.length)]);
    }
    return rows;
  }

  @Override
  public Future<List<JsonObject>> usage(UsageQuery query) {
    Map<String, UsageTotals> groups = new HashMap<>();
    UsageTotals noKey = null;
    for (TurnRecord row : rows()) {
      if (query.matches(row)) {
        String group = query.group(row);
        if (group == null) {
          noKey = noKey == null ? new UsageTotals() : noKey;
          noKey.add(row);
        } else {
          groups.computeIfAbsent(group, g -> new UsageTotals()).add(row);
        }
      }
    }
    List<JsonObject> data = new ArrayList<>();
    new TreeMap<>(groups).forEach((group, totals) -> data.add(totals.toJson(query.groupBy(), group)));
    if (noKey != null) {
      data.add(noKey.toJson(query.groupBy(), null));
    }
    return Future.succeededFuture(data);
  }

  @Override
  public String source() {
    return "memory";
  }

  @Override
  public Future<Void> close() {
    return Future.succeededFuture();
  }
}

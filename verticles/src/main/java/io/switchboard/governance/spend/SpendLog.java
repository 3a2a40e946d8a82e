package io.switchboard.governance.spend;

import io.switchboard.governance.TurnRecord;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.List;

/** Where spend rows are kept: a bounded ring in memory, or a PostgreSQL table. */
public interface SpendLog {
  /** Takes a row; never blocks and never throws (a row that cannot be kept is counted as dropped). */
  void append(TurnRecord row);

  /** The usage answer's rows for a query, in group order. */
  Future<List<JsonObject>> usage(UsageQuery query);

  /** "memory" (this node's rows only) or "postgres" (every node's). */
  String source();

  /** Writes what is still held, then lets go of the store. */
  Future<Void> close();
}

package io.switchboard.im;

import io.vertx.core.Future;

/**
 * The messages a bot has taken to answer, remembered for {@link #TTL_MILLIS} so that a platform re-sending a callback
 * gets no second answer. In Redis this holds across the cluster; in node memory (the embedded default) only for
 * callbacks that reach the same node.
 */
interface SeenMessages {
  /** Longer than any platform retries a callback (Feishu's last retry comes about 7 h 20 min after the first). */
  long TTL_MILLIS = 9 * 3_600_000L;

  /** True for the first sighting of {@code id} on {@code channel}; false for a re-sent one. Never fails. */
  Future<Boolean> firstSight(String channel, String id);
}

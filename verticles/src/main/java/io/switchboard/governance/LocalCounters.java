package io.switchboard.governance;

import io.vertx.core.Future;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The counters in this node's memory, with the same semantics as {@link RedisCounters}: the embedded default, and the
 * fallback while Redis is unreachable (then each node counts on its own). One lock for the node: a turn's check and
 * count over its scopes is one short critical section.
 */
final class LocalCounters implements Counters {
  private static final int WINDOW = 60;

  /** 60 one-second buckets in a ring. */
  private static final class Window {
    final long[] seconds = new long[WINDOW];
    final long[] counts = new long[WINDOW];
    long lastUsedSec;

    long[] sum(long now) {
      long total = 0;
      long oldest = 0;
      for (int i = 0; i < WINDOW; i++) {
        if (counts[i] > 0 && seconds[i] > now - WINDOW && seconds[i] <= now) {
          total += counts[i];
          oldest = oldest == 0 ? seconds[i] : Math.min(oldest, seconds[i]);
        }
      }
      return new long[] {total, oldest};
    }

    void add(long sec, long n) {
      int i = (int) (sec % WINDOW);
      if (seconds[i] != sec) {
        seconds[i] = sec;
        counts[i] = 0;
      }
      counts[i] = Math.max(0, counts[i] + n);
      lastUsedSec = Math.max(lastUsedSec, sec);
    }

    void adjust(long sec, long delta) {
      int i = (int) (sec % WINDOW);
      if (seconds[i] == sec) {
        counts[i] = Math.max(0, counts[i] + delta);
      }
    }
  }

  private final Map<String, Window> windows = new HashMap<>();
  private final Map<String, Double> spend = new HashMap<>();
  private long lastSweepSec;

  @Override
  public synchronized Future<Admission> admit(List<Scope> scopes, long reserve, long nowMillis, boolean count) {
    long now = nowMillis / 1000;
    sweep(now);
    List<ScopeState> states = new ArrayList<>(scopes.size());
    String reason = null;
    Scope refused = null;
    for (Scope scope : scopes) {
      Limits limits = scope.limits();
      long[] requests = limits.rpmLimit() > 0 ? window(scope.name() + ":rpm").sum(now) : new long[2];
      long[] tokens = limits.tpmLimit() > 0 ? window(scope.name() + ":tpm").sum(now) : new long[2];
      double spent = spend.getOrDefault(scope.spendKey(nowMillis), 0.0);
      states.add(new ScopeState(requests[0], requests[1], tokens[0], tokens[1], spent));
      if (count && reason == null) {
        if (limits.rpmLimit() > 0 && requests[0] + 1 > limits.rpmLimit()) {
          reason = "rpm";
        } else if (limits.tpmLimit() > 0 && tokens[0] + reserve > limits.tpmLimit()) {
          reason = "tpm";
        } else if (limits.maxBudget() != null && spent >= limits.maxBudget()) {
          reason = "budget";
        }
        if (reason != null) {
          refused = scope;
        }
      }
    }
    if (count && reason == null) {
      for (int i = 0; i < scopes.size(); i++) {
        Scope scope = scopes.get(i);
        ScopeState s = states.get(i);
        long requests = s.requests();
        long oldestRequest = s.oldestRequestSec();
        long tokens = s.tokens();
        long oldestToken = s.oldestTokenSec();
        if (scope.limits().rpmLimit() > 0) {
          window(scope.name() + ":rpm").add(now, 1);
          requests++;
          oldestRequest = oldestRequest == 0 ? now : oldestRequest;
        }
        if (scope.limits().tpmLimit() > 0 && reserve > 0) {
          window(scope.name() + ":tpm").add(now, reserve);
          tokens += reserve;
          oldestToken = oldestToken == 0 ? now : oldestToken;
        }
        states.set(i, new ScopeState(requests, oldestRequest, tokens, oldestToken, s.spendUsd()));
      }
    }
    return Future.succeededFuture(new Admission(reason, refused, nowMillis, now, scopes, states, reserve, true));
  }

  @Override
  public synchronized Future<Void> settle(Admission admission, long tokenDelta, double costUsd) {
    for (Scope scope : admission.scopes()) {
      if (tokenDelta != 0 && scope.limits().tpmLimit() > 0) {
        Window window = windows.get(scope.name() + ":tpm");
        if (window != null) {
          window.adjust(admission.second(), tokenDelta);
        }
      }
      if (costUsd > 0) {
        spend.merge(scope.spendKey(admission.nowMillis()), costUsd, Double::sum);
      }
    }
    return Future.succeededFuture();
  }

  private Window window(String name) {
    return windows.computeIfAbsent(name, k -> new Window());
  }

  /** Once a minute: windows idle for a whole window go. */
  private void sweep(long now) {
    if (now - lastSweepSec < WINDOW) {
      return;
    }
    lastSweepSec = now;
    for (Iterator<Window> it = windows.values().iterator(); it.hasNext(); ) {
      if (it.next().lastUsedSec <= now - WINDOW) {
        it.remove();
      }
    }
  }
}

package io.switchboard.governance;

import io.switchboard.session.RedisConversationStore;
import io.switchboard.session.RedisGuard;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The counters in Redis, exact across the cluster: one script call per turn checks every scope of the turn and, only
 * when all pass, counts it in each (requests: a hash of one-second buckets, {@code sb:gov:rl:<scope>:rpm}, summed over
 * the last 60 s by Redis's own clock; tokens the same in {@code ...:tpm}; spend per budget period in
 * {@code sb:gov:spend:<scope>:...}). A second call, off the hot path, settles the tokens and adds the cost. Scripts run
 * by their SHA-1 ({@code EVALSHA}); a Redis that does not know one yet ({@code NOSCRIPT}) is sent the script itself.
 * Every call has the short deadline of its {@link RedisGuard}.
 */
final class RedisCounters implements Counters {
  private static final String ADMIT = """
    local t = redis.call('TIME')
    local now = tonumber(t[1])
    local reserve = tonumber(ARGV[1])
    local count = ARGV[2] == '1'
    local n = #KEYS / 3
    local function window(key)
      local total, oldest = 0, 0
      local all = redis.call('HGETALL', key)
      for j = 1, #all, 2 do
        local sec = tonumber(all[j])
        if sec <= now - 60 then
          redis.call('HDEL', key, all[j])
        else
          local c = tonumber(all[j + 1])
          if c > 0 then
            total = total + c
            if oldest == 0 or sec < oldest then oldest = sec end
          end
        end
      end
      return total, oldest
    end
    local state = {}
    local reason, at = '', 0
    for i = 0, n - 1 do
      local rl, tl, bl = tonumber(ARGV[3 + i * 3]), tonumber(ARGV[4 + i * 3]), tonumber(ARGV[5 + i * 3])
      local r, ro, tk, to = 0, 0, 0, 0
      if rl > 0 then r, ro = window(KEYS[1 + i * 3]) end
      if tl > 0 then tk, to = window(KEYS[2 + i * 3]) end
      local s = 0
      if bl >= 0 or not count then s = tonumber(redis.call('GET', KEYS[3 + i * 3]) or '0') end
      state[i] = {r, ro, tk, to, s, rl, tl}
      if count and reason == '' then
        if rl > 0 and r + 1 > rl then reason = 'rpm'
        elseif tl > 0 and tk + reserve > tl then reason = 'tpm'
        elseif bl >= 0 and s >= bl then reason = 'budget' end
        if reason ~= '' then at = i + 1 end
      end
    end
    if count and reason == '' then
      for i = 0, n - 1 do
        local st = state[i]
        if st[6] > 0 then
          redis.call('HINCRBY', KEYS[1 + i * 3], now, 1)
          redis.call('EXPIRE', KEYS[1 + i * 3], 61)
          st[1] = st[1] + 1
          if st[2] == 0 then st[2] = now end
        end
        if st[7] > 0 and reserve > 0 then
          redis.call('HINCRBY', KEYS[2 + i * 3], now, reserve)
          redis.call('EXPIRE', KEYS[2 + i * 3], 61)
          st[3] = st[3] + reserve
          if st[4] == 0 then st[4] = now end
        end
      end
    end
    local out = {reason, at, now}
    for i = 0, n - 1 do
      local st = state[i]
      table.insert(out, st[1])
      table.insert(out, st[2])
      table.insert(out, st[3])
      table.insert(out, st[4])
      table.insert(out, tostring(st[5]))
    end
    return out
    """;
  private static final String SETTLE = """
    local sec, delta, cost = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
    local n = #KEYS / 2
    for i = 0, n - 1 do
      if ARGV[4 + i * 2] == '1' and delta ~= 0 then
        local v = redis.call('HGET', KEYS[1 + i * 2], sec)
        if v then
          local nv = tonumber(v) + delta
          if nv < 0 then nv = 0 end
          redis.call('HSET', KEYS[1 + i * 2], sec, nv)
        end
      end
      if cost > 0 then
        redis.call('INCRBYFLOAT', KEYS[2 + i * 2], ARGV[3])
        local ttl = tonumber(ARGV[5 + i * 2])
        if ttl > 0 then redis.call('EXPIRE', KEYS[2 + i * 2], ttl) end
      end
    end
    return 1
    """;
  private static final String ADMIT_SHA = sha1(ADMIT);
  private static final String SETTLE_SHA = sha1(SETTLE);

  private final Redis redis;
  private final RedisGuard guard;

  RedisCounters(Vertx vertx, Redis redis, long deadlineMillis) {
    this.redis = redis;
    this.guard = RedisConversationStore.guard(vertx, "limits", redis, deadlineMillis);
  }

  /** Loads both scripts (once, at start-up), so the first turns do not pay for a NOSCRIPT and a compile. */
  Future<Void> load() {
    return redis.batch(List.of(Request.cmd(Command.SCRIPT).arg("LOAD").arg(ADMIT),
      Request.cmd(Command.SCRIPT).arg("LOAD").arg(SETTLE))).mapEmpty();
  }

  @Override
  public Future<Admission> admit(List<Scope> scopes, long reserve, long nowMillis, boolean count) {
    List<String> keys = new ArrayList<>(scopes.size() * 3);
    List<String> args = new ArrayList<>(2 + scopes.size() * 3);
    args.add(String.valueOf(reserve));
    args.add(count ? "1" : "0");
    for (Scope scope : scopes) {
      keys.add("sb:gov:rl:" + scope.name() + ":rpm");
      keys.add("sb:gov:rl:" + scope.name() + ":tpm");
      keys.add(scope.spendKey(nowMillis));
      Limits limits = scope.limits();
      args.add(String.valueOf(limits.rpmLimit()));
      args.add(String.valueOf(limits.tpmLimit()));
      args.add(limits.maxBudget() == null ? "-1" : plain(limits.maxBudget()));
    }
    return script(ADMIT, ADMIT_SHA, keys, args).map(out -> {
      String reason = out.get(0).toString();
      int at = out.get(1).toInteger();
      long second = out.get(2).toLong();
      List<ScopeState> states = new ArrayList<>(scopes.size());
      for (int i = 0; i < scopes.size(); i++) {
        int base = 3 + i * 5;
        states.add(new ScopeState(out.get(base).toLong(), out.get(base + 1).toLong(), out.get(base + 2).toLong(),
          out.get(base + 3).toLong(), Double.parseDouble(out.get(base + 4).toString())));
      }
      return new Admission(reason.isEmpty() ? null : reason, at == 0 ? null : scopes.get(at - 1), nowMillis, second,
        scopes, states, reserve, false);
    });
  }

  @Override
  public Future<Void> settle(Admission admission, long tokenDelta, double costUsd) {
    List<String> keys = new ArrayList<>();
    List<String> args = new ArrayList<>();
    args.add(String.valueOf(admission.second()));
    args.add(String.valueOf(tokenDelta));
    args.add(plain(costUsd));
    for (Scope scope : admission.scopes()) {
      keys.add("sb:gov:rl:" + scope.name() + ":tpm");
      keys.add(scope.spendKey(admission.nowMillis()));
      args.add(scope.limits().tpmLimit() > 0 ? "1" : "0");
      long end = scope.periodEnd(admission.nowMillis());
      // a period's counter outlives its period by a day: /v1/key/info and the admin API read the current one only
      args.add(String.valueOf(end == 0 ? 0 : (end - admission.nowMillis()) / 1000 + 86_400));
    }
    return script(SETTLE, SETTLE_SHA, keys, args).mapEmpty();
  }

  private Future<Response> script(String text, String sha, List<String> keys, List<String> args) {
    return guard.call(() -> redis.send(eval(Command.EVALSHA, sha, keys, args)).recover(failure ->
      failure.getMessage() != null && failure.getMessage().startsWith("NOSCRIPT")
        ? redis.send(eval(Command.EVAL, text, keys, args)) : Future.failedFuture(failure)));
  }

  private static Request eval(Command command, String script, List<String> keys, List<String> args) {
    Request request = Request.cmd(command).arg(script).arg(keys.size());
    keys.forEach(request::arg);
    args.forEach(request::arg);
    return request;
  }

  private static String plain(double value) {
    return BigDecimal.valueOf(value).toPlainString();
  }

  private static String sha1(String script) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is part of every Java runtime", e);
    }
  }
}

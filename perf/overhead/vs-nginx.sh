#!/usr/bin/env bash
# The external-upstream scenario: max throughput and latency of the gateway against a plain nginx reverse proxy in
# front of the same fixed-response upstream, and the upstream called directly, all interleaved in one run.
# The static upstream (perf/src StaticUpstream: a canned chat.completion, or a 16-chunk SSE stream; not the gateway's
# simulator), nginx (one worker, keep-alive upstream) and the gateway all run on core 0; wrk runs on core 1 (closed
# loop, CONNECTIONS connections). JSON turns and SSE streams. Per round: direct, nginx, then each gateway jar given
# (started fresh, warmed up, measured, stopped), so every figure of a round saw the same machine. With BARE=1 a bare
# Vert.x hop (perf/src BareProxy: server, pooled client, bytes relayed, nothing parsed; same core, same transport) is
# measured after nginx too: the floor Vert.x itself puts under the gateway.
#   perf/overhead/vs-nginx.sh JAR[:CONF] [JAR[:CONF] ...]   (e.g. an older build and verticles/target/switchboard.jar;
#   CONF defaults to perf/gateway.yaml: give an older jar the gateway.yaml of its own commit)
# Environment: ROUNDS (3), SECONDS_EACH (10), CONNECTIONS (64), WARMUP (60: seconds of JSON and SSE load at once on
# each gateway and the bare hop before measuring; a JVM pinned to one core shares it with its JIT compiler and needs
# about a minute to reach its plateau: each line's "jit" says how much of the run's CPU the compiler still took),
# GATEWAY_CPUS (0: the cores the gateway may use; "0,1" for the two-core figure — wrk then shares core 1 with it).
# Prints one line per target and mode, then the medians over the rounds. nginx is measured again after each target,
# and a target's ratio is its req/s over the mean of the nginx runs just before and after it, the median of those
# over the rounds (their range in brackets): this VM's speed can move by half within a round, and a ratio of two
# medians could pair one round's nginx with another round's gateway.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-3}
secs=${SECONDS_EACH:-10}
conns=${CONNECTIONS:-64}
warmup=${WARMUP:-60}
gateway_cpus=${GATEWAY_CPUS:-0}
perf_jar=perf/target/switchboard-perf.jar
[ -f "$perf_jar" ] || mvn -B -q -f perf/pom.xml package
out=$(mktemp)
# Everything it starts is stopped on exit, error, Ctrl-C or SIGTERM: the upstream, the gateway of the round, and its
# own nginx (its own pid file, so an nginx someone else runs from the same conf is left alone).
run=$(mktemp -d /tmp/vs-nginx.XXXXXX)
sed -e "s|^pid .*|pid $run/nginx.pid;|" -e "s|^error_log .*|error_log $run/nginx-error.log;|" \
  perf/overhead/nginx-static.conf > "$run/nginx.conf"
upstream=""; gw=""; nginx_started=""; bare=""; warming=""
cleanup() {
  set +e
  trap - INT TERM HUP
  for p in $warming $gw $bare $upstream; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "$nginx_started" ] && { nginx -s stop -c "$run/nginx.conf" 2>/dev/null || kill "$(cat "$run/nginx.pid")" 2>/dev/null; }
  rm -f "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
for port in 8080 8081 8082 8091 9090; do
  if (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use by a process this run did not start" >&2; exit 1; fi
done
await() { for _ in $(seq 1 120); do curl -sf -o /dev/null "$1" && return 0; sleep 0.5; done; echo "no answer from $1" >&2; exit 1; }
# cpu_ticks PID...: user + system CPU ticks the processes have used so far (all their threads)
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
# jit_ticks PID...: the CPU ticks of their JIT compiler threads ("C1 CompilerThre", "C2 CompilerThre"; 0 for nginx);
# the name holds a space, so utime and stime are read after the ") " that ends it in the stat line
jit_ticks() { local t=0 p f; for p in "$@"; do for f in /proc/"$p"/task/*; do
  case "$(cat "$f/comm" 2>/dev/null)" in C[12]\ Compiler*)
    t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "$f/stat" 2>/dev/null || echo 0)));; esac
  done; done; echo "$t"; }
tck=$(getconf CLK_TCK)
# measure NAME MODE URL PID...: req/s, p50 and p99 of one closed-loop wrk run, the CPU time the target's own
# processes (the PIDs) spent per request (unlike req/s, that figure barely moves when something else shares the core),
# and the share of it their JIT compiler took: a JVM still compiling in the measured run is not yet at its plateau
measure() {
  local name=$1 mode=$2 url=$3; shift 3
  local before jit_before; before=$(cpu_ticks "$@"); jit_before=$(jit_ticks "$@")
  taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency -s "perf/overhead/$mode-static.lua" "$url" > "$run/wrk.out"
  local used=$(( $(cpu_ticks "$@") - before )) jit=$(( $(jit_ticks "$@") - jit_before ))
  awk -v name="$name" -v mode="$mode" -v used="$used" -v jit="$jit" -v tck="$tck" -v secs="$secs" '
    $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2} /Requests\/sec/ {rps = $2} /Non-2xx|Socket errors/ {bad = bad " " $0}
    END {printf "%-28s %-4s %10.0f req/s  p50 %8s  p99 %8s  cpu %7.1f us/req  jit %4.1f%%%s\n", name, mode, rps, p50,
      p99, (rps > 0 ? used / tck * 1e6 / (rps * secs) : 0), (used > 0 ? 100 * jit / used : 0), bad}' "$run/wrk.out" \
    | tee -a "$out"
}
# measure_nginx MODE: nginx again, right after a target, so that each target's ratio is taken against the nginx
# figures measured just before and just after it (this VM's speed can move by half within a round)
measure_nginx() {
  # shellcheck disable=SC2046 # the master and its workers, one word each
  measure nginx "$1" http://127.0.0.1:8081/v1/chat/completions $(cat "$run/nginx.pid") $(pgrep -P "$(cat "$run/nginx.pid")")
}
# warm_up URL: WARMUP s of JSON and SSE load at once (two wrk on core 1), in runs of 20 s, so that the JVM compiles
# its code for both kinds of turn, as a gateway serving both does, and for connections closing and opening. Warmed
# one mode after the other, each switch sent compiled code back to the interpreter, and the gateway's measured JSON
# run spent 11.6-35.6% of its CPU in the JIT compiler (perf/results/2026-12-03-jit-in-measurements.md)
warm_up() {
  local left=$warmup each
  while [ "$left" -gt 0 ]; do
    each=$(( left < 20 ? left : 20 ))
    taskset -c 1 wrk -t1 -c"$conns" -d"${each}s" -s perf/overhead/json-static.lua "$1" > /dev/null &
    warming=$!
    taskset -c 1 wrk -t1 -c"$conns" -d"${each}s" -s perf/overhead/sse-static.lua "$1" > /dev/null
    wait "$warming"; warming=""
    left=$(( left - each ))
  done
}
taskset -c 0 java -Xmx512m -cp "$perf_jar" io.switchboard.perf.StaticUpstream port=8091 chunks=16 > /tmp/vs-nginx-upstream.log 2>&1 &
upstream=$!
await http://127.0.0.1:8091/v1/models
taskset -c 0 nginx -c "$run/nginx.conf"
nginx_started=1
await http://127.0.0.1:8081/v1/models
for mode in json sse; do # the upstream's own JIT warm-up
  taskset -c 1 wrk -t1 -c"$conns" -d5s -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8091/v1/chat/completions > /dev/null
done
for round in $(seq 1 "$rounds"); do
  echo "-- round $round"
  for mode in json sse; do
    measure direct "$mode" http://127.0.0.1:8091/v1/chat/completions "$upstream"
    measure_nginx "$mode"
  done
  if [ -n "${BARE:-}" ]; then
    taskset -c "$gateway_cpus" java -Xmx1g -cp "$perf_jar" io.switchboard.perf.BareProxy port=8082 upstream=8091 \
      > /tmp/vs-nginx-bare.log 2>&1 &
    bare=$!
    for _ in $(seq 1 120); do curl -s -o /dev/null http://127.0.0.1:8082/ && break; sleep 0.5; done
    warm_up http://127.0.0.1:8082/v1/chat/completions
    for mode in json sse; do
      measure vertx-bare "$mode" http://127.0.0.1:8082/v1/chat/completions "$bare"
    done
    kill "$bare"; wait "$bare" 2>/dev/null || true; bare=""
    for mode in json sse; do measure_nginx "$mode"; done
  fi
  for spec in "$@"; do
    jar=${spec%%:*}; conf=perf/gateway.yaml
    [ "$jar" != "$spec" ] && conf=${spec#*:}
    SWITCHBOARD_ACCESS_LOG=WARN taskset -c "$gateway_cpus" java -Xmx1g -jar "$jar" --conf "$conf" \
      > /tmp/vs-nginx-gateway.log 2>&1 &
    gw=$!
    await http://127.0.0.1:9090/health
    warm_up http://127.0.0.1:8080/v1/chat/completions
    for mode in json sse; do
      measure "$(basename "$jar")$([ "$conf" != perf/gateway.yaml ] && echo ":$(basename "$conf" .yaml)")" "$mode" \
        http://127.0.0.1:8080/v1/chat/completions "$gw"
    done
    kill "$gw"; wait "$gw" 2>/dev/null || true; gw=""
    for mode in json sse; do measure_nginx "$mode"; done
  done
done
echo "-- medians over $rounds round(s); ratio = req/s over the mean of the nginx runs just before and after (its range in brackets)"
awk '{key = $1 " " $2; rps[key] = rps[key] " " $3; p50[key] = p50[key] " " $6; p99[key] = p99[key] " " $8; cpu[key] = cpu[key] " " $10
    name[NR] = $1; mode[NR] = $2; r[NR] = $3 + 0}
  # sorted(list, a): the values of list (ms; us and s converted) sorted into a[1..n]; returns n
  function sorted(list, a,   n, i, j, t) { n = split(list, a, " ")
    for (i = 1; i <= n; i++) { sub(/ms$/, "", a[i]); if (a[i] ~ /us$/) { sub(/us$/, "", a[i]); a[i] /= 1000 } else if (a[i] ~ /s$/) { sub(/s$/, "", a[i]); a[i] *= 1000 } }
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n }
  function median(list,   a, n) { n = sorted(list, a); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  function spread(list,   a, n) { n = sorted(list, a); return sprintf(" [%.2f-%.2f]", a[1], a[n]) }
  END {
    for (i = 1; i <= NR; i++) {
      if (name[i] == "nginx") continue
      before = 0; after = 0
      for (j = i - 1; j >= 1; j--) if (name[j] == "nginx" && mode[j] == mode[i]) { before = r[j]; break }
      for (j = i + 1; j <= NR; j++) if (name[j] == "nginx" && mode[j] == mode[i]) { after = r[j]; break }
      ref = (before && after) ? (before + after) / 2 : before + after
      if (ref > 0) ratios[name[i] " " mode[i]] = ratios[name[i] " " mode[i]] " " r[i] / ref
    }
    for (k in rps) { split(k, km, " "); rr = median(rps[k])
      ratio = "1.00"; range = ""
      if (km[1] != "nginx") { ratio = sprintf("%.2f", median(ratios[k])); range = spread(ratios[k]) }
      printf "%-28s %-4s %10.0f req/s  ratio %s%-12s p50 %.2f ms  p99 %.2f ms  cpu %.1f us/req\n", km[1], km[2], rr, ratio, range, median(p50[k]), median(p99[k]), median(cpu[k]) } }' "$out" | sort -k2,2 -k3,3nr

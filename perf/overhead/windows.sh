#!/usr/bin/env bash
# One gateway JVM watched window by window: how long it takes to warm up and how much its CPU per request moves
# once warm. The static upstream and the gateway run on core 0 (as in vs-nginx.sh), wrk (closed loop, CONNECTIONS
# connections) on core 1; WINDOWS back-to-back wrk runs of SECS seconds each. Per window: req/s, the gateway's CPU
# per request in all, and split by thread group (vert.x-eventloop, C2/C1 CompilerThread, VM Thread = the Serial
# collector, ...), from /proc/PID/task/*/stat. Use it before trusting an A/B of vs-nginx.sh: a figure taken while
# the compiler threads still show is not the warm gateway's, and the spread of the warm windows is the noise any
# change has to beat.
#   perf/overhead/windows.sh JAR [json|sse] [WINDOWS (12)] [SECS (10)]
# Environment: CONNECTIONS (64), JAVA_OPTS (extra flags for the gateway JVM, e.g. -Xlog:gc:file=/tmp/gc.log).
set -euo pipefail
cd "$(dirname "$0")/../.."
jar=${1:?usage: perf/overhead/windows.sh JAR [json|sse] [WINDOWS] [SECS]}
mode=${2:-json}
windows=${3:-12}
secs=${4:-10}
conns=${CONNECTIONS:-64}
case $mode in json|sse) ;; *) echo "mode is json or sse, not $mode" >&2; exit 2 ;; esac
perf_jar=perf/target/switchboard-perf.jar
[ -f "$perf_jar" ] || mvn -B -q -f perf/pom.xml package
run=$(mktemp -d /tmp/windows.XXXXXX)
upstream=""; gw=""
cleanup() {
  set +e
  trap - INT TERM HUP
  for p in $gw $upstream; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
for port in 8080 8091 9090; do
  if (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use by a process this run did not start" >&2; exit 1; fi
done
await() { for _ in $(seq 1 120); do curl -sf -o /dev/null "$1" && return 0; sleep 0.5; done; echo "no answer from $1" >&2; exit 1; }
taskset -c 0 java -Xmx512m -cp "$perf_jar" io.switchboard.perf.StaticUpstream port=8091 chunks=16 > "$run/upstream.log" 2>&1 &
upstream=$!
await http://127.0.0.1:8091/v1/models
# shellcheck disable=SC2086 # JAVA_OPTS is a list of flags
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g ${JAVA_OPTS:-} -jar "$jar" --conf perf/gateway.yaml \
  > "$run/gateway.log" 2>&1 &
gw=$!
await http://127.0.0.1:9090/health
# ticks per thread group: the thread's name without its trailing number
ticks() {
  for t in /proc/"$gw"/task/*; do
    printf '%s\t%s\n' "$(cat "$t/comm" 2>/dev/null)" "$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)"
  done | awk -F'\t' '{n = $1; sub(/[-#]?[0-9]+$/, "", n); gsub(/ /, "_", n); c[n] += $2} END {for (k in c) print k "\t" c[k]}' | sort
}
tck=$(getconf CLK_TCK)
echo "$(basename "$jar") $mode: $windows windows of ${secs}s, $conns connections; CPU in us per request"
for w in $(seq 1 "$windows"); do
  ticks > "$run/before"
  taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -s "perf/overhead/$mode-static.lua" \
    http://127.0.0.1:8080/v1/chat/completions > "$run/wrk.out"
  ticks > "$run/after"
  rps=$(awk '/Requests\/sec/ {print $2}' "$run/wrk.out")
  join -t$'\t' "$run/before" "$run/after" | awk -F'\t' -v rps="${rps:-0}" -v secs="$secs" -v w="$w" -v tck="$tck" '
    function us(t) { return rps > 0 ? t / tck * 1e6 / (rps * secs) : 0 }
    {d = $3 - $2; if (d > 0) {total += d; if (us(d) >= 0.5) parts = parts sprintf("  %s %.1f", $1, us(d))}}
    END {printf "window %2d  %8.0f req/s  cpu %6.1f |%s\n", w, rps, us(total), parts}'
done

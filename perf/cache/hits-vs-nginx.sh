#!/usr/bin/env bash
# Cache hits against nginx serving the same bytes from a file, on one core: the gateway (one event loop) and nginx
# (one worker) on core 0, wrk on core 1. JSON and SSE hits; max throughput at 16 connections and latency at one.
#   perf/cache/hits-vs-nginx.sh [JAR]     (default verticles/target/switchboard.jar)
# Environment: SECONDS_EACH (10), WARMUP (40 seconds of hits before measuring).
set -euo pipefail
cd "$(dirname "$0")/../.."
jar=${1:-verticles/target/switchboard.jar}
secs=${SECONDS_EACH:-10}
warmup=${WARMUP:-40}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; nginx -s stop -c "$PWD/perf/cache/nginx-hit.conf" 2>/dev/null || true; }
trap cleanup EXIT
await() { for _ in $(seq 1 120); do curl -sf -o /dev/null "$1" && return 0; sleep 0.5; done; echo "no answer from $1" >&2; exit 1; }
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx512m -jar "$jar" --conf perf/cache/cache.yaml > /tmp/cache-hits-gateway.log 2>&1 &
pids+=($!)
await http://127.0.0.1:9090/health
mkdir -p /tmp/sb-cache-hit
json=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" perf/cache/hit-json.lua)
sse=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" perf/cache/hit-sse.lua)
curl -sf -H 'content-type: application/json' -d "$json" http://127.0.0.1:8080/v1/chat/completions > /dev/null  # the miss
curl -sf -D /tmp/sb-cache-hit/json.headers -H 'content-type: application/json' -d "$json" \
  http://127.0.0.1:8080/v1/chat/completions > /tmp/sb-cache-hit/json
curl -sfN -H 'content-type: application/json' -d "$sse" http://127.0.0.1:8080/v1/chat/completions > /tmp/sb-cache-hit/sse
grep -qi '^x-switchboard-cache: hit' /tmp/sb-cache-hit/json.headers || { echo "the second question was not a hit" >&2; exit 1; }
echo "hit bytes: json $(wc -c < /tmp/sb-cache-hit/json), sse $(wc -c < /tmp/sb-cache-hit/sse) ($(grep -c '^data: ' /tmp/sb-cache-hit/sse) events)"
taskset -c 0 nginx -c "$PWD/perf/cache/nginx-hit.conf"
await http://127.0.0.1:8082/json
for mode in json sse; do
  taskset -c 1 wrk -t1 -c16 -d"$((warmup / 2))s" -s "perf/cache/hit-$mode.lua" http://127.0.0.1:8080/v1/chat/completions > /dev/null
done
run() { # run URL LUA CONNECTIONS -> "req/s p50 p99"
  taskset -c 1 wrk -t1 -c"$3" -d"${secs}s" --latency -s "perf/cache/$2" "$1" |
    awk '/Requests\/sec/ {r=$2} $1 == "50%" {p50=$2} $1 == "99%" {p99=$2} /Non-2xx/ {print "NON2XX " $0 > "/dev/stderr"} END {print r, p50, p99}'
}
for mode in json sse; do
  read -r n n50 n99 <<< "$(run http://127.0.0.1:8082/$mode hit-$mode.lua 16)"
  read -r g g50 g99 <<< "$(run http://127.0.0.1:8080/v1/chat/completions hit-$mode.lua 16)"
  read -r _ n1p50 n1p99 <<< "$(run http://127.0.0.1:8082/$mode hit-$mode.lua 1)"
  read -r _ g1p50 g1p99 <<< "$(run http://127.0.0.1:8080/v1/chat/completions hit-$mode.lua 1)"
  echo "$mode hits, 16 connections: nginx $n req/s (p50 $n50, p99 $n99), gateway $g req/s (p50 $g50, p99 $g99), ratio $(awk -v g="$g" -v n="$n" 'BEGIN {printf "%.2f", g / n}')"
  echo "$mode hits, 1 connection:   nginx p50 $n1p50 p99 $n1p99, gateway p50 $g1p50 p99 $g1p99"
done
curl -s http://127.0.0.1:9090/metrics | grep '^switchboard_cache_lookups_total' || true

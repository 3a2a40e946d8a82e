#!/usr/bin/env bash
# Where the gateway's time goes on one core: the gateway (with JFR) and the static upstream on core 0, wrk on core 1,
# WARMUP seconds of load, then SECONDS_EACH seconds of JSON or SSE load recorded; prints the hottest methods (own
# time) and the hottest frames anywhere on the stack, from JFR's execution samples.
#   perf/overhead/profile.sh JAR json|sse [OUT.jfr]
# Environment: WARMUP (40), SECONDS_EACH (20), TOP (30).
set -euo pipefail
cd "$(dirname "$0")/../.."
jar=$1; mode=$2; out=${3:-/tmp/switchboard-$mode.jfr}
warmup=${WARMUP:-40}; secs=${SECONDS_EACH:-20}; top=${TOP:-30}
perf_jar=perf/target/switchboard-perf.jar
[ -f "$perf_jar" ] || mvn -B -q -f perf/pom.xml package
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'exit 130' INT # so that Ctrl-C and SIGTERM stop what it started too
trap 'exit 143' TERM
trap 'exit 129' HUP
await() { for _ in $(seq 1 120); do curl -sf -o /dev/null "$1" && return 0; sleep 0.5; done; echo "no answer from $1" >&2; exit 1; }
taskset -c 0 java -Xmx512m -cp "$perf_jar" io.switchboard.perf.StaticUpstream port=8091 chunks=16 > /tmp/profile-upstream.log 2>&1 &
pids+=($!)
await http://127.0.0.1:8091/v1/models
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g -XX:FlightRecorderOptions:stackdepth=512 -jar "$jar" --conf perf/gateway.yaml > /tmp/profile-gateway.log 2>&1 &
gw=$!; pids+=($gw)
await http://127.0.0.1:9090/health
taskset -c 1 wrk -t1 -c16 -d"${warmup}s" -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8080/v1/chat/completions > /dev/null
jcmd "$gw" JFR.start name=profile settings=profile filename="$out" > /dev/null
taskset -c 1 wrk -t1 -c16 -d"${secs}s" -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8080/v1/chat/completions | grep -E "Requests/sec|Latency"
jcmd "$gw" JFR.stop name=profile > /dev/null
jfr print --stack-depth 96 --events jdk.ExecutionSample "$out" | awk -v top="$top" '
  /^jdk.ExecutionSample/ { n++; first = 1; delete seen; next }
  /line:/ { sub(/^[ \t]+/, ""); sub(/[ \t]+line:.*/, ""); if (first) { self[$0]++; first = 0 } if (!($0 in seen)) { seen[$0] = 1; total[$0]++ } }
  END {
    printf "%d samples\n-- own time\n", n
    for (m in self) printf "%5.1f%%  %s\n", 100 * self[m] / n, m | "sort -rn | head -" top; close("sort -rn | head -" top)
    printf "-- on the stack\n"
    for (m in total) printf "%5.1f%%  %s\n", 100 * total[m] / n, m | "sort -rn | head -" top
  }'

#!/usr/bin/env bash
# Max throughput of the gateway against nginx in front of the same static upstream, on the same core.
# The static upstream (perf/src StaticUpstream, 16 chunks a stream), nginx and the gateway all run on core 0;
# wrk runs on core 1 (closed loop, -c16). JSON turns and SSE streams. Each gateway jar given is measured in turn,
# nginx between them, ROUNDS times, so every figure saw the same machine.
#   perf/overhead/vs-nginx.sh JAR [JAR ...]      (e.g. an older build and verticles/target/switchboard.jar)
# Environment: ROUNDS (2), SECONDS_EACH (10), WARMUP (60: seconds of JSON and SSE load before measuring; a JVM pinned
# to one core shares it with its JIT compiler, and needs about a minute to reach its plateau).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-2}
secs=${SECONDS_EACH:-10}
warmup=${WARMUP:-60}
perf_jar=perf/target/switchboard-perf.jar
[ -f "$perf_jar" ] || mvn -B -q -f perf/pom.xml package
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; nginx -s stop -c "$PWD/perf/overhead/nginx-static.conf" 2>/dev/null || true; }
trap cleanup EXIT
await() { for _ in $(seq 1 120); do curl -sf -o /dev/null "$1" && return 0; sleep 0.5; done; echo "no answer from $1" >&2; exit 1; }
rps() { # rps URL LUA
  taskset -c 1 wrk -t1 -c16 -d"${secs}s" -s "perf/overhead/$2" "$1" | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "NON2XX " $0 > "/dev/stderr"}'
}
taskset -c 0 java -Xmx512m -cp "$perf_jar" io.switchboard.perf.StaticUpstream port=8091 chunks=16 > /tmp/vs-nginx-upstream.log 2>&1 &
pids+=($!)
await http://127.0.0.1:8091/v1/models
taskset -c 0 nginx -c "$PWD/perf/overhead/nginx-static.conf"
await http://127.0.0.1:8081/v1/models
for mode in json sse; do
  taskset -c 1 wrk -t1 -c16 -d3s -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8081/v1/chat/completions > /dev/null
done
for round in $(seq 1 "$rounds"); do
  for jar in "$@"; do
    SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g -jar "$jar" --conf perf/gateway.yaml > /tmp/vs-nginx-gateway.log 2>&1 &
    gw=$!
    await http://127.0.0.1:9090/health
    for _ in 1 2; do
      for mode in json sse; do
        taskset -c 1 wrk -t1 -c16 -d"$((warmup / 4))s" -s "perf/overhead/$mode-static.lua" \
          http://127.0.0.1:8080/v1/chat/completions > /dev/null
      done
    done
    for mode in json sse; do
      n=$(rps http://127.0.0.1:8081/v1/chat/completions "$mode-static.lua")
      g=$(rps http://127.0.0.1:8080/v1/chat/completions "$mode-static.lua")
      p50=$(taskset -c 1 wrk -t1 -c1 -d"${secs}s" --latency -s "perf/overhead/$mode-static.lua" \
        http://127.0.0.1:8080/v1/chat/completions | awk '$1 == "50%" {print $2}')
      echo "round $round  $mode  $(basename "$jar")  nginx $n req/s  gateway $g req/s  ratio $(awk -v g="$g" -v n="$n" 'BEGIN {printf "%.2f", g / n}')  gateway p50 at one client $p50"
    done
    kill "$gw"; wait "$gw" 2>/dev/null || true
  done
done

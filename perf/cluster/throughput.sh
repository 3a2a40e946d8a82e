#!/usr/bin/env bash
# Cluster throughput and the cost of a cross-node hop, on loopback, in front of the static upstream (model "static").
#  1. one node alone (every verticle): req/s at CONNECTIONS connections and p50 at one connection;
#  2. three full nodes in one Hazelcast cluster, wrk driving all three at once: the aggregate req/s;
#  3. a front node (connection, session, routing) and a back node (inference-proxy): every turn crosses nodes
#     (request, reply, and for streams every chunk); p50 at one connection against 1.'s is the hop's cost.
# JSON and SSE. Everything shares this machine's cores (wrk included), so the aggregate says what a node costs, not
# what three machines would do. Bounded; stops everything it started.
#   perf/cluster/throughput.sh [SECONDS_EACH] [CONNECTIONS]     environment: JAR (verticles/target/switchboard.jar),
#   WARMUP (SECONDS_EACH: seconds of JSON, then of SSE, load per warm-up pass; each setup gets two passes). Three JVMs
#   share two cores, so each one's C2 compiler gets a third of the time it has alone: with 10 s passes the three-node
#   figure is mostly JIT (C2 was 58% of a node's samples after 30 s of load); 40 s passes reach the plateau.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-32}
warmup=${WARMUP:-$secs}
jar=${JAR:-verticles/target/switchboard.jar}
perf_jar=perf/target/switchboard-perf.jar
[ -f "$jar" ] || mvn -B -q package -DskipTests
[ -f "$perf_jar" ] || mvn -B -q -f perf/pom.xml package
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 2; }
out=$(mktemp -d)
pids=()
cleanup() { set +e; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
trap 'exit 130' INT # so that Ctrl-C and SIGTERM stop what it started too
trap 'exit 143' TERM
trap 'exit 129' HUP
await() { for _ in $(seq 1 240); do curl -sf -o /dev/null "$1" && return 0; sleep 0.5; done; echo "no answer from $1" >&2; exit 1; }
stop_nodes() { for p in "${nodes[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; nodes=(); }
nodes=()
node() { # name api_port mgmt_port simulator_port verticles cluster
  SWITCHBOARD_ACCESS_LOG=WARN SWITCHBOARD_SERVER_PORT=$2 SWITCHBOARD_MANAGEMENT_PORT=$3 SWITCHBOARD_SIMULATOR_PORT=$4 \
  SWITCHBOARD_SESSION_ALLOW_LOCAL_MEMORY_IN_CLUSTER=true \
    java -Xmx768m -jar "$jar" --conf perf/gateway.yaml $6 --verticles "$5" > "$out/$1.log" 2>&1 &
  nodes+=($!); pids+=($!)
}
all=connection,session,routing,inference-proxy,monitoring
# (each waits for its own wrk runs only: a bare `wait` would also wait for the nodes and the upstream, for ever)
warm() { local w; for mode in json sse; do w=(); for port in "$@"; do wrk -t1 -c8 -d"$warmup"s -s "perf/overhead/$mode-static.lua" "http://127.0.0.1:$port/v1/chat/completions" > /dev/null & w+=($!); done; wait "${w[@]}"; done; }
rps() { # mode port...: aggregate req/s of one wrk per port, run at once
  local mode=$1; shift; local files=()
  local w=()
  for port in "$@"; do wrk -t1 -c"$conns" -d"${secs}s" -s "perf/overhead/$mode-static.lua" "http://127.0.0.1:$port/v1/chat/completions" > "$out/rps-$port" & w+=($!); files+=("$out/rps-$port"); done
  wait "${w[@]}"; cat "${files[@]}" | awk '/Requests\/sec/ {s += $2} /Non-2xx|Socket errors/ {print "  " $0 > "/dev/stderr"} END {printf "%.0f", s}'
}
p50() { wrk -t1 -c1 -d"${secs}s" --latency -s "perf/overhead/$1-static.lua" "http://127.0.0.1:$2/v1/chat/completions" | awk '$1 == "50%" {print $2}'; }

java -Xmx512m -cp "$perf_jar" io.switchboard.perf.StaticUpstream port=8091 chunks=16 > "$out/upstream.log" 2>&1 &
pids+=($!)
await http://127.0.0.1:8091/v1/models

node alone 18080 19080 18090 "$all" ""
await http://127.0.0.1:19080/health
warm 18080; warm 18080
for mode in json sse; do
  echo "one node       $mode  $(rps "$mode" 18080) req/s at $conns connections; p50 at one connection $(p50 "$mode" 18080)"
done
stop_nodes

for i in 1 2 3; do node "node$i" "1808$i" "1908$i" "1809$i" "$all" --cluster; done
for i in 1 2 3; do await "http://127.0.0.1:1908$i/health"; done
warm 18081 18082 18083; warm 18081 18082 18083
for mode in json sse; do
  echo "three nodes    $mode  $(rps "$mode" 18081 18082 18083) req/s in all, $conns connections each"
done
stop_nodes

node back 18085 19085 18095 inference-proxy,monitoring --cluster
node front 18084 19084 18094 connection,session,routing,monitoring --cluster
await http://127.0.0.1:19085/health; await http://127.0.0.1:19084/health
for _ in $(seq 1 60); do curl -sf -o /dev/null -H 'content-type: application/json' -d '{"model":"static","messages":[{"role":"user","content":"hi"}]}' http://127.0.0.1:18084/v1/chat/completions && break; sleep 0.5; done
warm 18084; warm 18084
for mode in json sse; do
  echo "front → back   $mode  $(rps "$mode" 18084) req/s at $conns connections; p50 at one connection $(p50 "$mode" 18084)"
done
echo "logs in $out"

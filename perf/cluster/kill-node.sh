#!/usr/bin/env bash
# Cluster scenario: a front node (no inference) and two inference nodes on loopback; wrk drives chat turns at
# the front node for DURATION seconds; one inference node is killed with SIGKILL half-way. Prints how many
# requests were lost (non-2xx or socket errors). Bounded in time; stops every process it started.
#   perf/cluster/kill-node.sh [DURATION] [CONNECTIONS] [STREAM]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-30}
CONNECTIONS=${2:-16}
STREAM=${3:-false}
JAR=verticles/target/switchboard.jar
[ -f "$JAR" ] || mvn -B -q package -DskipTests
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 2; }
OUT=$(mktemp -d)
pids=() killer= load=
cleanup() { # the nodes, the killer and wrk, on exit, error, Ctrl-C or SIGTERM
  trap - INT TERM HUP
  for p in $killer $load "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in $killer $load "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

node() { # name api_port mgmt_port verticles
  SWITCHBOARD_ACCESS_LOG=WARN SWITCHBOARD_SERVER_PORT=$2 SWITCHBOARD_MANAGEMENT_PORT=$3 \
  SWITCHBOARD_SESSION_ALLOW_LOCAL_MEMORY_IN_CLUSTER=true SWITCHBOARD_SIMULATOR_TTFT_MS=20 SWITCHBOARD_SIMULATOR_TOKENS_PER_SECOND=200 SWITCHBOARD_SIMULATOR_REPLY_TOKENS=20 \
    java -Xmx512m -jar "$JAR" --cluster --verticles "$4" > "$OUT/$1.log" 2>&1 &
  pids+=($!)
}
node back-a 18081 19081 inference-proxy,monitoring
node back-b 18082 19082 inference-proxy,monitoring
node front 18080 19080 connection,session,routing,monitoring
for port in 19081 19082 19080; do
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.5; done
done
BODY="{\"model\":\"switchboard-simulator\",\"stream\":$STREAM,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
for _ in $(seq 1 60); do
  curl -sf -H 'content-type: application/json' -d "$BODY" http://127.0.0.1:18080/v1/chat/completions >/dev/null && break
  sleep 0.5
done
cat > "$OUT/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '$BODY'
LUA
victim=${pids[0]}
( nap=; trap 'kill $nap 2>/dev/null; exit 0' TERM # its sleep goes with it
  sleep $((DURATION / 2)) & nap=$!
  wait "$nap"
  echo "killing back-a (SIGKILL) at $(date +%T.%N)"; kill -9 "$victim" ) &
killer=$!
# in the background and waited for, so that a signal stops the run at once
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$OUT/post.lua" http://127.0.0.1:18080/v1/chat/completions \
  > "$OUT/wrk.txt" &
load=$!
wait "$load"
load=
cat "$OUT/wrk.txt"
wait "$killer"
killer=
grep -E "Non-2xx|Socket errors" "$OUT/wrk.txt" || echo "lost requests: 0 (no non-2xx responses, no socket errors)"
echo "front saw: $(grep -c 'left' "$OUT/front.log" || true) departure(s)"
curl -s http://127.0.0.1:19080/metrics | grep -E '^switchboard_(stream_rescued|routing_node_lost|routing_retries)' || true
echo "logs in $OUT"

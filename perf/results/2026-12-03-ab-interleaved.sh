#!/usr/bin/env bash
# perf/results/2026-12-03-ab-interleaved.sh JAR_A JAR_B [PAIRS (6)]: an A/B of two gateway jars that this VM's drift
# does not decide. Both gateways run at once on core 0 beside the static upstream (A on 8080 with perf/gateway.yaml,
# B on 8083 with its ports moved), each warmed with JSON and SSE load at once (3 runs of 20 s, and A one more after B's); then PAIRS pairs of
# 10 s wrk -c64 runs on core 1, JSON then SSE, alternating which goes first. Prints req/s and the gateway's CPU µs a
# request for each run: compare the runs of a pair, not runs far apart.
set -u
cd "$(dirname "$0")/../.."
a=$(readlink -f "$1"); b=$(readlink -f "$2"); n=${3:-6}
for port in 8080 8083 8090 8091 8095 9090 9093; do
  if (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use by a process this run did not start" >&2; exit 1; fi
done
tmp=$(mktemp -d)
sed -e 's/^server: {port: 8080,/server: {port: 8083,/; s/^management: {port: 9090}/management: {port: 9093}/' \
  -e 's/^simulator: {port: 8090,/simulator: {port: 8095,/' perf/gateway.yaml > "$tmp/gateway-b.yaml"
pids=(); background=
trap 'kill "${pids[@]}" $background 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
taskset -c 0 java -Xmx512m -cp perf/target/switchboard-perf.jar io.switchboard.perf.StaticUpstream port=8091 chunks=16 \
  > "$tmp/up.log" 2>&1 &
pids+=($!)
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g -jar "$a" --conf perf/gateway.yaml > "$tmp/a.log" 2>&1 &
pa=$!; pids+=("$pa")
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g -jar "$b" --conf "$tmp/gateway-b.yaml" > "$tmp/b.log" 2>&1 &
pb=$!; pids+=("$pb")
for url in http://127.0.0.1:8091/v1/models http://127.0.0.1:9090/health http://127.0.0.1:9093/health; do
  for _ in $(seq 1 120); do curl -sf -o /dev/null "$url" && break; sleep 0.5; done
done
warm() {
  for _ in $(seq 1 "$2"); do
    taskset -c 1 wrk -t1 -c64 -d20s -s perf/overhead/json-static.lua "$1" > /dev/null &
    background=$!
    taskset -c 1 wrk -t1 -c64 -d20s -s perf/overhead/sse-static.lua "$1" > /dev/null
    wait "$background"; background=
  done
}
warm http://127.0.0.1:8080/v1/chat/completions 3
warm http://127.0.0.1:8083/v1/chat/completions 3
# A again: idle through B's warm-up, its first run was a third slower than the rest (2 runs of 2)
warm http://127.0.0.1:8080/v1/chat/completions 1
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# one NAME PORT PID MODE: a 10 s run and the gateway's CPU in it
one() {
  local before rps
  before=$(ticks "$3")
  rps=$(taskset -c 1 wrk -t1 -c64 -d10s -s "perf/overhead/$4-static.lua" "http://127.0.0.1:$2/v1/chat/completions" \
    | awk '/Requests\/sec/ {print $2}')
  awk -v name="$1" -v mode="$4" -v rps="$rps" -v used=$(( $(ticks "$3") - before )) -v tck="$(getconf CLK_TCK)" \
    'BEGIN {printf "%s %s %.0f req/s %.1f us/req\n", name, mode, rps, (rps > 0 ? used / tck * 1e6 / (rps * 10) : 0)}'
}
for mode in json sse; do
  for i in $(seq 1 "$n"); do
    if [ $((i % 2)) = 1 ]; then one A 8080 "$pa" "$mode"; one B 8083 "$pb" "$mode"
    else one B 8083 "$pb" "$mode"; one A 8080 "$pa" "$mode"; fi
  done
done

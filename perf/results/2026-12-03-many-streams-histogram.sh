#!/usr/bin/env bash
# perf/results/2026-12-03-many-streams-histogram.sh JAR RATE: the gateway on core 0, paced many-streams streams at RATE/s for 20 s from core 1;
# jcmd GC.class_histogram (after a full GC) idle and 13 s in; bytes and objects per open client socket, by class
set -u
cd "$(dirname "$0")/../.."
jar=$1; rate=$2
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g ${JOPTS:-} -jar "$jar" --conf perf/gateway.yaml > /tmp/h-gateway.log 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null; wait $gw 2>/dev/null' EXIT
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:9090/health && break; sleep 0.5; done
sleep 2
jcmd $gw GC.class_histogram > /tmp/h-idle.txt
( sleep 13; jcmd $gw GC.class_histogram > /tmp/h-held.txt; ss -Htn state established "( sport = :8080 )" | wc -l > /tmp/h-sockets ) &
prober=$!
taskset -c 1 java -jar perf/target/switchboard-perf.jar mode=sse rate=$rate duration=20 warmup=0 connections=9000 model=many-streams timeout_ms=30000 targets=http://127.0.0.1:8080/v1/chat/completions 2>&1 | grep -E "first token|fired|ok" | head
wait $prober
n=$(cat /tmp/h-sockets)
echo "sockets at probe: $n; idle $(tail -1 /tmp/h-idle.txt); held $(tail -1 /tmp/h-held.txt)"
awk -v n="$n" 'FNR == 1 {file++} $1 ~ /^[0-9]+:$/ { if (file == 1) {ai[$4] = $2; ab[$4] = $3} else {hi[$4] = $2; hb[$4] = $3} }
  END { for (c in hb) { d = hb[c] - ab[c]; if (d > 0) printf "%10.1f B %8.2f objects  %s\n", d / n, (hi[c] - ai[c]) / n, c } }' /tmp/h-idle.txt /tmp/h-held.txt | sort -rn | head -45

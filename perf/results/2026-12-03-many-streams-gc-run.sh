#!/usr/bin/env bash
# perf/results/2026-12-03-many-streams-gc-run.sh JAR TAG [perf/run args]: the gateway (core 0, -Xmx1g plus JOPTS, a GC log in /tmp/gc-TAG.log,
# config CONF or perf/gateway.yaml) started here, then perf/run many-streams gateway=off; the GC pauses summed
set -u
cd "$(dirname "$0")/../.."
jar=$1; tag=$2; shift 2
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g ${JOPTS:-} -Xlog:gc:file=/tmp/gc-$tag.log -jar "$jar" --conf ${CONF:-perf/gateway.yaml} > /tmp/msg-gateway.log 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null; wait $gw 2>/dev/null' EXIT
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:9090/health && break; sleep 0.5; done
c0=$(awk '{print $14+$15}' /proc/$gw/stat)
perf/run many-streams gateway=off "$@" 2>&1 | tail -8
c1=$(awk '{print $14+$15}' /proc/$gw/stat)
echo "gateway cpu during perf/run (warm-up included): $(( (c1-c0)*10 )) ms"
python3 perf/results/2026-12-03-gc-pauses.py /tmp/gc-$tag.log

#!/usr/bin/env bash
# perf/results/2026-12-03-alloc-per-request.sh JAR json|sse [WARM (40)] [SECS (20)]: the static upstream and the gateway on core 0, wrk -c64 on core 1;
# after WARM s of load, allocated bytes per request (jvm_gc_memory_allocated_bytes_total) and cpu/request
set -u
cd "$(dirname "$0")/../.."
jar=$1; mode=$2; warm=${3:-40}; secs=${4:-20}
taskset -c 0 java -Xmx512m -cp perf/target/switchboard-perf.jar io.switchboard.perf.StaticUpstream port=8091 chunks=16 > /tmp/a-up.log 2>&1 &
up=$!
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:8091/v1/models && break; sleep 0.5; done
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g -jar "$jar" --conf perf/gateway.yaml > /tmp/a-gw.log 2>&1 &
gw=$!
trap 'kill $gw $up 2>/dev/null; wait $gw $up 2>/dev/null' EXIT
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:9090/health && break; sleep 0.5; done
taskset -c 1 wrk -t1 -c64 -d${warm}s -s perf/overhead/$mode-static.lua http://127.0.0.1:8080/v1/chat/completions > /dev/null
m() { curl -s http://127.0.0.1:9090/metrics | awk '/^jvm_gc_memory_allocated_bytes_total/ {print $NF}'; }
a0=$(m); c0=$(awk '{print $14+$15}' /proc/$gw/stat)
r=$(taskset -c 1 wrk -t1 -c64 -d${secs}s -s perf/overhead/$mode-static.lua http://127.0.0.1:8080/v1/chat/completions | awk '/^ *[0-9]+ requests in/ {print $1}')
a1=$(m); c1=$(awk '{print $14+$15}' /proc/$gw/stat)
python3 -c "print('$(basename $jar) $mode: %d requests, %.0f bytes allocated a request, %.1f us cpu a request' % ($r, ($a1-$a0)/$r, ($c1-$c0)*1e4/$r))"

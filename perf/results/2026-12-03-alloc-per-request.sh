#!/usr/bin/env bash
# perf/results/2026-12-03-alloc-per-request.sh JAR json|sse [WARM (40)] [SECS (20)]: the static upstream and the gateway
# on core 0, wrk -c64 on core 1; after WARM s of load, SECS s measured: the bytes the gateway allocated a request
# (jvm_gc_memory_allocated_bytes_total, which moves at each collection: a full GC (jcmd GC.run) before each reading
# makes both readings exact) and its CPU a request.
set -u
jar=$(readlink -f "$1"); mode=$2; warm=${3:-40}; secs=${4:-20}
cd "$(dirname "$0")/../.."
for port in 8080 8091 9090; do
  if (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use by a process this run did not start" >&2; exit 1; fi
done
up=; gw=
trap 'kill $gw $up 2>/dev/null; wait $gw $up 2>/dev/null' EXIT
taskset -c 0 java -Xmx512m -cp perf/target/switchboard-perf.jar io.switchboard.perf.StaticUpstream port=8091 chunks=16 > /tmp/a-up.log 2>&1 &
up=$!
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:8091/v1/models && break; sleep 0.5; done
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g -jar "$jar" --conf perf/gateway.yaml > /tmp/a-gw.log 2>&1 &
gw=$!
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:9090/health && break; sleep 0.5; done
taskset -c 1 wrk -t1 -c64 -d"${warm}s" -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8080/v1/chat/completions > /dev/null
allocated() {
  jcmd "$gw" GC.run > /dev/null
  curl -s http://127.0.0.1:9090/metrics | awk '/^jvm_gc_memory_allocated_bytes_total/ {print $NF}'
}
cpu() { awk '{print $14 + $15}' "/proc/$gw/stat"; }
a0=$(allocated); c0=$(cpu)
r=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8080/v1/chat/completions | awk '/^ *[0-9]+ requests in/ {print $1}')
c1=$(cpu); a1=$(allocated)
python3 -c "print('$(basename "$jar") $mode: %d requests, %.0f bytes allocated a request, %.1f us cpu a request' % ($r, ($a1 - $a0) / $r, ($c1 - $c0) * 1e6 / $(getconf CLK_TCK) / $r))"

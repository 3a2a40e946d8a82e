#!/usr/bin/env bash
# perf/results/2026-12-03-alloc-per-request.sh JAR json|sse [WARM (40)] [SECS (20)]: the static upstream and the gateway
# on core 0, wrk -c64 on core 1; after WARM s of load, SECS s measured: the bytes the gateway allocated a request
# (jvm_gc_memory_allocated_bytes_total, which moves at each collection: a full GC (jcmd GC.run) before each reading
# makes both readings exact) and its CPU a request.
set -u
jar=$(readlink -f "$1"); mode=$2; warm=${3:-40}; secs=${4:-20}
cd "$(dirname "$0")/../.."
. perf/results/static-bench.sh
bench_free 8080 8091 9090
bench_upstream a
bench_gateway "$jar" a
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

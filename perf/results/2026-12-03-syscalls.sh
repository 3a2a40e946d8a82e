#!/usr/bin/env bash
# perf/results/2026-12-03-syscalls.sh JAR json|sse [WARM (20)]: the system calls the gateway makes under load. The
# static upstream and the gateway on core 0; after WARM s of wrk -c64, `strace -c -f` on the gateway for 8 s of
# wrk -c16 (the call counts over the requests wrk reports: one read and one write a side means one each a turn).
set -u
cd "$(dirname "$0")/../.."
jar=$(readlink -f "$1"); mode=$2; warm=${3:-20}
. perf/results/static-bench.sh
bench_free 8080 8091 9090
bench_upstream s
bench_gateway "$jar" s
taskset -c 1 wrk -t1 -c64 -d"${warm}s" -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8080/v1/chat/completions > /dev/null
timeout 12 strace -c -f -p "$gw" -o "/tmp/syscalls-$mode.txt" &
st=$!
sleep 1
taskset -c 1 wrk -t1 -c16 -d8s -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8080/v1/chat/completions | grep -E "requests in"
wait $st
grep -E "calls|writev|sendto|recvfrom|gettid" "/tmp/syscalls-$mode.txt"

#!/usr/bin/env bash
# perf/results/2026-12-03-syscalls.sh JAR json|sse [WARM (20)]: the system calls the gateway makes under load. The
# static upstream and the gateway on core 0; after WARM s of wrk -c64, `strace -c -f` on the gateway for 8 s of
# wrk -c16 (the call counts over the requests wrk reports: one read and one write a side means one each a turn).
set -u
cd "$(dirname "$0")/../.."
jar=$(readlink -f "$1"); mode=$2; warm=${3:-20}
for port in 8080 8091 9090; do
  if (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use by a process this run did not start" >&2; exit 1; fi
done
up=; gw=
trap 'kill $gw $up 2>/dev/null; wait $gw $up 2>/dev/null' EXIT
taskset -c 0 java -Xmx512m -cp perf/target/switchboard-perf.jar io.switchboard.perf.StaticUpstream port=8091 chunks=16 > /tmp/s-up.log 2>&1 &
up=$!
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:8091/v1/models && break; sleep 0.5; done
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g -jar "$jar" --conf perf/gateway.yaml > /tmp/s-gw.log 2>&1 &
gw=$!
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:9090/health && break; sleep 0.5; done
taskset -c 1 wrk -t1 -c64 -d"${warm}s" -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8080/v1/chat/completions > /dev/null
timeout 12 strace -c -f -p "$gw" -o "/tmp/syscalls-$mode.txt" &
st=$!
sleep 1
taskset -c 1 wrk -t1 -c16 -d8s -s "perf/overhead/$mode-static.lua" http://127.0.0.1:8080/v1/chat/completions | grep -E "requests in"
wait $st
grep -E "calls|writev|sendto|recvfrom|gettid" "/tmp/syscalls-$mode.txt"

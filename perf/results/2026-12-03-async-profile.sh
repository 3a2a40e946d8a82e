#!/usr/bin/env bash
# perf/results/2026-12-03-async-profile.sh JAR|bare json|sse itimer|alloc OUT [WARM (70)]: the static upstream and the
# gateway (or, for "bare", perf/src BareProxy on port 8082) on core 0, WARM s of wrk -c64 load on core 1 in runs of
# 20 s, then async-profiler 4.1 (from the local Maven repository, loaded at start-up) started for 20 s of the same
# load; OUT gets collapsed stacks (itimer: CPU samples every 1 ms; alloc: allocation samples every 16 KB, weighted by
# bytes). Prints req/s and the target's CPU ticks in the 20 s. perf/results/2026-12-03-profile-layers.py sorts the
# samples into layers.
set -u
cd "$(dirname "$0")/../.."
jar=$1; [ "$jar" = bare ] || jar=$(readlink -f "$jar"); mode=$2; ev=$3; out=$4; warm=${5:-70}
lib=/tmp/ap/linux-x64/libasyncProfiler.so
if [ ! -f "$lib" ]; then
  mkdir -p /tmp/ap && (cd /tmp/ap && unzip -oq ~/.m2/repository/tools/profiler/async-profiler/4.1/async-profiler-4.1.jar)
fi
. perf/results/static-bench.sh
bench_free 8080 8082 8091 9090
bench_upstream p
# the agent is loaded at start-up and started later; loaded then, with -XX:+DebugNonSafepoints, or attached only when
# started, the compiler's share of the profile was the same (14.2, 13.1, 12.0%): the warm-up's runs are what matter
java_opts=(-Xmx1g -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints -agentpath:"$lib")
if [ "$jar" = bare ]; then
  taskset -c 0 java "${java_opts[@]}" -cp perf/target/switchboard-perf.jar io.switchboard.perf.BareProxy port=8082 \
    upstream=8091 > /tmp/p-gw.log 2>&1 &
  gw=$!; url=http://127.0.0.1:8082/v1/chat/completions
  bench_await http://127.0.0.1:8082/ any
else
  bench_gateway "$jar" p "${java_opts[@]}"; url=http://127.0.0.1:8080/v1/chat/completions
fi
# the warm-up in runs of 20 s: the first runs' ends (64 connections closing) send hot compiled code back to the
# interpreter, and C2 compiles it again in the next run (7.8% of the gateway's CPU in the first 20 s after one long
# warm-up run, 0.2% by the fourth): a profile after a single warm-up run shows that compiler at work
for _ in $(seq 1 $(( (warm + 19) / 20 ))); do
  taskset -c 1 wrk -t1 -c64 -d20s -s "perf/overhead/$mode-static.lua" "$url" > /dev/null
done
if [ "$ev" = alloc ]; then opts="start,event=alloc,alloc=16k,total"; else opts="start,event=itimer,interval=1ms"; fi
# the inner quotes matter: without them jcmd splits the options at '='
jcmd "$gw" JVMTI.agent_load "$lib" "\"$opts\"" > /dev/null
c0=$(awk '{print $14+$15}' "/proc/$gw/stat")
taskset -c 1 wrk -t1 -c64 -d20s -s "perf/overhead/$mode-static.lua" "$url" | grep -E "Requests/sec"
c1=$(awk '{print $14+$15}' "/proc/$gw/stat")
echo "cpu ticks in the 20 s: $((c1 - c0))"
jcmd "$gw" JVMTI.agent_load "$lib" "\"stop,file=$out,collapsed\"" > /dev/null

#!/usr/bin/env bash
# perf/results/2026-12-03-many-streams-node-gc-run.sh JAR TAG itimer|alloc|none [perf/run args]: the gateway on core 0 (-Xmx1g plus JOPTS,
# a GC log in /tmp/ms/gc-TAG.log), then perf/run many-streams-node gateway=off; with itimer or alloc, async-profiler
# (ASYNC_PROFILER, default /tmp/ap/linux-x64/libasyncProfiler.so) records 10 s from PROFILE_AT (110) s after the gateway answered
# (inside the measured phase: perf/run first starts the simulator node, then 90 s of warm-up and a lull of a few s)
# into /tmp/ms/prof-TAG-EVENT.txt (collapsed stacks); the GC pauses summed at the end.
set -u
cd "$(dirname "$0")/../.."; mkdir -p /tmp/ms
[ $# -ge 3 ] || { echo "usage: $0 JAR TAG itimer|alloc|none [perf/run args]" >&2; exit 2; }
jar=$1; tag=$2; ev=$3; shift 3
prof=
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g ${JOPTS:-} -Xlog:gc:file=/tmp/ms/gc-$tag.log -jar "$jar" --conf perf/gateway.yaml > /tmp/ms/gw-$tag.log 2>&1 &
gw=$!
trap 'kill $prof $gw 2>/dev/null; wait $gw 2>/dev/null' EXIT
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:9090/health && break; sleep 0.5; done
c0=$(awk '{print $14+$15}' /proc/$gw/stat)
if [ "$ev" != none ]; then
 ( sleep ${PROFILE_AT:-110}; if [ "$ev" = alloc ]; then o="start,event=alloc,alloc=256k"; else o="start,event=itimer,interval=1ms"; fi
   jcmd $gw JVMTI.agent_load ${ASYNC_PROFILER:-/tmp/ap/linux-x64/libasyncProfiler.so} "\"$o\"" >/dev/null; a=$(awk '{print $14+$15}' /proc/$gw/stat); sleep 10
   jcmd $gw JVMTI.agent_load ${ASYNC_PROFILER:-/tmp/ap/linux-x64/libasyncProfiler.so} "\"stop,file=/tmp/ms/prof-$tag-$ev.txt,collapsed\"" >/dev/null
   b=$(awk '{print $14+$15}' /proc/$gw/stat); echo "profiled window: gateway cpu $(( (b-a)*1000/$(getconf CLK_TCK) )) ms in 10 s" ) &
  prof=$!
fi
perf/run many-streams-node gateway=off out=/tmp/ms/res-$tag.json "$@" 2>&1 | tail -7
c1=$(awk '{print $14+$15}' /proc/$gw/stat)
echo "gateway cpu during perf/run: $(( (c1-c0)*1000/$(getconf CLK_TCK) )) ms"
[ -n "$prof" ] && wait $prof 2>/dev/null
python3 perf/results/2026-12-03-gc-pauses.py /tmp/ms/gc-$tag.log

#!/usr/bin/env bash
# perf/results/2026-12-03-jit-after-restart.sh JAR [WARM (100)] [WINDOW (20)] [JAVA_OPTS]: the static upstream and the
# gateway on core 0; WARM s of wrk -c64 JSON load on core 1 (MODE=sse for streams), then four more wrk runs of WINDOW s
# each, fresh connections every time. Prints, for each run, req/s and the CPU ticks each kind of gateway thread used
# in it (event loop, C2/C1 compiler, VM thread...), and the JVM's own compilation count and time (jstat -compiler)
# around the first: how much the JIT compiler still takes once the load restarts.
set -u
cd "$(dirname "$0")/../.."
jar=$(readlink -f "$1"); warm=${2:-100}; win=${3:-20}; extra=${4:-}
for port in 8080 8091 9090; do
  if (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use by a process this run did not start" >&2; exit 1; fi
done
tmp=$(mktemp -d)
up=; gw=
trap 'kill $gw $up 2>/dev/null; wait $gw $up 2>/dev/null; rm -rf "$tmp"' EXIT
taskset -c 0 java -Xmx512m -cp perf/target/switchboard-perf.jar io.switchboard.perf.StaticUpstream port=8091 chunks=16 > "$tmp/up.log" 2>&1 &
up=$!
for _ in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:8091/v1/models && break; sleep 0.5; done
# shellcheck disable=SC2086 # JAVA_OPTS: several words
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g $extra -jar "$jar" --conf perf/gateway.yaml > "$tmp/gw.log" 2>&1 &
gw=$!
for _ in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:9090/health && break; sleep 0.5; done
# snap: CPU ticks so far per thread name (the first 15 characters, spaces as _), summed over threads of that name
# (a thread's name may hold spaces, "C2 CompilerThre": utime and stime are read after the ") " that ends it)
snap() { for t in /proc/$gw/task/*; do echo "$(tr ' ' _ < "$t/comm" 2>/dev/null) $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "$t/stat" 2>/dev/null)"; done \
  | awk 'NF == 2 {a[$1] += $2} END {for (k in a) print k, a[k]}' | sort; }
load() { taskset -c 1 wrk -t1 -c64 -d"$1s" -s "perf/overhead/${MODE:-json}-static.lua" http://127.0.0.1:8080/v1/chat/completions; }
load "$warm" > /dev/null
echo "jstat -compiler before the first run: $(jstat -compiler "$gw" | tail -1)"
for i in 1 2 3 4; do
  snap > "$tmp/a"
  echo "run $i: $(load "$win" | awk '/Requests\/sec/ {print $2 " req/s"}')"
  snap > "$tmp/b"
  [ "$i" = 1 ] && echo "jstat -compiler after it: $(jstat -compiler "$gw" | tail -1)"
  join "$tmp/a" "$tmp/b" | awk '$3 > $2 {print "  " $3 - $2 " ticks " $1}' | sort -k1,1nr | head -8
done

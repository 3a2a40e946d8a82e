#!/usr/bin/env bash
# /tmp/ms-run.sh JAR YAML OUT [extra loadgen args]: gateway pinned to core 0, generator to core 1; jcmd histogram at the plateau
set -u
jar=$1 yaml=$2 out=$3; shift 3
cd /work/wt-manystreams
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g -jar "$jar" --conf "$yaml" > /tmp/ms-gateway.log 2>&1 &
gw=$!
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:19090/health && break; sleep 0.5; done
# warm nothing: the idle heap first
sleep 2
cpu0=$(awk '{print $14+$15}' /proc/$gw/stat)
[ "${HISTO:-0}" = 1 ] && jcmd $gw GC.class_histogram > /tmp/ms-histo-idle.txt 2>&1
( sleep 10.5; [ "${HISTO:-0}" = 1 ] && jcmd $gw GC.class_histogram > /tmp/ms-histo-plateau.txt 2>&1; ls /proc/$gw/fd | wc -l > /tmp/ms-fds.txt;
  curl -s http://127.0.0.1:19090/metrics > /tmp/ms-metrics-plateau.txt ) &
sampler=$!
taskset -c 1 java -jar perf/target/switchboard-perf.jar scenario=perf/scenarios/many-streams.properties \
  "command=/tmp/ms-run.sh $jar $yaml $out $*" "$@" out="$out" 2>&1 | tail -40
wait $sampler
curl -s http://127.0.0.1:19090/metrics > /tmp/ms-metrics-end.txt
echo "gateway cpu during the run: $(( ($(awk '{print $14+$15}' /proc/$gw/stat) - cpu0) * 10 )) ms"
kill $gw; wait $gw 2>/dev/null
echo "heap idle: $(tail -1 /tmp/ms-histo-idle.txt)"; echo "heap plateau: $(tail -1 /tmp/ms-histo-plateau.txt)"; echo "gateway fds at plateau: $(cat /tmp/ms-fds.txt)"
grep -c "ERROR\|WARN" /tmp/ms-gateway.log; grep "ERROR\|WARN" /tmp/ms-gateway.log | cut -c1-200 | sort | uniq -c | sort -rn | head -5

#!/usr/bin/env bash
# perf/results/2026-12-03-websocket-deflate.sh JAR [SOCKETS (2000)]: the gateway (perf/gateway.yaml) on core 0; on
# core 1, SOCKETS WebSockets that do not offer permessage-deflate, then SOCKETS that do (as browsers do), each one chat
# turn and then held open (perf/results/2026-12-03-WsDeflate.java). For each, the gateway's live heap (the Total of
# GC.class_histogram, after a full GC) and resident memory (VmRSS) while they are open, over those before, per socket.
# OFFERS="true" measures only the offering sockets (memory the first batch freed is reused by the second).
set -u
cd "$(dirname "$0")/../.."
jar=$(readlink -f "$1"); n=${2:-2000}
for port in 8080 9090; do
  if (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use by a process this run did not start" >&2; exit 1; fi
done
[ -f perf/target/switchboard-perf.jar ] || mvn -B -q -f perf/pom.xml package
gw=; c=
trap 'kill $gw $c 2>/dev/null; wait $gw $c 2>/dev/null' EXIT
SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g -jar "$jar" --conf perf/gateway.yaml > /tmp/ws-deflate-gw.log 2>&1 &
gw=$!
for _ in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:9090/health && break; sleep 0.5; done
clients() { taskset -c 1 java -cp perf/target/switchboard-perf.jar perf/results/2026-12-03-WsDeflate.java "$@"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$gw/status"; }
heap() { jcmd "$gw" GC.class_histogram | tail -1 | awk '{print $3}'; }
clients 200 true 1 > /dev/null; clients 200 false 1 > /dev/null   # both paths run once before measuring
for offer in ${OFFERS:-false true}; do
  h0=$(heap); r0=$(rss)
  clients "$n" "$offer" 25 > /tmp/ws-deflate-clients.txt &
  c=$!
  sleep 22
  h1=$(heap); r1=$(rss)
  wait "$c"; sleep 3
  echo "offer deflate=$offer: $(cat /tmp/ws-deflate-clients.txt)"
  echo "  heap +$(( (h1 - h0) / n )) B a socket, resident +$(( (r1 - r0) * 1024 / n )) B a socket (VmRSS $r0 -> $r1 kB)"
done

# Sourced by the 2026-12-03 scripts beside it: the static upstream (port 8091) and a gateway (perf/gateway.yaml, API
# 8080, management 9090) on core 0, each waited for; both stopped when the script exits.
#   bench_free PORT...            exit 1 when a port is taken by a process the script did not start
#   bench_upstream TAG            starts the static upstream (log /tmp/TAG-up.log), sets $up
#   bench_gateway JAR TAG [OPT..] starts the gateway with java OPTs (log /tmp/TAG-gw.log), sets $gw
up=; gw=
trap 'kill $gw $up 2>/dev/null; wait $gw $up 2>/dev/null' EXIT
bench_free() {
  local port
  for port in "$@"; do
    if (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use by a process this run did not start" >&2; exit 1; fi
  done
}
#   bench_await URL [any]         waits for a 2xx answer (with "any": for any answer)
bench_await() {
  local _ flags=-sf
  [ "${2:-}" = any ] && flags=-s
  for _ in $(seq 1 120); do curl $flags -o /dev/null "$1" && return 0; sleep 0.5; done
  echo "no answer from $1" >&2; exit 1
}
bench_upstream() {
  taskset -c 0 java -Xmx512m -cp perf/target/switchboard-perf.jar io.switchboard.perf.StaticUpstream port=8091 chunks=16 \
    > "/tmp/$1-up.log" 2>&1 &
  up=$!
  bench_await http://127.0.0.1:8091/v1/models
}
bench_gateway() {
  local jar=$1 tag=$2; shift 2
  SWITCHBOARD_ACCESS_LOG=WARN taskset -c 0 java -Xmx1g "$@" -jar "$jar" --conf perf/gateway.yaml > "/tmp/$tag-gw.log" 2>&1 &
  gw=$!
  bench_await http://127.0.0.1:9090/health
}

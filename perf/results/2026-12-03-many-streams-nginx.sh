#!/usr/bin/env bash
# perf/results/2026-12-03-many-streams-nginx.sh [RATE (1000)] [key=value ...]: the many-streams-node scenario with
# nginx (perf/overhead/nginx-many-streams.conf: one worker, on core 0, where the gateway runs) as the relay instead of
# the gateway: what a plain proxy hop does with the same streams on this machine, the reference for the gateway's
# figure. perf/run starts the simulator node (core 1, beside the generator); nginx is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
rate=${1:-1000}; shift || true
for port in 8083 8092; do
  if (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use by a process this run did not start" >&2; exit 1; fi
done
run=$(mktemp -d /tmp/many-streams-nginx.XXXXXX)
sed -e "s|^pid .*|pid $run/nginx.pid;|" -e "s|^error_log .*|error_log $run/error.log;|" \
  perf/overhead/nginx-many-streams.conf > "$run/nginx.conf"
cleanup() { cp "$run/error.log" /tmp/many-streams-nginx-error.log 2>/dev/null; nginx -s stop -c "$run/nginx.conf" 2>/dev/null || kill "$(cat "$run/nginx.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$run"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
taskset -c 0 nginx -c "$run/nginx.conf"
pids() { echo "$(cat "$run/nginx.pid") $(pgrep -P "$(cat "$run/nginx.pid")" | xargs)"; }
ticks() { local t=0 p; for p in $(pids); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
before=$(ticks)
perf/run many-streams-node gateway=off rate="$rate" targets=http://127.0.0.1:8083/v1/chat/completions "$@"
echo "nginx CPU over the run: $(( ($(ticks) - before) / $(getconf CLK_TCK) )) s"

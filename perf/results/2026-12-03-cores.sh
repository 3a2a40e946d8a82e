#!/usr/bin/env bash
# perf/results/2026-12-03-cores.sh > FILE &: every 2 s until killed, per core (cpu0, cpu1, from /proc/stat) the share of
# the interval it was busy (user, nice, system, irq, softirq) and the share the hypervisor gave to others (steal)
prev=$(grep -E '^cpu[01] ' /proc/stat)
t=0
while sleep 2; do
  cur=$(grep -E '^cpu[01] ' /proc/stat); t=$((t + 2))
  paste <(echo "$prev") <(echo "$cur") | awk -v t=$t '{
      n = NF / 2; total = 0
      for (i = 2; i <= n; i++) total += $(i + n) - $i
      busy = 0; for (i = 2; i <= 8; i++) if (i != 5 && i != 6) busy += $(i + n) - $i   # user nice system . . irq softirq
      steal = $(9 + n) - $9
      printf "%s busy %5.1f%% steal %4.1f%%   ", $1, 100 * busy / total, 100 * steal / total
    } END { print " t=" t }'
  prev=$cur
done

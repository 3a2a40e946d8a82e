#!/usr/bin/env bash
# perf/results/2026-12-03-cores.sh > FILE &: busy share of cpu0 and cpu1 (from /proc/stat) every 2 s until killed
# prints busy% of cpu0 and cpu1 every 2 s until killed
prev=$(grep -E '^cpu[01] ' /proc/stat)
t=0
while sleep 2; do
  cur=$(grep -E '^cpu[01] ' /proc/stat); t=$((t+2))
  paste <(echo "$prev") <(echo "$cur") | awk -v t=$t '{n=NF/2; tp=0;ip=0;tc=0;ic=0; for(i=2;i<=n;i++){tp+=$i; tc+=$(i+n)}; ip=$5+$6; ic=$(5+n)+$(6+n); printf "%s %5.1f%%  ", $1, 100*(1-(ic-ip)/(tc-tp))} END {print " t=" t}'
  prev=$cur
done

#!/usr/bin/env python3
"""perf/results/2026-12-03-gc-pauses.py GC_LOG: the Serial collector's pauses in a -Xlog:gc log, summed: all of them,
and those of the 40 s before the log's last pause (the measured phase of a many-streams run)."""
import re
import sys

young, full = [], []
for line in open(sys.argv[1]):
    m = re.search(r'\[([\d.]+)s\].*Pause (Young|Full).* (\d+)M->(\d+)M\(\d+M\) ([\d.]+)ms', line)
    if m:
        (young if m.group(2) == 'Young' else full).append((float(m.group(1)), float(m.group(5)), int(m.group(4))))
for name, pauses in (('young', young), ('full', full)):
    last = [p for p in pauses if p[0] > pauses[-1][0] - 40] if pauses else []
    print("%s pauses: %d in all, %.1f s; in the 40 s before the last pause: %d, %.0f ms avg, max %.0f ms, "
          "after-GC heap max %d MB" % (name, len(pauses), sum(p[1] for p in pauses) / 1000, len(last),
                                       sum(p[1] for p in last) / len(last) if last else 0,
                                       max([p[1] for p in last] or [0]), max([p[2] for p in last] or [0])))

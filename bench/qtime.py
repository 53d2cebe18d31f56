#!/usr/bin/env python3
"""qtime.py RUNS CMD...: runs CMD RUNS times and prints the median wall time
in milliseconds, process start included. Output goes to a pipe that is read
and discarded (not /dev/null: GNU grep stops at the first match when its
output is /dev/null, which would flatter the baseline)."""
import statistics
import subprocess
import sys
import time

runs, cmd = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while p.stdout.read(1 << 20):
        pass
    p.wait()
    times.append((time.perf_counter() - t0) * 1000)
print(f"{statistics.median(times):.2f}")

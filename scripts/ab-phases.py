#!/usr/bin/env python3
"""A/B of dora builds: runs `dora metrics --format json` with each binary in
turn (alternating, so the machine's drift hits all alike) and prints the
medians of wall time, CPU time (user + system) and the read and compute
phases with their CPU time, as `DORA_TIMINGS=1` reports them.

Usage: scripts/ab-phases.py EVENTS.jsonl RUNS BINARY [BINARY ...]
       [--since D --until D]
Needs: GNU time (/usr/bin/time).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys


def one_run(binary, args):
    env = dict(os.environ, DORA_TIMINGS="1")
    p = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S", binary] + args,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (binary, p.stderr[-2000:]))
    err = p.stderr
    wall, user, system = map(float, err.strip().splitlines()[-1].split())
    phases = re.search(r"timings: read ([0-9.]+) s, compute ([0-9.]+) s", err)
    cpu = re.search(r"cpu time \(user \+ system\): read ([0-9.]+) s, compute ([0-9.]+) s", err)
    if not phases or not cpu:
        sys.exit("no DORA_TIMINGS lines from %s (Linux only)" % binary)
    return (wall, user + system, float(phases.group(1)), float(phases.group(2)),
            float(cpu.group(1)), float(cpu.group(2)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("runs", type=int)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--since", default="2025-11-24")
    ap.add_argument("--until", default="2026-11-23")
    a = ap.parse_args()
    args = ["metrics", "--events", a.events, "--since", a.since, "--until", a.until, "--format", "json"]
    results = {b: [] for b in a.binaries}
    for _ in range(a.runs):
        for b in a.binaries:
            results[b].append(one_run(b, args))
    for b in a.binaries:
        med = [statistics.median(column) for column in zip(*results[b])]
        print("%-24s wall %.3f  cpu %.3f  read %.3f  compute %.3f  read cpu %.3f  compute cpu %.3f"
              % ((os.path.basename(b),) + tuple(med)))


if __name__ == "__main__":
    main()

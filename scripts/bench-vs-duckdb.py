#!/usr/bin/env python3
"""Times `dora metrics --format json` and the DuckDB speed anchor on the same
events file, alternately in one run, and prints medians, the ratio and peak
memory.

Usage: scripts/bench-vs-duckdb.py DORA_BINARY EVENTS.jsonl [--runs N] [--since D --until D]
Needs: python3 -m pip install duckdb; GNU time (/usr/bin/time).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ANCHOR = os.path.join(HERE, "..", "..", "shared", "bench", "duckdb_anchor.py")


def timed(cmd):
    """Runs cmd under GNU time; returns (wall seconds, peak RSS bytes, stdout)."""
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    wall, rss_kb = p.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss_kb) * 1024, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dora")
    ap.add_argument("events")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--since", default="2025-11-24")
    ap.add_argument("--until", default="2026-11-23")
    a = ap.parse_args()
    size = os.path.getsize(a.events)
    dora_cmd = [a.dora, "metrics", "--events", a.events, "--since", a.since, "--until", a.until, "--format", "json"]
    duck_cmd = [sys.executable, ANCHOR, a.events, "--threads", "2"]
    timed(dora_cmd)  # warm the page cache
    dora, duck, duck_inner, dora_rss, duck_rss = [], [], [], [], []
    for _ in range(a.runs):
        w, r, _ = timed(dora_cmd)
        dora.append(w)
        dora_rss.append(r)
        w, r, out = timed(duck_cmd)
        duck.append(w)
        duck_rss.append(r)
        m = re.search(r"([0-9.]+) s", out)
        if m:
            duck_inner.append(float(m.group(1)))
    md, mw = statistics.median(dora), statistics.median(duck)
    print("file: %s (%.0f MB)" % (a.events, size / 1e6))
    print("dora metrics --format json: median %.3f s over %d runs (%s)" % (md, a.runs, ", ".join("%.2f" % x for x in dora)))
    print("duckdb anchor, whole command: median %.3f s (%s)" % (mw, ", ".join("%.2f" % x for x in duck)))
    if duck_inner:
        print("duckdb anchor, its own timing: median %.3f s" % statistics.median(duck_inner))
    print("ratio dora / duckdb (whole commands): %.2f" % (md / mw))
    if duck_inner:
        print("ratio dora / duckdb (its own timing): %.2f" % (md / statistics.median(duck_inner)))
    print("peak RSS: dora %.0f MB (%.2f x the file), duckdb %.0f MB" % (max(dora_rss) / 1e6, max(dora_rss) / size, max(duck_rss) / 1e6))


if __name__ == "__main__":
    main()

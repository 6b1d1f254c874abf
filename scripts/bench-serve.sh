#!/usr/bin/env bash
# The benchmarks of `dora serve` (docs/BENCHMARKS.md, "dora serve"):
#   1. 1,000 single-event POST /events a second for 60 s: latency quantiles;
#   2. one 100,000-line POST /events, five times: events stored per second;
#   3. GET /metrics on the 1.85M-event benchmark store, unchanged: latency.
#
# Usage: scripts/bench-serve.sh DORA SERVE_LOAD [BENCHMARK_EVENTS.jsonl]
#   DORA        a release `dora` built with `--features serve`
#   SERVE_LOAD  the release `serve_load` example of dora-serve
#   BENCHMARK_EVENTS.jsonl  `dora demo --preset benchmark` output (made when absent)
# Everything runs on 127.0.0.1 with stores in a temporary folder that is
# removed at the end; each server is stopped with SIGTERM.
set -euo pipefail

dora=$(realpath "$1")
load=$(realpath "$2")
events=${3:-/tmp/bench-events.jsonl}
work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Starts `dora serve` on STORE and sets $url once it listens.
start() {
    local store=$1
    "$dora" serve --listen 127.0.0.1:0 --store "$store" --max-body 64MiB 2>"$work/serve.log" &
    server_pid=$!
    for _ in $(seq 1 600); do
        url=$(sed -n 's/^serve: listening on \(http:[^ ]*\).*/\1/p' "$work/serve.log")
        [[ -n $url ]] && return 0
        sleep 0.1
    done
    echo "dora serve did not start:" >&2
    cat "$work/serve.log" >&2
    exit 1
}

stop() {
    kill -TERM "$server_pid"
    wait "$server_pid"
    server_pid=
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== 1. single-event POST /events at 1,000/s for 60 s (empty store)"
start "$work/rate.db"
"$load" rate "$url" --rate 1000 --seconds 60
stop

echo "== 2. 100,000-line POST /events (empty store, 5 rounds)"
start "$work/bulk.db"
"$load" bulk "$url" --lines 100000 --repeat 5
stop

echo "== 3. GET /metrics on the benchmark store (1.85M events), unchanged"
if [[ ! -f $events ]]; then
    "$dora" demo --preset benchmark --output "$events"
fi
"$dora" import --store "$work/bench.db" "$events" >/dev/null
start "$work/bench.db"
"$load" scrape "$url" --count 500
stop

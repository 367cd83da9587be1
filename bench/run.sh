#!/usr/bin/env bash
# The load benchmark (not run by CI): builds release, starts coffre on a file
# database seeded with 10,000 items in 100 sections and 1,000 API keys, drives
# it with wrk (64 connections) and prints requests/s, p50/p99 latency and the
# ratio of each endpoint to /health measured in the same run, plus peak RSS.
#
#   bench/run.sh                 # defaults: 10 s per endpoint, 64 connections
#   DURATION=20 CONNECTIONS=64 THREADS=2 bench/run.sh
#
# Needs wrk (apt-get install wrk) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/run.sh needs wrk: apt-get install wrk" >&2; exit 2; }
cargo build --release --locked
exec python3 bench/driver.py "$@"

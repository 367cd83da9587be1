#!/usr/bin/env bash
# What a test harness waits for (not run by CI): builds release, then times
# exec → served /health under --dev (no seed, and a seed of 1,000 items),
# POST /v4/Dev/Reset on a seed of 100 objects, and the stop of an idle
# server after SIGTERM. Prints median and p90 in milliseconds.
#
#   bench/harness.sh            # 20 runs of each
#   RUNS=50 bench/harness.sh
#
# Needs python3 and openssl-made fixtures (examples/seed/, committed).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
exec python3 bench/harness.py "$@"

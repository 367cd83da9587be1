#!/usr/bin/env bash
# A longer schemathesis run than CI's: more examples per operation, a new seed
# each time (printed, so a failure can be replayed with --seed).
#   scripts/fuzz.sh              # 300 examples per operation
#   EXAMPLES=1000 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked
exec python3 scripts/fuzz.py --examples "${EXAMPLES:-300}" --max-seconds "${MAX_SECONDS:-3600}" "$@"

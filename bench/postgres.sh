#!/usr/bin/env bash
# PostgreSQL against the SQLite file (not run by CI): builds release, starts a
# throwaway PostgreSQL cluster on loopback (scripts/postgres-cluster.sh; fsync
# on, as a real server), then bench/postgres.py seeds the same data into a
# SQLite data dir and a PostgreSQL database and drives both with wrk in
# alternating rounds: item GET, item create, list of 10,000 items, each as a
# PostgreSQL/SQLite ratio; then item GET through two nodes on the database
# against one.
#
#   bench/postgres.sh
#   DURATION=10 ROUNDS=3 ITEMS=10000 bench/postgres.sh
#
# Needs wrk, python3 and Debian's postgresql package.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/postgres.sh needs wrk: apt-get install wrk" >&2; exit 2; }
cargo build --release --locked --offline
. scripts/postgres-cluster.sh
pg_cluster_start bench-postgres
# Plaintext on loopback, as the README's figures were measured: the cluster
# offers TLS (for tests/api/pg_tls.rs) and coffre's default sslmode=prefer
# would take it.
BENCH_DATABASE_URL="$PG_URL?sslmode=disable" python3 bench/postgres.py "$@"

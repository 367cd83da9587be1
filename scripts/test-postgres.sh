#!/usr/bin/env bash
# Runs the black-box suite (tests/api) against a throwaway PostgreSQL
# cluster (scripts/postgres-cluster.sh). Each test gets a database of its own
# (COFFRE_TEST_DATABASE_URL, see tests/api/pg.rs). Extra arguments go to
# the test binary's filter, e.g. `scripts/test-postgres.sh vault_items`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/postgres-cluster.sh

# A test cluster: nothing here needs to survive a power cut (fsync off); a
# coffre node killed under load is another matter, and the server stays up.
pg_cluster_start test-postgres -c fsync=off -c synchronous_commit=on -c full_page_writes=off

export COFFRE_TEST_DATABASE_URL="$PG_URL"
cargo test --offline --test api -- "$@"

#!/usr/bin/env bash
# Runs the black-box suite (tests/api) against a throwaway PostgreSQL
# cluster (scripts/postgres-cluster.sh, with TLS on for tests/api/pg_tls.rs).
# Each test gets a database of its own
# (COFFRE_TEST_DATABASE_URL, see tests/api/pg.rs). Extra arguments go to
# the test binary's filter, e.g. `scripts/test-postgres.sh vault_items`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/postgres-cluster.sh

# A test cluster: nothing here needs to survive a power cut (fsync off); a
# coffre node killed under load is another matter, and the server stays up.
pg_cluster_start test-postgres -c fsync=off -c synchronous_commit=on -c full_page_writes=off

export COFFRE_TEST_DATABASE_URL="$PG_URL"
export COFFRE_TEST_PG_TLS_CA="$PG_TLS_CA" COFFRE_TEST_PG_TLS_HOST="$PG_TLS_HOST" \
    COFFRE_TEST_PG_TLS_ROLE="$PG_TLS_ROLE" COFFRE_TEST_PG_SCRAM_ROLE="$PG_SCRAM_ROLE" \
    COFFRE_TEST_PG_SCRAM_PASSWORD="$PG_SCRAM_PASSWORD"
cargo test --offline --test api -- "$@"

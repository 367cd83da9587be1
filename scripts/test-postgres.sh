#!/usr/bin/env bash
# Runs the black-box suite (tests/api) against a throwaway PostgreSQL
# cluster from Debian's `postgresql` package: initdb in a temporary directory,
# trust authentication on a loopback port, stopped and removed at the end —
# also when the tests fail. Each test gets a database of its own
# (COFFRE_TEST_DATABASE_URL, see tests/api/pg.rs). Extra arguments go to
# the test binary's filter, e.g. `scripts/test-postgres.sh vault_items`.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "test-postgres: no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql" >&2
    exit 2
fi

work=$(mktemp -d /tmp/coffre-pg.XXXXXX)
# PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user.
run_as=()
if [ "$(id -u)" = 0 ]; then
    user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$work"
    run_as=(runuser -u "$user" --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
    "${run_as[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap stop EXIT

"${run_as[@]}" "$bin/initdb" -D "$work/data" -U coffre --auth=trust --encoding=UTF8 \
    --locale=C >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
# A test cluster: nothing here needs to survive a power cut (fsync off); a
# coffre node killed under load is another matter, and the server stays up.
"${run_as[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o \
    "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=500 -c fsync=off \
     -c synchronous_commit=on -c full_page_writes=off" start >/dev/null
echo "test-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"

export COFFRE_TEST_DATABASE_URL="postgres://coffre@127.0.0.1:$port/postgres"
cargo test --offline --test api -- "$@"

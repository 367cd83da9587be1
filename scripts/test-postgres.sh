#!/usr/bin/env bash
# Runs the black-box suite (tests/api) against a throwaway PostgreSQL
# cluster from Debian's `postgresql` package: initdb in a temporary directory,
# trust authentication on a loopback port (with TLS on, for the TLS tests),
# stopped and removed at the end — also when the tests fail. Each test gets a database of its own
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

# TLS (tests/api/pg_tls.rs): a CA and a certificate for db.coffre.test made for
# this run, ssl=on, a role pg_hba.conf admits over TLS only and one that must
# log in with a SCRAM password over TLS; every other connection as before.
command -v openssl >/dev/null || { echo "test-postgres: no openssl: apt-get install openssl" >&2; exit 2; }
(
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=coffre test CA" -keyout ca.key -out ca.pem
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=db.coffre.test" -keyout server.key -out server.csr
    printf '%s\n' "subjectAltName=DNS:db.coffre.test" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.crt
) >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; exit 1; }
chmod 600 "$work/server.key"
if [ "${#run_as[@]}" -gt 0 ]; then chown "$user" "$work/server.key" "$work/server.crt"; fi
scram_password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
hba="$work/data/pg_hba.conf"
{
    printf '%s\n' "hostssl all coffre_tls 127.0.0.1/32 trust" \
        "host all coffre_tls 127.0.0.1/32 reject" \
        "hostssl all coffre_scram 127.0.0.1/32 scram-sha-256" \
        "host all coffre_scram 127.0.0.1/32 reject"
    cat "$hba"
} >"$work/pg_hba.new"
cat "$work/pg_hba.new" >"$hba"
# A test cluster: nothing here needs to survive a power cut (fsync off); a
# coffre node killed under load is another matter, and the server stays up.
"${run_as[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o \
    "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=500 -c fsync=off \
     -c synchronous_commit=on -c full_page_writes=off -c ssl=on \
     -c ssl_cert_file=$work/server.crt -c ssl_key_file=$work/server.key" start >/dev/null
"$bin/psql" -q -h 127.0.0.1 -p "$port" -U coffre -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE coffre_tls LOGIN SUPERUSER" \
    -c "CREATE ROLE coffre_scram LOGIN SUPERUSER PASSWORD '$scram_password'" >/dev/null
echo "test-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"

export COFFRE_TEST_DATABASE_URL="postgres://coffre@127.0.0.1:$port/postgres"
export COFFRE_TEST_PG_TLS_CA="$work/ca.pem" COFFRE_TEST_PG_TLS_HOST=db.coffre.test \
    COFFRE_TEST_PG_TLS_ROLE=coffre_tls COFFRE_TEST_PG_SCRAM_ROLE=coffre_scram \
    COFFRE_TEST_PG_SCRAM_PASSWORD="$scram_password"
cargo test --offline --test api -- "$@"

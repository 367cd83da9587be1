# Sourced by scripts/test-postgres.sh and bench/postgres.sh: a throwaway
# PostgreSQL cluster from Debian's `postgresql` package — initdb in a
# temporary directory, trust authentication on a loopback port, stopped and
# removed when the sourcing script exits (also when it fails).
# TLS is on (tests/api/pg_tls.rs), with a CA and a certificate for
# db.coffre.test made by openssl for the run, plus a role pg_hba.conf admits
# over TLS only and one that must log in with a SCRAM password over TLS.
# PG_URL's role connects as before; coffre's default sslmode (prefer, as
# libpq's) takes TLS when offered: add ?sslmode=disable to PG_URL for a
# plaintext connection.
#
#   pg_cluster_start NAME [-c option=value ...]
#   # sets PG_URL, PG_VERSION, and for TLS: PG_TLS_CA (the CA's PEM file),
#   # PG_TLS_HOST (the certificate's name), PG_TLS_ROLE (TLS only),
#   # PG_SCRAM_ROLE and PG_SCRAM_PASSWORD (SCRAM over TLS only)
pg_cluster_start() {
    local name=$1
    shift
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
        echo "$name: no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql" >&2
        exit 2
    fi
    command -v openssl >/dev/null || { echo "$name: no openssl: apt-get install openssl" >&2; exit 2; }
    pg_work=$(mktemp -d "/tmp/coffre-pg.XXXXXX")
    # PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user.
    pg_run_as=()
    local user=
    if [ "$(id -u)" = 0 ]; then
        user=postgres
        id "$user" >/dev/null 2>&1 || user=nobody
        chown "$user" "$pg_work"
        pg_run_as=(runuser -u "$user" --)
    fi
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    trap pg_cluster_stop EXIT
    "${pg_run_as[@]}" "$pg_bin/initdb" -D "$pg_work/data" -U coffre --auth=trust --encoding=UTF8 \
        --locale=C >"$pg_work/initdb.log" 2>&1 || { cat "$pg_work/initdb.log" >&2; exit 1; }

    (
        cd "$pg_work"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=coffre test CA" -keyout ca.key -out ca.pem
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=db.coffre.test" -keyout server.key -out server.csr
        printf '%s\n' "subjectAltName=DNS:db.coffre.test" "basicConstraints=CA:FALSE" \
            "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile server.ext -out server.crt
    ) >"$pg_work/openssl.log" 2>&1 || { cat "$pg_work/openssl.log" >&2; exit 1; }
    chmod 600 "$pg_work/server.key"
    if [ -n "$user" ]; then chown "$user" "$pg_work/server.key" "$pg_work/server.crt"; fi
    PG_SCRAM_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    local hba="$pg_work/data/pg_hba.conf"
    {
        printf '%s\n' "hostssl all coffre_tls 127.0.0.1/32 trust" \
            "host all coffre_tls 127.0.0.1/32 reject" \
            "hostssl all coffre_scram 127.0.0.1/32 scram-sha-256" \
            "host all coffre_scram 127.0.0.1/32 reject"
        cat "$hba"
    } >"$pg_work/pg_hba.new"
    cat "$pg_work/pg_hba.new" >"$hba"

    "${pg_run_as[@]}" "$pg_bin/pg_ctl" -D "$pg_work/data" -l "$pg_work/server.log" -w -o \
        "-p $port -k $pg_work -c listen_addresses=127.0.0.1 -c max_connections=500 \
         -c ssl=on -c ssl_cert_file=$pg_work/server.crt -c ssl_key_file=$pg_work/server.key \
         $*" start >/dev/null
    "$pg_bin/psql" -q -h 127.0.0.1 -p "$port" -U coffre -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE coffre_tls LOGIN SUPERUSER" \
        -c "CREATE ROLE coffre_scram LOGIN SUPERUSER PASSWORD '$PG_SCRAM_PASSWORD'" >/dev/null
    PG_VERSION=$("$pg_bin/postgres" --version | awk '{print $3}')
    PG_URL="postgres://coffre@127.0.0.1:$port/postgres"
    PG_TLS_CA="$pg_work/ca.pem" PG_TLS_HOST=db.coffre.test
    PG_TLS_ROLE=coffre_tls PG_SCRAM_ROLE=coffre_scram
    echo "$name: PostgreSQL $PG_VERSION on 127.0.0.1:$port (TLS on)"
}

pg_cluster_stop() {
    "${pg_run_as[@]}" "$pg_bin/pg_ctl" -D "$pg_work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_work"
}

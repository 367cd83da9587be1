# Sourced by scripts/test-postgres.sh and bench/postgres.sh: a throwaway
# PostgreSQL cluster from Debian's `postgresql` package — initdb in a
# temporary directory, trust authentication on a loopback port, stopped and
# removed when the sourcing script exits (also when it fails).
#
#   pg_cluster_start NAME [-c option=value ...]   # sets PG_URL, PG_VERSION
pg_cluster_start() {
    local name=$1
    shift
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
        echo "$name: no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql" >&2
        exit 2
    fi
    pg_work=$(mktemp -d "/tmp/coffre-pg.XXXXXX")
    # PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user.
    pg_run_as=()
    if [ "$(id -u)" = 0 ]; then
        local user=postgres
        id "$user" >/dev/null 2>&1 || user=nobody
        chown "$user" "$pg_work"
        pg_run_as=(runuser -u "$user" --)
    fi
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    trap pg_cluster_stop EXIT
    "${pg_run_as[@]}" "$pg_bin/initdb" -D "$pg_work/data" -U coffre --auth=trust --encoding=UTF8 \
        --locale=C >"$pg_work/initdb.log" 2>&1 || { cat "$pg_work/initdb.log" >&2; exit 1; }
    "${pg_run_as[@]}" "$pg_bin/pg_ctl" -D "$pg_work/data" -l "$pg_work/server.log" -w -o \
        "-p $port -k $pg_work -c listen_addresses=127.0.0.1 -c max_connections=500 $*" start >/dev/null
    PG_VERSION=$("$pg_bin/postgres" --version | awk '{print $3}')
    PG_URL="postgres://coffre@127.0.0.1:$port/postgres"
    echo "$name: PostgreSQL $PG_VERSION on 127.0.0.1:$port"
}

pg_cluster_stop() {
    "${pg_run_as[@]}" "$pg_bin/pg_ctl" -D "$pg_work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_work"
}

"""Drives bench/postgres.sh: the same seed (100 sections, ITEMS items, a
reader key reaching every section through a group) on the SQLite file and on
PostgreSQL, both servers up at once and measured in alternating rounds, so
that each PostgreSQL/SQLite ratio is taken within its round on this drifting
VM; then item GET through two PostgreSQL nodes at once (one wrk per node,
half the connections each, summed) against one node (all the connections).
"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import BIN, CONNECTIONS, DURATION, HERE, ROUNDS, SECTIONS, Client, parallel, rss_kib, wrk  # noqa: E402

ITEMS = int(os.environ.get("ITEMS", "10000"))
URL = os.environ["BENCH_DATABASE_URL"]
PASSPHRASE = "bench passphrase, the same for every node"


def start(data_dir, database_url=None):
    """`coffre serve` (SQLite in data_dir, or the PostgreSQL database);
    returns (process, port, bootstrap key or None)."""
    env = dict(os.environ, RUST_LOG="warn", COFFRE_PASSPHRASE=PASSPHRASE, COFFRE_DURABILITY="full",
               COFFRE_AUTH_FAILURE_LIMIT="1000000")
    env.pop("COFFRE_DATABASE_URL", None)
    if database_url:
        env["COFFRE_DATABASE_URL"] = database_url
    proc = subprocess.Popen([BIN, "--data-dir", data_dir, "--listen", "127.0.0.1:0", "serve"],
                            stdout=subprocess.PIPE, env=env, text=True)
    key = None
    for line in proc.stdout:
        line = line.strip()
        if line.startswith("coffre bootstrap key: "):
            key = line.split(": ", 1)[1]
        if line.startswith("coffre listening on "):
            return proc, int(line.rsplit(":", 1)[1]), key
    raise RuntimeError(f"coffre did not start (exit {proc.wait()})")


def seed(port, key):
    """A reader key in a group holding ChangeVaultSection on every section,
    and ITEMS credential sets; returns (reader key, an item's GUID, a section)."""
    admin = Client(port, key)
    reader = admin.call("POST", "/v4/ApiKey", {
        "Name": "bench reader", "ContactLogin": "reader", "ContactEmail": "reader@example.com",
        "ContactFirstName": "Bench", "ContactLastName": "Reader"})
    group = admin.call("POST", "/v4/OperatorGroup", {"Description": "Bench readers"})["OperatorGroupGuid"]
    admin.call("POST", f"/v4/OperatorGroup/{group}/Member/{reader['OperatorGuid']}", {})
    sections = [s["VaultSectionGuid"] for s in parallel(
        port, key, [("POST", "/v4/VaultSection", {"Name": f"Section {i}"}) for i in range(SECTIONS)])]
    parallel(port, key, [("POST", f"/v4/VaultSection/{s}/Authorization",
                          {"AuthorizationType": "ChangeVaultSection", "OperatorGroupId": group})
                         for s in sections])
    items = parallel(port, key, [("POST", "/v4/VaultItem", {
        "Name": f"Item {i}", "VaultSectionGuid": sections[i % SECTIONS],
        "VaultItemType": "CredentialSet", "UserName": f"user{i}@example.com",
        "Password": f"pw-{i}-secret"}) for i in range(ITEMS)])
    return reader["Key"], items[len(items) // 2]["VaultItemGuid"], sections[0]


def main():
    tmp = tempfile.mkdtemp(prefix="coffre-bench-pg-")
    procs = []
    try:
        engines = {}
        for engine, url in (("sqlite", None), ("postgres", URL)):
            proc, port, key = start(os.path.join(tmp, engine), url)
            procs.append(proc)
            t = time.time()
            reader, item, section = seed(port, key)
            print(f"{engine}: seeded {SECTIONS} sections and {ITEMS} items in {time.time() - t:.1f} s",
                  flush=True)
            post_lua = os.path.join(tmp, f"post-{engine}.lua")
            with open(post_lua, "w") as f:
                f.write(open(os.path.join(HERE, "post_item.lua")).read().replace("SECTION_GUID", section))
            engines[engine] = dict(proc=proc, base=f"http://127.0.0.1:{port}", reader=reader, item=item,
                                   post=post_lua)

        def measure(engine, what):
            e = engines[engine]
            if what == "item GET":
                rps, p50, p99 = wrk(f"{e['base']}/v4/VaultItem/{e['item']}", e["reader"])
            elif what == f"list of {ITEMS} items":
                rps, p50, p99 = wrk(f"{e['base']}/v4/VaultItem", e["reader"])
            else:
                rps, p50, p99 = wrk(f"{e['base']}/v4/VaultItem", e["reader"], e["post"])
            print(f"  {what:<24} {engine:<9} {rps:>9.0f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms",
                  flush=True)
            return rps, p50, p99

        # Creates last: they add to the list.
        table = []
        for what in ("item GET", f"list of {ITEMS} items", "item create"):
            rounds = []
            for r in range(ROUNDS):
                s = measure("sqlite", what)
                p = measure("postgres", what)
                rounds.append((p[0] / s[0], s, p))
            table.append((what, rounds))

        # Two nodes on the PostgreSQL database: a second node joins the first.
        pg = engines["postgres"]
        second, port2, _ = start(os.path.join(tmp, "postgres-2"), URL)
        procs.append(second)
        base2 = f"http://127.0.0.1:{port2}"
        path = f"/v4/VaultItem/{pg['item']}"
        Client(port2, pg["reader"]).call("GET", path)
        half = max(1, CONNECTIONS // 2)
        two = []
        for r in range(ROUNDS):
            one, _, _ = wrk(pg["base"] + path, pg["reader"])
            # One wrk per node, started together, each with half the connections.
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                outs = list(pool.map(lambda url: wrk(url, pg["reader"], connections=half)[0],
                                     (pg["base"] + path, base2 + path)))
            both = sum(outs)
            two.append((both / one, both, one, outs))
            print(f"  item GET, two nodes {outs[0]:.0f} + {outs[1]:.0f} = {both:.0f} req/s against one "
                  f"node {one:.0f} req/s: {both / one:.2f}", flush=True)

        print()
        print(f"PostgreSQL / SQLite, {CONNECTIONS} connections, {DURATION} s per run, {ROUNDS} rounds, "
              f"{os.cpu_count()} CPUs (median round; p50/p99 of that round)")
        print("| | SQLite req/s | PostgreSQL req/s | PostgreSQL / SQLite | rounds |")
        print("|---|---:|---:|---:|---|")
        for what, rounds in table:
            ratio, s, p = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
            print(f"| {what} | {s[0]:,.0f} (p50 {s[1]:.2f} ms, p99 {s[2]:.2f} ms) | "
                  f"{p[0]:,.0f} (p50 {p[1]:.2f} ms, p99 {p[2]:.2f} ms) | {ratio:.2f} | "
                  + ", ".join(f"{r[0]:.2f}" for r in rounds) + " |")
        ratio, both, one, outs = sorted(two, key=lambda r: r[0])[len(two) // 2]
        print(f"| item GET, two nodes / one | one node {one:,.0f} | two nodes {both:,.0f} "
              f"({outs[0]:,.0f} + {outs[1]:,.0f}) | {ratio:.2f} | "
              + ", ".join(f"{r[0]:.2f}" for r in two) + " |")
        print(f"peak RSS: SQLite {rss_kib(procs[0].pid, 'VmHWM') / 1024:.1f} MiB, PostgreSQL node "
              f"{rss_kib(procs[1].pid, 'VmHWM') / 1024:.1f} MiB")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()

"""Drives bench/run.sh: server start, seeding, wrk runs, report.

Everything is measured in one run on one machine, and reported as ratios to
GET /health (which runs one trivial query), so figures from different
machines stay comparable.
"""

import base64
import concurrent.futures
import http.client
import urllib.parse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DURATION = int(os.environ.get("DURATION", "10"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
THREADS = int(os.environ.get("THREADS", "2"))
SECTIONS = int(os.environ.get("SECTIONS", "100"))
ITEMS = int(os.environ.get("ITEMS", "10000"))
KEYS = int(os.environ.get("KEYS", "1000"))
DURABILITY = os.environ.get("DURABILITY", "full")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "coffre")
HERE = os.path.dirname(os.path.abspath(__file__))


class Client:
    def __init__(self, port, key):
        self.port, self.key = port, key
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, expect=(200, 201, 204)):
        headers = {"Authorization": f"Bearer {self.key}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        res = self.conn.getresponse()
        text = res.read()
        if res.status not in expect:
            raise RuntimeError(f"{method} {path} -> {res.status}: {text[:300]!r}")
        return json.loads(text) if text else None


def parallel(port, key, jobs, workers=8):
    """Runs (method, path, body) jobs over `workers` keep-alive connections."""
    chunks = [jobs[i::workers] for i in range(workers)]

    def run(chunk):
        c = Client(port, key)
        return [c.call(*job) for job in chunk]

    out = []
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for part in pool.map(run, chunks):
            out.extend(part)
    return out


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def show_mappings(pid):
    """The largest memory mappings (for finding where RSS goes)."""
    maps, current = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                current = [line.split()[-1] if len(line.split()) > 5 else "[anon]", 0]
                maps.append(current)
            elif line.startswith("Rss:"):
                current[1] = int(line.split()[1])
    for name, rss in sorted(maps, key=lambda m: -m[1])[:12]:
        print(f"    {rss / 1024:8.1f} MiB  {name}")


def wrk(url, key, script=None, connections=None):
    cmd = ["wrk", "-t", str(THREADS), "-c", str(connections or CONNECTIONS), "-d", f"{DURATION}s", "--latency",
           "-H", f"Authorization: Bearer {key}", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} non-2xx responses\n{out}")
    return rps, pct(50), pct(99)


def h2load(url, key, h1=False):
    """h2load (Debian nghttp2-client): HTTP/2 over TLS, or HTTP/1.1 with --h1."""
    cmd = ["h2load", "-t", str(THREADS), "-c", str(CONNECTIONS), "-m", "1", "-D", str(DURATION),
           "-H", f"authorization: Bearer {key}", url]
    if h1:
        cmd.insert(1, "--h1")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if int(status.group(3)) or int(status.group(4)):
        raise RuntimeError(f"{url}: non-2xx responses\n{out}")
    proto = re.search(r"Application protocol: (\S+)", out)
    return rps, proto.group(1) if proto else "?"


def start_server(data_dir, env):
    """`coffre serve` on a data dir; returns the process and its base URL."""
    server = subprocess.Popen([BIN, "--data-dir", data_dir, "--listen", "127.0.0.1:0", "serve"],
                              stdout=subprocess.PIPE, env=env, text=True)
    for line in server.stdout:
        if line.startswith("coffre listening on "):
            return server, line.strip().split(" on ", 1)[1]
    raise RuntimeError("coffre did not start")


def https_rounds(data_dir, tmp, env, item_guid, reader_key):
    """Item GET over HTTPS as a ratio to plain HTTP, round by round. Two
    fresh servers on two copies (`coffre backup`) of the seeded data dir, one
    plain and one with a certificate, started together so that neither is
    warmer or holds more than the other; the seeding server stays up, idle."""
    if not shutil.which("h2load") or not shutil.which("openssl"):
        print("HTTPS rounds skipped: they need h2load (apt-get install nghttp2-client) and openssl")
        return None
    tls_dir = os.path.join(tmp, "tls")
    os.makedirs(tls_dir)
    cert, key = os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    key_env = dict(env, COFFRE_KEY_FILE=os.path.join(data_dir, "master.key"))
    copies = []
    for name in ("plain-data", "tls-data"):
        copy = os.path.join(tmp, name)
        subprocess.run([BIN, "--data-dir", data_dir, "backup", copy], env=key_env, check=True,
                       capture_output=True)
        copies.append(copy)
    plain_server, plain_base = start_server(copies[0], key_env)
    tls_server, tls_base = start_server(
        copies[1], dict(key_env, COFFRE_TLS_CERT_FILE=cert, COFFRE_TLS_KEY_FILE=key))
    try:
        path = f"/v4/VaultItem/{item_guid}"
        rows = []
        for r in range(ROUNDS):
            plain, _, _ = wrk(plain_base + path, reader_key)
            https, _, _ = wrk(tls_base + path, reader_key)
            plain_h1, _ = h2load(plain_base + path, reader_key, h1=True)
            https_h2, proto = h2load(tls_base + path, reader_key)
            if proto != "h2":
                raise RuntimeError(f"h2load negotiated {proto}, not h2")
            rows.append((https / plain, https, plain, https_h2 / plain_h1, https_h2, plain_h1))
            print(f"  round {r + 1}: wrk HTTP/1.1 keep-alive: https {https:.0f} / http {plain:.0f} = "
                  f"{https / plain:.2f}; h2load: h2 over TLS {https_h2:.0f} / HTTP/1.1 plain "
                  f"{plain_h1:.0f} = {https_h2 / plain_h1:.2f}", flush=True)
        print(f"  RSS: plain {rss_kib(plain_server.pid, 'VmHWM') / 1024:.1f} MiB, "
              f"TLS {rss_kib(tls_server.pid, 'VmHWM') / 1024:.1f} MiB (peak)")
        return rows
    finally:
        for server in (plain_server, tls_server):
            server.terminate()
            server.wait(timeout=30)


def main():
    tmp = tempfile.mkdtemp(prefix="coffre-bench-")
    data_dir = os.path.join(tmp, "data")
    env = dict(os.environ, RUST_LOG="warn", COFFRE_DURABILITY=DURABILITY,
               COFFRE_AUTH_FAILURE_LIMIT="1000000")
    env.pop("COFFRE_PASSPHRASE", None)
    server = subprocess.Popen([BIN, "--data-dir", data_dir, "--listen", "127.0.0.1:0", "serve"],
                              stdout=subprocess.PIPE, env=env, text=True)
    try:
        key = None
        port = None
        for line in server.stdout:
            line = line.strip()
            if line.startswith("coffre bootstrap key: "):
                key = line.split(": ", 1)[1]
            if line.startswith("coffre listening on "):
                port = int(line.rsplit(":", 1)[1])
                break
        base = f"http://127.0.0.1:{port}"
        admin = Client(port, key)

        t = time.time()
        keys = parallel(port, key, [("POST", "/v4/ApiKey", {
            "Name": f"bench key {i}", "ContactLogin": f"bench-{i}",
            "ContactEmail": f"bench{i}@example.com", "ContactFirstName": "Bench",
            "ContactLastName": str(i)}) for i in range(KEYS - 1)])
        key_guid = keys[0]["ApiKeyGuid"]
        print(f"seeded {KEYS} API keys in {time.time() - t:.1f} s (RSS {rss_kib(server.pid, 'VmRSS') / 1024:.0f} MiB)")

        # The vault is read by an ordinary (non-administrator) key whose operator
        # reaches every section through a group, as in the list target.
        reader = keys[-1]
        reader_key = reader["Key"]
        group = admin.call("POST", "/v4/OperatorGroup", {"Description": "Bench readers"})["OperatorGroupGuid"]
        admin.call("POST", f"/v4/OperatorGroup/{group}/Member/{reader['OperatorGuid']}", {})
        t = time.time()
        sections = parallel(port, key, [("POST", "/v4/VaultSection", {"Name": f"Section {i}"}) for i in range(SECTIONS)])
        section_guids = [s["VaultSectionGuid"] for s in sections]
        parallel(port, key, [("POST", f"/v4/VaultSection/{s}/Authorization",
                               {"AuthorizationType": "ChangeVaultSection", "OperatorGroupId": group})
                              for s in section_guids])

        def seed_items(start, stop):
            return parallel(port, key, [("POST", "/v4/VaultItem", {
                "Name": f"Item {i}", "VaultSectionGuid": section_guids[i % SECTIONS],
                "VaultItemType": "CredentialSet", "UserName": f"user{i}@example.com",
                "Password": f"pw-{i}-secret", "Notes": "seeded by bench/run.sh"}) for i in range(start, stop)])

        first = min(1000, ITEMS)
        items = seed_items(0, first)
        print(f"seeded {SECTIONS} sections and {first} items in {time.time() - t:.1f} s")

        only = sys.argv[1:]
        results = []

        last_latency = {}

        def run(name, url, script=None, who=reader_key, record=True):
            if only and not any(o in name for o in only) and name != "GET /health":
                return None
            rps, p50, p99 = wrk(url, who, script)
            last_latency[name] = (p50, p99)
            if record:
                results.append((name, rps, p50, p99))
            print(f"  {name:<36} {rps:>10.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   "
                  f"RSS {rss_kib(server.pid, 'VmRSS') / 1024:.0f} MiB", flush=True)
            return rps

        list_small = run(f"GET /v4/VaultItem (list, {first})", base + "/v4/VaultItem", record=False)
        t = time.time()
        items += seed_items(first, ITEMS)
        print(f"seeded {ITEMS - first} more items in {time.time() - t:.1f} s (RSS {rss_kib(server.pid, 'VmRSS') / 1024:.0f} MiB)")
        item_guid = items[len(items) // 2]["VaultItemGuid"]

        # An OAuth client acting as an operator in the readers' group: its
        # access token reads the vault as the reader key does. (A new
        # connection: the first one has idled past the keep-alive timeout.)
        admin = Client(port, key)
        client = admin.call("POST", "/v4/OAuthClient", {
            "Name": "bench client", "ContactLogin": "bench-client", "ContactEmail": "client@example.com",
            "Scopes": ["coffre.vault_item.read"]})
        admin.call("POST", f"/v4/OperatorGroup/{group}/Member/{client['OperatorGuid']}", {})
        form = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
        basic = base64.b64encode(f"{client['ClientId']}:{client['ClientSecret']}".encode()).decode()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/oauth2/token", body=form, headers={
            "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
        access_token = json.loads(c.getresponse().read())["access_token"]

        scripts = tempfile.mkdtemp(dir=tmp)
        token_lua = os.path.join(scripts, "token.lua")
        with open(token_lua, "w") as f:
            f.write(open(os.path.join(HERE, "token.lua")).read().replace("BASIC_CREDENTIALS", basic))
        post_lua = os.path.join(scripts, "post.lua")
        with open(post_lua, "w") as f:
            f.write(open(os.path.join(HERE, "post_item.lua")).read().replace("SECTION_GUID", section_guids[0]))
        put_lua = os.path.join(HERE, "put_item.lua")

        # This VM's speed drifts by ±10% over a minute, so the hot reads are
        # measured in rounds, each endpoint right after /health, and each ratio
        # is taken within its round; the table shows the median round.
        hot = [("GET /v4/ApiKey/{guid}", base + f"/v4/ApiKey/{key_guid}", key),
               ("GET /v4/VaultItem/{guid}", base + f"/v4/VaultItem/{item_guid}", reader_key),
               ("GET /v4/VaultItem/{guid} (token)", base + f"/v4/VaultItem/{item_guid}", access_token)]
        rounds = {name: [] for name, _, _ in hot}
        health_runs = []
        for r in range(ROUNDS):
            print(f" round {r + 1}/{ROUNDS}")
            h = run("GET /health", base + "/health", record=False)
            health_runs.append(h)
            for name, url, who in hot:
                rps = run(name, url, who=who, record=False)
                if rps and h:
                    rounds[name].append((rps / h, rps))
        health = statistics.median(health_runs)
        results.append(("GET /health", health, *last_latency["GET /health"]))
        ratios = {}
        for name, _, _ in hot:
            if rounds[name]:
                ratio, rps = sorted(rounds[name])[len(rounds[name]) // 2]
                ratios[name] = ratio
                results.append((name, rps, *last_latency[name]))
        https = None
        if not only or any("https" in o.lower() for o in only):
            print(" HTTPS rounds (GET /v4/VaultItem/{guid})")
            https = https_rounds(data_dir, tmp, env, item_guid, reader_key)
        list_big = run(f"GET /v4/VaultItem (list, {ITEMS})", base + "/v4/VaultItem")
        run("POST /oauth2/token", base + "/oauth2/token", token_lua)
        run("POST /v4/VaultItem", base + "/v4/VaultItem", post_lua)
        run("PUT /v4/VaultItem/{guid}", base + f"/v4/VaultItem/{item_guid}", put_lua)

        print()
        print(f"coffre {DURABILITY} durability, {CONNECTIONS} connections, {THREADS} wrk threads, "
              f"{DURATION} s per endpoint, {os.cpu_count()} CPUs")
        print(f"{'endpoint':<36} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'x /health':>10}")
        for name, rps, p50, p99 in results:
            ratio = ratios.get(name, rps / health)
            print(f"{name:<36} {rps:>10.0f} {p50:>8.2f} {p99:>8.2f} {ratio:>10.2f}")
        for name, per_round in rounds.items():
            print(f"{name} / health per round: " + ", ".join(f"{r:.2f}" for r, _ in per_round))
        if https:
            med = sorted(https)[len(https) // 2]
            med2 = sorted(https, key=lambda row: row[3])[len(https) // 2]
            print(f"item GET, HTTPS / plain HTTP (wrk, HTTP/1.1 keep-alive, median round): "
                  f"{med[0]:.2f} ({med[1]:.0f} vs {med[2]:.0f} req/s); rounds: "
                  + ", ".join(f"{row[0]:.2f}" for row in https))
            print(f"item GET, HTTP/2 over TLS / plain HTTP/1.1 (h2load -m 1, median round): "
                  f"{med2[3]:.2f} ({med2[4]:.0f} vs {med2[5]:.0f} req/s); rounds: "
                  + ", ".join(f"{row[3]:.2f}" for row in https))
        if list_small and list_big:
            per_small = 1e6 / (list_small * first)
            per_big = 1e6 / (list_big * ITEMS)
            print(f"list cost per item: {per_small:.2f} us at {first} items, {per_big:.2f} us at {ITEMS} "
                  f"items: {per_big / per_small:.2f}x")
        print(f"peak RSS {rss_kib(server.pid, 'VmHWM') / 1024:.1f} MiB "
              f"(now {rss_kib(server.pid, 'VmRSS') / 1024:.1f} MiB)")
        if os.environ.get("SMAPS"):
            show_mappings(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

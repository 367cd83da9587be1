"""Measures what a test harness waits for (bench/harness.sh runs it on a
release build): from exec to a served /health under --dev, with no seed and
with a seed of 1,000 items; POST /v4/Dev/Reset on a seed of 100 objects; and
the stop of an idle server after SIGTERM (with no connection open, and with
an idle keep-alive connection). Prints the median and the 90th percentile of
each, in milliseconds.
"""

import base64
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = int(os.environ.get("RUNS", "20"))
BIN = os.environ.get("COFFRE", os.path.join(os.path.dirname(__file__), "..", "target", "release", "coffre"))
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
KEY = subprocess.run([BIN, "keygen"], check=True, capture_output=True, text=True).stdout.strip()


def item(n, section, kind):
    """One [[VaultItem]] of the given type; files come from examples/seed/."""
    head = f'[[VaultItem]]\nName = "Item {n}"\nVaultSection = "{section}"\nVaultItemType = "{kind}"\n'
    body = {
        "CredentialSet": f'UserName = "user{n}@example.com"\nPassword = "password-{n}"\n',
        "Certificate": f'ValueFile = "{EXAMPLES}/seed/sso-cert.pem"\n',
        "CertificateArchive": f'CertificateArchive = {{ ArchiveFile = "{EXAMPLES}/seed/client.pfx", '
        'Password = "example-pfx-password" }\n',
        "File": f'FileInfo = {{ Name = "f{n}.csv", Data = "{base64.b64encode(f"row,{n}".encode()).decode()}" }}\n',
        "OneTimePassword": 'OneTimePasswordInfo = { Secret = "JBSWY3DPEHPK3PXP" }\n',
    }[kind]
    return head + body


KINDS = ["CredentialSet", "Certificate", "CertificateArchive", "File", "OneTimePassword"]


def seed_of_items(count, sections=10):
    """`count` items, the five types in turn, spread over `sections` sections."""
    parts = [f'[[VaultSection]]\nName = "Section {s}"\n' for s in range(sections)]
    parts += [item(n, f"Section {n % sections}", KINDS[n % len(KINDS)]) for n in range(count)]
    return "\n".join(parts)


def seed_of_100_objects():
    """10 operators, 10 API keys, 5 groups, 10 sections, 15 authorizations, 50 items."""
    parts = []
    for n in range(10):
        parts.append(f'[[Operator]]\nFullName = "Operator {n}"\nEmail = "op{n}@example.com"\n')
    for n in range(10):
        key = subprocess.run([BIN, "keygen"], check=True, capture_output=True, text=True).stdout.strip()
        parts.append(
            f'[[ApiKey]]\nKey = "{key}"\nName = "Key {n}"\nContactLogin = "key{n}"\n'
            f'ContactEmail = "key{n}@example.com"\n'
        )
    for n in range(5):
        members = ", ".join(f'"op{m}@example.com"' for m in range(n, 10, 5))
        parts.append(f'[[OperatorGroup]]\nDescription = "Group {n}"\nMembers = [{members}]\n')
    for n in range(10):
        parts.append(f'[[VaultSection]]\nName = "Section {n}"\n')
    for n in range(15):
        grantee = f'OperatorGroup = "Group {n % 5}"' if n < 10 else f'Operator = "key{n - 10}"'
        parts.append(
            f'[[Authorization]]\nVaultSection = "Section {n % 10}"\n'
            f'AuthorizationType = "ChangeVaultSection"\n{grantee}\n'
        )
    parts += [item(n, f"Section {n % 10}", KINDS[n % len(KINDS)]) for n in range(50)]
    return "\n".join(parts)


def start(seed=None):
    """Starts `coffre serve --dev`; returns (process, port, ms from exec to a served /health)."""
    args = [BIN, "--dev", "--listen", "127.0.0.1:0", "--dev-bootstrap-key", KEY]
    if seed:
        args += ["--seed", seed]
    env = dict(os.environ, RUST_LOG="warn")
    t0 = time.perf_counter()
    proc = subprocess.Popen(args + ["serve"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    port = None
    for line in proc.stdout:
        if line.startswith("coffre listening on "):
            port = int(line.strip().rsplit(":", 1)[1])
            break
    if port is None:
        sys.exit(f"coffre did not start (exit {proc.wait()})")
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/health")
    res = conn.getresponse()
    res.read()
    ms = (time.perf_counter() - t0) * 1000
    conn.close()
    assert res.status == 200, res.status
    return proc, port, ms


def stop(proc, keep_alive_port=None):
    """SIGTERM → exit, in ms; optionally with an idle keep-alive connection open."""
    conn = None
    if keep_alive_port:
        conn = http.client.HTTPConnection("127.0.0.1", keep_alive_port)
        conn.request("GET", "/health")
        conn.getresponse().read()
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait()
    ms = (time.perf_counter() - t0) * 1000
    assert code == 0, code
    if conn:
        conn.close()
    return ms


def summary(label, values):
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    print(f"| {label} | {statistics.median(values):.1f} | {p90:.1f} | {len(values)} |")


def main():
    with tempfile.TemporaryDirectory(prefix="coffre-harness-bench-") as tmp:
        measure(tmp)


def measure(tmp):
    big = os.path.join(tmp, "items-1000.toml")
    with open(big, "w") as f:
        f.write(seed_of_items(1000))
    hundred = os.path.join(tmp, "objects-100.toml")
    with open(hundred, "w") as f:
        f.write(seed_of_100_objects())

    print(f"coffre {BIN}, {RUNS} runs each, {os.cpu_count()} CPUs")
    print()
    print("| what | median ms | p90 ms | runs |")
    print("|---|---:|---:|---:|")

    starts, stops = [], []
    for _ in range(RUNS):
        proc, _, ms = start()
        starts.append(ms)
        time.sleep(0.05)  # let the start-up sweep finish: the stop of an idle server
        stops.append(stop(proc))
    summary("exec → served /health, --dev, no seed", starts)

    seeded = []
    for _ in range(RUNS):
        proc, _, ms = start(big)
        seeded.append(ms)
        stop(proc)
    summary("exec → served /health, --dev, seed of 1,000 items", seeded)

    proc, port, _ = start(hundred)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    resets = []
    for n in range(max(RUNS, 50)):
        # Something to undo each time.
        conn.request("POST", "/v4/VaultSection", body=f'{{"Name": "scratch {n}"}}', headers=headers)
        conn.getresponse().read()
        t0 = time.perf_counter()
        conn.request("POST", "/v4/Dev/Reset", headers=headers)
        res = conn.getresponse()
        res.read()
        resets.append((time.perf_counter() - t0) * 1000)
        assert res.status == 204, res.status
    conn.close()
    stop(proc)
    summary("POST /v4/Dev/Reset, seed of 100 objects (HTTP round trip)", resets)

    summary("SIGTERM → exit, idle --dev server", stops)
    kept = []
    for _ in range(RUNS):
        proc, port, _ = start()
        time.sleep(0.05)
        kept.append(stop(proc, keep_alive_port=port))
    summary("SIGTERM → exit, idle keep-alive connection open", kept)


if __name__ == "__main__":
    main()

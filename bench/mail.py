#!/usr/bin/env python3
"""Mail delivery rate: `coffre serve` delivering pending outbox messages to a
real SMTP server (aiosmtpd, tests/api/smtp_server.py) on loopback.

    bench/mail.sh [--messages 1000] [--durability full] [--smtps]

1. A data dir gets N API keys that expire at the next midnight UTC (through
   the API of a first `coffre serve`), then `coffre sweep`, with reminders 1
   day before expiry, writes N ExpiryReminder e-mails, due now: N Pending
   messages. (Expiry notices would be written at that midnight, and a sweep
   run `--now` at a later instant writes messages due only then.)
2. The SMTP server starts (with --smtps: implicit TLS, a certificate made by
   `openssl` for 127.0.0.1, trusted through mail_ca_file); `coffre serve`
   starts with smtp_url pointing at it and delivers the outbox.
3. Reported: messages/s between the first and the last message the server
   received, the same from the moment serve was started, and the CPU seconds
   of each side. Afterwards `coffre outbox --json` must show N Sent messages
   with one attempt each.
"""

import argparse
import datetime
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SINK = os.path.join(ROOT, "tests", "api", "smtp_server.py")


def start_coffre(binary, env):
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    key = None
    for line in proc.stdout:
        if line.startswith("coffre bootstrap key: "):
            key = line.split(": ", 1)[1].strip()
        if line.startswith("coffre listening on "):
            return proc, key, int(line.strip().rsplit(":", 1)[1])
    sys.exit("coffre did not start")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--durability", default="full")
    p.add_argument("--smtps", action="store_true", help="implicit TLS")
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "coffre"))
    args = p.parse_args()
    n = args.messages

    tmp = tempfile.mkdtemp(prefix="coffre-mail-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFRE_")}
    env.update(COFFRE_DATA_DIR=os.path.join(tmp, "data"), COFFRE_LISTEN="127.0.0.1:0",
               COFFRE_REMINDER_DAYS="1", COFFRE_SCHEDULER="false",
               COFFRE_DURABILITY=args.durability,
               COFFRE_KDF_MEMORY_KIB="256", COFFRE_KDF_ITERATIONS="1", RUST_LOG="warn")

    # 1. N keys expiring at the next midnight UTC, swept: N Pending reminders.
    today = datetime.datetime.now(datetime.timezone.utc).date()
    proc, key, port = start_coffre(args.binary, env)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(n):
        body = json.dumps({"Name": f"bench key {i}", "ContactLogin": f"bench{i}",
                           "ContactFirstName": "Zoë", "ContactLastName": "Ångström",
                           "ContactEmail": f"bench{i}@example.com",
                           "ExpirationDate": today.isoformat()})
        conn.request("POST", "/v4/ApiKey", body,
                     {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        res = conn.getresponse()
        res.read()
        assert res.status == 201, res.status
    proc.terminate()
    proc.wait()
    out = subprocess.run([args.binary, "sweep"], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.count("reminded ") == n, out.stdout[-500:]

    # 2. The SMTP server, then coffre delivering to it.
    sink_args = [sys.executable, SINK, "--brief"]
    scheme = "smtp"
    if args.smtps:
        cert, key = os.path.join(tmp, "smtp.pem"), os.path.join(tmp, "smtp.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=smtp.test",
                        "-addext", "subjectAltName=IP:127.0.0.1",
                        "-addext", "basicConstraints=critical,CA:FALSE",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        sink_args += ["--tls-cert", cert, "--tls-key", key, "--implicit-tls"]
        env.update(COFFRE_MAIL_CA_FILE=cert)
        scheme = "smtps"
    sink = subprocess.Popen(sink_args, stdout=subprocess.PIPE, text=True)
    smtp_port = json.loads(sink.stdout.readline())["port"]
    times = []
    done = threading.Event()

    def collect():
        for line in sink.stdout:
            event = json.loads(line)
            if event["event"] == "message":
                times.append(event["t"])
                if len(times) == n:
                    done.set()

    threading.Thread(target=collect, daemon=True).start()
    env.update(COFFRE_SMTP_URL=f"{scheme}://127.0.0.1:{smtp_port}",
               COFFRE_MAIL_FROM="coffre <coffre@example.org>")
    started = time.time()
    proc, _, _ = start_coffre(args.binary, env)
    if not done.wait(600):
        sys.exit(f"only {len(times)} of {n} messages arrived in 600 s")
    coffre_cpu, sink_cpu = cpu_seconds(proc.pid), cpu_seconds(sink.pid)
    with open(f"/proc/{proc.pid}/status") as f:
        rss = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    proc.terminate()
    proc.wait()
    sink.terminate()
    sink.wait()

    # 3. Every message Sent, once.
    listed = json.loads(subprocess.run([args.binary, "outbox", "--json"], env=env,
                                       capture_output=True, text=True, check=True).stdout)
    assert len(listed) == n and all(m["Status"] == "Sent" and m["Attempts"] == 1 for m in listed)
    span = times[-1] - times[0]
    print(f"messages delivered: {n} over {scheme}:// (all Sent, 1 attempt each; "
          f"durability = {args.durability})")
    print(f"first to last message at the server: {span:.3f} s -> {(n - 1) / span:,.0f} messages/s")
    print(f"from serve started to the last message: {times[-1] - started:.3f} s "
          f"-> {n / (times[-1] - started):,.0f} messages/s")
    print(f"CPU: coffre {coffre_cpu:.2f} s, SMTP server (Python) {sink_cpu:.2f} s")
    print(f"coffre peak RSS: {int(rss) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()

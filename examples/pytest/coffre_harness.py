"""A coffre server for tests, with the standard library only: starts
`coffre serve --dev --seed …` on a free port with a bootstrap key fixed in
advance, reads the port from its listening line, resets it between tests and
stops it with SIGTERM (an idle server exits within milliseconds)."""

import base64
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
COFFRE = os.environ.get("COFFRE_BIN", "coffre")
SEED = os.environ.get("COFFRE_SEED_FILE", os.path.join(HERE, "..", "seed.toml"))
# Made once with `coffre keygen`; with --dev-bootstrap-key it is the admin key.
ADMIN_KEY = "coffre_Hha6vjwShESv_iqvm5ywOAv4rnQCEABzjTfR5r1Nydx5FhwWe5Us1Uzr0gpOnk"


class Coffre:
    def __init__(self, process, url):
        self.process, self.url = process, url

    def call(self, method, path, body=None, key=ADMIN_KEY):
        """(status, decoded JSON or None), authenticating as Uptrends clients do."""
        data = json.dumps(body).encode() if body is not None else None
        auth = base64.b64encode(f"harness:{key}".encode()).decode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Basic {auth}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        return status, (json.loads(text) if text else None)

    def reset(self):
        """Back to the seeded state (and the real clock), in milliseconds."""
        status, _ = self.call("POST", "/v4/Dev/Reset")
        assert status == 204, status

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0


def start():
    process = subprocess.Popen(
        [COFFRE, "serve", "--dev", "--listen", "127.0.0.1:0", "--seed", SEED,
         "--dev-bootstrap-key", ADMIN_KEY],
        stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("coffre listening on "):
            return Coffre(process, line.split()[-1])
    raise RuntimeError(f"coffre exited with {process.wait()} before listening")

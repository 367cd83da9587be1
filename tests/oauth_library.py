#!/usr/bin/env python3
"""coffre's OAuth 2.0 endpoints driven by OAuth client libraries nobody here
wrote: Authlib and requests-oauthlib (pinned, installed into .venv from PyPI).

    python3 tests/oauth_library.py [--binary PATH]

Sets up .venv with the pinned libraries if needed (and runs itself there),
starts `coffre serve --dev` on a free loopback port, creates an OAuth client
with the bootstrap key, then lets each library discover the endpoints from
/.well-known/oauth-authorization-server, fetch tokens (client_secret_basic
and client_secret_post), call the API with them, revoke one, and meet the
RFC 6749 errors. Prints one line per check and `N passed, N failed`; exits
non-zero on any failure. CI (.ci/run) runs it; `cargo test` runs it too
when .venv already holds the libraries (tests/api/oauth_library.rs).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import traceback
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
PYTHON = os.path.join(VENV, "bin", "python")
PINS = ["authlib==1.9.6", "requests-oauthlib==2.0.0", "oauthlib==4.0.1", "requests==2.34.2"]

READ = "coffre.vault_item.read"
REVEAL = "coffre.vault_item.reveal"


def libraries_ready():
    if not os.path.exists(PYTHON):
        return False
    probe = subprocess.run([PYTHON, "-c", "import authlib, requests_oauthlib"], capture_output=True)
    return probe.returncode == 0


def in_venv():
    """Runs this script with .venv's Python, installing the pinned libraries first."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(PYTHON):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    if not libraries_ready():
        subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", *PINS], check=True)
    os.execv(PYTHON, [PYTHON, *sys.argv])


class Server:
    """`coffre serve --dev` on a free port; its log goes to a file."""

    def __init__(self, binary):
        env = dict(os.environ, RUST_LOG="warn")
        for k in [k for k in env if k.startswith("COFFRE_")]:
            env.pop(k)
        self.log = tempfile.NamedTemporaryFile(prefix="coffre-oauth-", suffix=".log", delete=False)
        self.process = subprocess.Popen([binary, "--dev", "--listen", "127.0.0.1:0", "serve"],
                                        stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        self.key = None
        for line in self.process.stdout:
            if line.startswith("coffre bootstrap key: "):
                self.key = line.split(": ", 1)[1].strip()
            if line.startswith("coffre listening on "):
                self.base = line.split(" on ", 1)[1].strip()
                break
        else:
            sys.exit("coffre did not start: " + open(self.log.name).read())

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.key}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read()
            return json.loads(text) if text else None

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "debug", "coffre"))
    args = parser.parse_args()
    in_venv()
    # Both libraries refuse plain HTTP unless told; this is loopback only.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session as RequestsOAuthSession
    import requests

    if not os.path.exists(args.binary):
        subprocess.run(["cargo", "build", "--locked"], cwd=ROOT, check=True)
    server = Server(args.binary)
    passed, failed = 0, 0
    try:
        section = server.call("GET", "/v4/VaultSection")[0]["VaultSectionGuid"]
        client = server.call("POST", "/v4/OAuthClient", {
            "Name": "Library test", "ContactFirstName": "Grace", "ContactLastName": "Hopper",
            "ContactLogin": "library-test", "ContactEmail": "library@example.com",
            "Scopes": [READ, REVEAL]})
        server.call("POST", f"/v4/VaultSection/{section}/Authorization", {
            "AuthorizationType": "ViewVaultSection", "OperatorGuid": client["OperatorGuid"]})
        item = server.call("POST", "/v4/VaultItem", {
            "Name": "Shop login", "VaultSectionGuid": section, "VaultItemType": "CredentialSet",
            "UserName": "shop", "Password": "s3cret"})["VaultItemGuid"]
        client_id, secret = client["ClientId"], client["ClientSecret"]
        metadata = requests.get(server.base + "/.well-known/oauth-authorization-server", timeout=30).json()
        token_url, revoke_url = metadata["token_endpoint"], metadata["revocation_endpoint"]
        item_url = f"{server.base}/v4/VaultItem/{item}"

        def authlib_basic_with_a_narrow_scope():
            s = AuthlibSession(client_id, secret, scope=READ, token_endpoint_auth_method="client_secret_basic")
            token = s.fetch_token(token_url, grant_type="client_credentials")
            assert token["token_type"] == "Bearer" and token["scope"] == READ, token
            assert 0 < token["expires_in"] <= 86400, token
            res = s.get(item_url, timeout=30)
            assert res.status_code == 200 and res.json()["Name"] == "Shop login", res.text
            res = s.get(item_url + "/Reveal", timeout=30)
            assert res.status_code == 403 and REVEAL in res.text, res.text

        def authlib_post_with_every_scope():
            s = AuthlibSession(client_id, secret, token_endpoint_auth_method="client_secret_post")
            token = s.fetch_token(token_url, grant_type="client_credentials")
            assert set(token["scope"].split()) == {READ, REVEAL}, token
            res = s.get(item_url + "/Reveal", timeout=30)
            assert res.status_code == 200 and res.json()["Password"] == "s3cret", res.text

        def authlib_revokes_its_token():
            s = AuthlibSession(client_id, secret, token_endpoint_auth_method="client_secret_basic")
            token = s.fetch_token(token_url, grant_type="client_credentials")
            assert s.get(item_url, timeout=30).status_code == 200
            res = s.revoke_token(revoke_url, token=token["access_token"], token_type_hint="access_token")
            assert res.status_code == 200, res.text
            res = s.get(item_url, timeout=30)
            assert res.status_code == 401, res.text

        def authlib_meets_invalid_client():
            s = AuthlibSession(client_id, secret[:-1] + ("a" if secret[-1] != "a" else "b"),
                               token_endpoint_auth_method="client_secret_basic")
            try:
                s.fetch_token(token_url, grant_type="client_credentials")
            except Exception as e:  # the library's own error type
                assert getattr(e, "error", None) == "invalid_client", repr(e)
            else:
                raise AssertionError("a wrong secret got a token")

        def authlib_meets_invalid_scope():
            s = AuthlibSession(client_id, secret, scope="coffre.vault_item.delete",
                               token_endpoint_auth_method="client_secret_basic")
            try:
                s.fetch_token(token_url, grant_type="client_credentials")
            except Exception as e:
                assert getattr(e, "error", None) == "invalid_scope", repr(e)
            else:
                raise AssertionError("a scope beyond the client's got a token")

        def requests_oauthlib_backend_application_flow():
            session = RequestsOAuthSession(client=BackendApplicationClient(client_id=client_id, scope=[READ]))
            token = session.fetch_token(token_url=token_url, client_id=client_id, client_secret=secret)
            assert token["token_type"] == "Bearer" and token["scope"] == [READ], token
            res = session.get(item_url, timeout=30)
            assert res.status_code == 200 and res.json()["VaultItemGuid"] == item, res.text

        for check in [authlib_basic_with_a_narrow_scope, authlib_post_with_every_scope,
                      authlib_revokes_its_token, authlib_meets_invalid_client,
                      authlib_meets_invalid_scope, requests_oauthlib_backend_application_flow]:
            try:
                check()
                passed += 1
                print(f"ok      {check.__name__}", flush=True)
            except Exception:
                failed += 1
                print(f"FAILED  {check.__name__}\n{traceback.format_exc()}", flush=True)
    finally:
        server.stop()
    print(f"{passed} passed, {failed} failed")
    if failed:
        print("server log: " + server.log.name)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

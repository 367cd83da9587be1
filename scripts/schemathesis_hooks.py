"""Schemathesis hooks for coffre's fuzz runs.

The fuzzer learns real identifiers from responses and threads them into later
requests. Left alone it soon regenerates, revokes or demotes the very key it
authenticates with, or deactivates that key's operator, and every request after
that is a 401: the rest of the run tests nothing. So the harness keeps the
fuzzer away from its own credential: a write whose path names the protected key
or operator is sent to a GUID that does not exist instead (a 404, still checked
against the schema). Everything else, including every other key, is fair game.
"""

import os

import schemathesis

PROTECTED = {g.strip().upper() for g in os.environ.get("COFFRE_FUZZ_PROTECT", "").split(",") if g.strip()}
DECOY = "00000000-0000-4000-8000-00000000F022"


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.method.upper() in ("GET", "HEAD", "OPTIONS") or not case.path_parameters:
        return
    for name, value in list(case.path_parameters.items()):
        if str(value).strip().strip("{}").upper() in PROTECTED:
            case.path_parameters[name] = DECOY

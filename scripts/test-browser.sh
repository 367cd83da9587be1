#!/usr/bin/env bash
# The web console's end-to-end tests (tests/browser/): Debian's Chromium,
# headless, driven by Playwright for Python, against `coffre serve --dev`.
#
#     scripts/test-browser.sh [--screenshots] [pytest arguments…]
#
# Installs what they need: the `chromium` package (apt) and, into .venv,
# Playwright and pytest, pinned. Playwright drives /usr/bin/chromium; it never
# downloads a browser (`playwright install` is never run). Builds coffre, then
# runs the tests; --screenshots also rewrites docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT="playwright==1.65.0"
PYTEST="pytest==9.2.0"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null || missing+=(chromium)
# One font family everywhere, so screenshots look the same on every machine.
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
python3 -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
if ! .venv/bin/python -c "import playwright, pytest" 2>/dev/null ||
    [ "$(.venv/bin/python -c 'from importlib.metadata import version; print(version("playwright"))')" != "${PLAYWRIGHT#*==}" ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/pip install --quiet "$PLAYWRIGHT" "$PYTEST"
fi

cargo build --locked --bin coffre
args=()
if [ "${1:-}" = "--screenshots" ]; then
    shift
    rm -rf docs/screenshots
    args+=(--screenshots "$(pwd)/docs/screenshots")
fi
# The server logs only warnings here, so the measurements printed stay readable.
RUST_LOG="${RUST_LOG:-warn}" COFFRE_BIN="$(pwd)/target/debug/coffre" .venv/bin/python -m pytest tests/browser -q -s "${args[@]}" "$@"

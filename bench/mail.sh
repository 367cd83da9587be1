#!/usr/bin/env bash
# Mail delivery rate to a loopback SMTP server (not run by CI): builds release,
# puts aiosmtpd into .venv if it is not there, runs bench/mail.py.
#
#   bench/mail.sh                       # 1,000 messages, durability = "full"
#   bench/mail.sh --messages 5000 --durability normal
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import aiosmtpd" 2>/dev/null || .venv/bin/pip install --quiet aiosmtpd==1.4.6
exec .venv/bin/python bench/mail.py "$@"

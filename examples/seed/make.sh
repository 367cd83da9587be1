#!/usr/bin/env bash
# Regenerates the files examples/seed.toml reads: a self-signed certificate
# (sso-cert.pem, for a Certificate item), a PKCS#12 archive holding another
# certificate and its key (client.pfx, password in seed.toml, OpenSSL 3
# defaults) and a small data file. Test material only: the private key is
# thrown away, and the archive's password is in the repository.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=sso.example.com/O=Example SSO" -keyout "$tmp/sso.key" -out sso-cert.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=Example Client/O=Example Corp" -keyout "$tmp/client.key" -out "$tmp/client.pem" 2>/dev/null
openssl pkcs12 -export -in "$tmp/client.pem" -inkey "$tmp/client.key" \
    -passout pass:example-pfx-password -out client.pfx
printf 'sku,price\nA-100,9.99\nB-200,19.50\n' > prices.csv
echo "wrote sso-cert.pem, client.pfx, prices.csv"

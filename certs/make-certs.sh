#!/usr/bin/env bash
# Makes a CA and a server certificate for the gateway's TLS listeners (PostgreSQL, web,
# Kubernetes). Outputs go to certs/out/ (gitignored); point custos.yaml at them:
#   tls: { cert: certs/out/server.crt, key: certs/out/server.key, ca: certs/out/ca.crt }
# Usage: certs/make-certs.sh gateway.example.com [more names or IPs ...]
set -euo pipefail
cd "$(dirname "$0")"
[ $# -ge 1 ] || { echo "usage: $0 HOSTNAME [NAME_OR_IP ...]" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl is required: apt-get install -y openssl" >&2; exit 1; }
mkdir -p out && chmod 700 out && cd out

if [ ! -f ca.key ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=Custos CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
fi

san=""
for name in "$@"; do
  if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then san+="IP:$name,"; else san+="DNS:$name,"; fi
done
san=${san%,}

openssl ecparam -name prime256v1 -genkey -noout -out server.key
openssl req -new -key server.key -subj "/CN=$1" -out server.csr
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 825 \
  -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san") \
  -out server.crt
rm -f server.csr
chmod 600 ca.key server.key
echo "wrote $(pwd)/ca.crt, server.crt, server.key for: $*"

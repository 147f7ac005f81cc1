#!/usr/bin/env bash
# Makes certificates for TLS to NATS on one machine: a private CA, a server
# certificate for 127.0.0.1/localhost and a client certificate, under DIR
# (keys mode 0600). Keeps what exists. Used by tools/run.sh when NATS_TLS=1
# and by the tests; a cluster gets its certificates from its own CA
# (docs/operations.md "TLS to NATS").
#   tools/nats_tls.sh DIR
set -euo pipefail
dir=${1:?usage: tools/nats_tls.sh DIR}
umask 077
mkdir -p "$dir"
cd "$dir"
[[ -s ca.pem ]] && [[ -s server-cert.pem ]] && [[ -s client-cert.pem ]] && exit 0
ssl() { openssl "$@" 2>/dev/null; }
ssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=rentmesh local NATS CA" \
  -keyout ca-key.pem -out ca.pem
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
ssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server-key.pem -out server.csr
ssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
  -extfile server.ext -out server-cert.pem
printf 'extendedKeyUsage=clientAuth\n' >client.ext
ssl req -newkey rsa:2048 -nodes -subj "/CN=rentmesh client" -keyout client-key.pem -out client.csr
ssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
  -extfile client.ext -out client-cert.pem
rm -f server.csr client.csr server.ext client.ext ca.srl
chmod 600 ./*-key.pem

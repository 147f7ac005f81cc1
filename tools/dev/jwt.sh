#!/usr/bin/env bash
# Dev JWTs for the gateway (never for production keys).
#
#   tools/dev/jwt.sh keygen [RS256|ES256]      key pair + JWKS under var/jwt/ (kept if present)
#   tools/dev/jwt.sh token <sub> [roles] [ttl_seconds]
#                                              prints a signed token; roles comma-separated
#   tools/dev/jwt.sh customer [sub]            token for a customer (default "alice")
#   tools/dev/jwt.sh librarian [sub]           token with roles ["librarian"] (default "librarian-1")
#   tools/dev/jwt.sh service-keygen [RS256|ES256]
#                                              the service key pair (service-*.pem, service-jwks.json)
#   tools/dev/jwt.sh service <name>            a service token (sub=<name>, roles ["service"]),
#                                              signed with the service key: e.g. "rental" may
#                                              call PaymentService.Pay and ReturnService.ProcessReturn
#
# Claims: iss=$JWT_ISSUER (rentmesh-dev), aud=$JWT_AUDIENCE (rentmesh), sub, roles, iat, nbf, exp.
# The gateway verifies them with --jwt_public_key_file var/jwt/dev-public.pem
# (or --jwt_jwks_file var/jwt/dev-jwks.json). Needs openssl, xxd, base64.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${JWT_DIR:-$ROOT/var/jwt}
ISSUER=${JWT_ISSUER:-rentmesh-dev}
AUDIENCE=${JWT_AUDIENCE:-rentmesh}
KEY=dev  # file prefix: dev-*.pem (customer/librarian tokens) or service-*.pem
KID=dev-1

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
hex_to_b64url() { xxd -r -p | b64url; }

keygen() {
  local alg=${1:-RS256}
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  if [[ -f "$DIR/$KEY-private.pem" ]]; then
    echo "keeping existing $DIR/$KEY-private.pem" >&2
  else
    case "$alg" in
      RS256) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DIR/$KEY-private.pem" 2>/dev/null ;;
      ES256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/$KEY-private.pem" 2>/dev/null ;;
      *) echo "alg must be RS256 or ES256" >&2; exit 2 ;;
    esac
    chmod 600 "$DIR/$KEY-private.pem"
  fi
  openssl pkey -in "$DIR/$KEY-private.pem" -pubout -out "$DIR/$KEY-public.pem"
  local jwk
  if [[ "$(key_alg)" == RS256 ]]; then
    local n e_hex
    n=$(openssl rsa -pubin -in "$DIR/$KEY-public.pem" -noout -modulus | cut -d= -f2 | hex_to_b64url)
    e_hex=$(printf '%06x' "$(openssl rsa -pubin -in "$DIR/$KEY-public.pem" -noout -text | sed -n 's/^Exponent: \([0-9]*\).*/\1/p')")
    jwk="{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"$KID\",\"n\":\"$n\",\"e\":\"$(echo -n "$e_hex" | hex_to_b64url)\"}"
  else
    # The last 65 bytes of a P-256 SubjectPublicKeyInfo are 04 || X || Y.
    local point
    point=$(openssl pkey -pubin -in "$DIR/$KEY-public.pem" -outform DER | tail -c 65 | xxd -p | tr -d '\n')
    jwk="{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"use\":\"sig\",\"kid\":\"$KID\",\"x\":\"$(echo -n "${point:2:64}" | hex_to_b64url)\",\"y\":\"$(echo -n "${point:66:64}" | hex_to_b64url)\"}"
  fi
  echo "{\"keys\":[$jwk]}" > "$DIR/$KEY-jwks.json"
  echo "wrote $DIR/$KEY-private.pem, $KEY-public.pem, $KEY-jwks.json ($(key_alg))" >&2
}

key_alg() {
  if openssl pkey -in "$DIR/$KEY-private.pem" -noout -text 2>/dev/null | grep -q "ASN1 OID: prime256v1"; then echo ES256; else echo RS256; fi
}

token() {
  local sub=$1 roles=${2:-} ttl=${3:-3600}
  [[ -f "$DIR/$KEY-private.pem" ]] || keygen >/dev/null
  [[ "$sub" =~ ^[A-Za-z0-9._@-]+$ ]] || { echo "sub must match [A-Za-z0-9._@-]+" >&2; exit 2; }
  local alg now roles_json="[]"
  alg=$(key_alg)
  now=$(date +%s)
  if [[ -n "$roles" ]]; then
    roles_json="[\"$(echo -n "$roles" | sed 's/,/","/g')\"]"
  fi
  local header payload input sig
  header=$(echo -n "{\"alg\":\"$alg\",\"typ\":\"JWT\",\"kid\":\"$KID\"}" | b64url)
  payload=$(echo -n "{\"iss\":\"$ISSUER\",\"aud\":\"$AUDIENCE\",\"sub\":\"$sub\",\"roles\":$roles_json,\"iat\":$now,\"nbf\":$now,\"exp\":$((now + ttl))}" | b64url)
  input="$header.$payload"
  if [[ "$alg" == RS256 ]]; then
    sig=$(echo -n "$input" | openssl dgst -sha256 -sign "$DIR/$KEY-private.pem" -binary | b64url)
  else
    # JWS wants r || s (32 bytes each), openssl gives DER SEQUENCE { r, s }.
    local rs
    rs=$(echo -n "$input" | openssl dgst -sha256 -sign "$DIR/$KEY-private.pem" -binary |
      openssl asn1parse -inform DER | sed -n 's/.*INTEGER *:\([0-9A-Fa-f]*\)$/\1/p' |
      while read -r h; do printf '%064s' "$h" | tr ' ' 0; done | tr -d '\n')
    sig=$(echo -n "$rs" | hex_to_b64url)
  fi
  echo "$input.$sig"
}

case "${1:-}" in
  keygen) keygen "${2:-RS256}" ;;
  token) shift; token "$@" ;;
  customer) token "${2:-alice}" "" "${3:-3600}" ;;
  librarian) token "${2:-librarian-1}" librarian "${3:-3600}" ;;
  service-keygen) KEY=service KID=service-1 keygen "${2:-RS256}" ;;
  service) KEY=service KID=service-1 token "${2:?usage: jwt.sh service <name>}" service "${3:-3600}" ;;
  *) sed -n '2,19p' "$0"; exit 2 ;;
esac

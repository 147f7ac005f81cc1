#!/usr/bin/env bash
# Starts the whole of rentmesh on this machine (loopback only), shows it
# working, and stays up until Ctrl-C.
#   nats-server -js   store under var/nats; authorization on: one NATS user per
#                     service, credentials under var/nats-auth (made on first
#                     run by tools/nats_auth.sh, random passwords, mode 0600)
#   payment, returns, delivery, rental, view, notification, gateway   RocksDB under var/data/<svc>,
#                     logs under var/log (notification sends to its log channel:
#                     var/log/notification.log; NOTIFICATION_WEBHOOK_URL=http://... adds
#                     the webhook channel, signed with var/notification-webhook.secret)
# Options: --no-demo (just run), --no-build (use what is built).
# NATS_TLS=1: TLS to NATS too (a local CA and certificates under var/nats-tls).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

demo=1
build=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=0 ;;
    --no-build) build=0 ;;
    *) echo "usage: tools/run.sh [--no-demo] [--no-build]" >&2; exit 2 ;;
  esac
done

bash tools/setup.sh
if ((build)); then bash tools/build.sh; fi

bin="$root/build/services"
rentctl="$root/build/tools/rentctl/rentctl"
var="$root/var"
mkdir -p "$var/nats" "$var/data" "$var/log"

NATS_PORT=${NATS_PORT:-4222}
declare -A GRPC=([rental]=50051 [payment]=50052 [returns]=50053 [view]=50054 [delivery]=50055
  [notification]=50056)
declare -A ADMIN=([gateway]=9450 [rental]=9451 [payment]=9452 [returns]=9453 [view]=9454
  [delivery]=9455 [notification]=9456)
HTTP_PORT=${HTTP_PORT:-8080}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$NATS_PORT" "${GRPC[@]}" "${ADMIN[@]}" "$HTTP_PORT"; do
  if port_busy "$p"; then
    echo "run: port $p on 127.0.0.1 is already in use (another rentmesh running?). Stop it first." >&2
    exit 1
  fi
done

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "run: stopping..."
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run: stopped. State is kept in var/ (delete var/ to start afresh)."
}
trap cleanup INT TERM EXIT

# NATS users and permissions (the tests use the same generator). "admin" is
# unrestricted, for an operator's own nats CLI; no service uses it.
auth="$var/nats-auth"
bash tools/nats_auth.sh "$auth" --client admin
nats_conf="$var/nats.conf"
nats_scheme=nats
nats_tls_flags=()
{
  # All in the file, JetStream too: a reload (nats-server --signal reload,
  # e.g. after rotating credentials) applies the file alone.
  echo "# Made by tools/run.sh on every start."
  echo "listen: 127.0.0.1:$NATS_PORT"
  echo "jetstream { store_dir: \"$var/nats\" }"
  echo "include \"nats-auth/auth.conf\""
  if [[ ${NATS_TLS:-0} == 1 ]]; then
    bash tools/nats_tls.sh "$var/nats-tls"
    printf 'tls {\n  cert_file: "%s"\n  key_file: "%s"\n  timeout: 5\n}\n' \
      "$var/nats-tls/server-cert.pem" "$var/nats-tls/server-key.pem"
  fi
} >"$nats_conf"
if [[ ${NATS_TLS:-0} == 1 ]]; then
  nats_scheme=tls
  nats_tls_flags=(--nats_tls_ca="$var/nats-tls/ca.pem")
fi
nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
"$nats_bin" -c "$nats_conf" -P "$var/nats.pid" >"$var/log/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do port_busy "$NATS_PORT" && break; sleep 0.1; done
nats_url="$nats_scheme://127.0.0.1:$NATS_PORT"

# Callers prove who they are (no mesh here): customer/librarian JWTs with the
# dev key (the gateway's), service JWTs with the service key, both under var/jwt.
JWT_DIR="$var/jwt" bash tools/dev/jwt.sh keygen >/dev/null 2>&1
JWT_DIR="$var/jwt" bash tools/dev/jwt.sh service-keygen >/dev/null 2>&1
identity=(--jwt_public_key_file="$var/jwt/dev-public.pem"
  --service_jwt_public_key_file="$var/jwt/service-public.pem")

start() {  # start <service> [flags...]
  local svc=$1; shift
  "$bin/$svc/${svc}_server" --nats_url="$nats_url" --nats_credentials="$auth/$svc.creds" \
    "${nats_tls_flags[@]}" --data_dir="$var/data/$svc" \
    --admin_address="127.0.0.1:${ADMIN[$svc]}" "${identity[@]}" "$@" >"$var/log/$svc.log" 2>&1 &
  pids+=($!)
}
start payment --grpc_address="127.0.0.1:${GRPC[payment]}"
start returns --grpc_address="127.0.0.1:${GRPC[returns]}"
services=(payment returns)
# Delivery: a paid rental gets a delivery, assigned by the customer's region to
# a courier (two here; DELIVERY_COURIERS and DELIVERY_CUSTOMER_REGIONS change
# them); rental cancels it synchronously before cancelling a rental.
delivery_flags=()
if [[ -x "$bin/delivery/delivery_server" ]]; then
  start delivery --grpc_address="127.0.0.1:${GRPC[delivery]}" \
    --couriers="${DELIVERY_COURIERS:-kim@seoul,lee@central}" \
    --customer_regions="${DELIVERY_CUSTOMER_REGIONS:-alice=seoul}"
  services+=(delivery)
  delivery_flags=(--delivery_address="127.0.0.1:${GRPC[delivery]}")
fi
start rental --grpc_address="127.0.0.1:${GRPC[rental]}" \
  --payment_address="127.0.0.1:${GRPC[payment]}" --returns_address="127.0.0.1:${GRPC[returns]}" \
  --service_jwt_private_key_file="$var/jwt/service-private.pem" "${delivery_flags[@]}"
services+=(rental)
if [[ -x "$bin/view/view_server" ]]; then
  start view --grpc_address="127.0.0.1:${GRPC[view]}"
  services+=(view)
fi
if [[ -x "$bin/notification/notification_server" ]]; then
  webhook=()
  if [[ -n ${NOTIFICATION_WEBHOOK_URL:-} ]]; then
    secret="$var/notification-webhook.secret"
    [[ -s $secret ]] || (umask 077 && head -c 32 /dev/urandom | base64 >"$secret")
    webhook=(--webhook_url="$NOTIFICATION_WEBHOOK_URL" --webhook_secret_file="$secret")
  fi
  start notification --grpc_address="127.0.0.1:${GRPC[notification]}" "${webhook[@]}"
  services+=(notification)
fi

gateway=0
if [[ -x "$bin/gateway/gateway_server" ]]; then
  # JWT is on, with the dev key pair made above (tools/dev/jwt.sh mints tokens).
  "$bin/gateway/gateway_server" --http_address="127.0.0.1:$HTTP_PORT" \
    --grpc_address=127.0.0.1:50050 --admin_address="127.0.0.1:${ADMIN[gateway]}" \
    --rental_address="127.0.0.1:${GRPC[rental]}" --payment_address="127.0.0.1:${GRPC[payment]}" \
    --returns_address="127.0.0.1:${GRPC[returns]}" --view_address="127.0.0.1:${GRPC[view]}" \
    --notification_address="127.0.0.1:${GRPC[notification]}" \
    --delivery_address="127.0.0.1:${GRPC[delivery]}" \
    --jwt_public_key_file="$var/jwt/dev-public.pem" >"$var/log/gateway.log" 2>&1 &
  pids+=($!)
  gateway=1
fi

addrs=()
for s in "${services[@]}"; do addrs+=("127.0.0.1:${GRPC[$s]}"); done
((gateway)) && addrs+=("127.0.0.1:50050")
if ! "$rentctl" wait "${addrs[@]}"; then
  echo "run: a service did not become ready; see var/log/" >&2
  exit 1
fi

cat <<INFO

rentmesh is running (logs in var/log/, state in var/):
  nats-server (JetStream)   $nats_url   (users and passwords: var/nats-auth/*.creds)
  rental   gRPC 127.0.0.1:${GRPC[rental]}   metrics http://127.0.0.1:${ADMIN[rental]}/metrics
  payment  gRPC 127.0.0.1:${GRPC[payment]}   metrics http://127.0.0.1:${ADMIN[payment]}/metrics
  returns  gRPC 127.0.0.1:${GRPC[returns]}   metrics http://127.0.0.1:${ADMIN[returns]}/metrics
INFO
[[ " ${services[*]} " == *" view "* ]] &&
  echo "  view     gRPC 127.0.0.1:${GRPC[view]}   metrics http://127.0.0.1:${ADMIN[view]}/metrics"
[[ " ${services[*]} " == *" delivery "* ]] &&
  echo "  delivery gRPC 127.0.0.1:${GRPC[delivery]}   metrics http://127.0.0.1:${ADMIN[delivery]}/metrics"
[[ " ${services[*]} " == *" notification "* ]] &&
  echo "  notification gRPC 127.0.0.1:${GRPC[notification]}   metrics http://127.0.0.1:${ADMIN[notification]}/metrics"
((gateway)) && cat <<INFO
  gateway  http://127.0.0.1:$HTTP_PORT (REST /v1/..., /openapi.json, /healthz)   metrics http://127.0.0.1:${ADMIN[gateway]}/metrics
           JWT required: TOKEN=\$(tools/dev/jwt.sh customer alice)   (or: tools/dev/jwt.sh librarian)
INFO
echo

if ((demo)); then
  HTTP_PORT=$HTTP_PORT GATEWAY=$gateway bash tools/demo.sh
fi

echo "rentmesh is up; press Ctrl-C to stop."
wait -n "${pids[@]}" || true
echo "run: a process exited; see var/log/" >&2

#!/usr/bin/env bash
# The dashboards against a real Prometheus (issue 6, Observability):
#   1. starts its own nats-server -js and the services (payment, returns,
#      rental; view and gateway when built) on free loopback ports, state in a
#      temp dir;
#   2. starts Debian's prometheus scraping every admin port's /metrics every 1s,
#      with the target labels the chart's pods get from the usual
#      annotation-driven "kubernetes-pods" scrape (namespace, pod, app, version);
#   3. drives ~15 s of load with rentctl (rent, get, cancel, return, direct
#      returns, payment reads, bad requests and client-cancelled calls), so that
#      every metric family has samples, including the events payment consumes;
#   4. runs check_dashboards.py: every variable and every panel query of
#      helm/rentmesh/dashboards/*.json must parse and return data (see its
#      header for the variable substitution, the allow-list and the self-test).
# Assumes the project is built (tools/build.sh). Installs prometheus with apt-get
# when missing. Cleans up (processes it started, temp dir) on any exit.
# Env: LOAD_SECONDS (15), KEEP_TMP=1 (keep logs and data), PROMETHEUS (binary),
#      STRICT=1 (known service-side metric defects fail too), DASHBOARDS (a
#      folder or file of dashboard JSON instead of helm/rentmesh/dashboards).
# Ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
TEST_NAME=prometheus_test
LOAD_SECONDS=${LOAD_SECONDS:-15}
. "$(dirname "$0")/live_env.sh"

read -r -a ports < <(free_ports 17)
((${#ports[@]} == 17)) || die "cannot find free ports"
NATS_PORT=${ports[0]}
PROM_PORT=${ports[1]}
HTTP_PORT=${ports[2]}
declare -A GRPC=([rental]=${ports[3]} [payment]=${ports[4]} [returns]=${ports[5]} [view]=${ports[6]}
                 [rental1]=${ports[12]} [delivery]=${ports[15]})
declare -A ADMIN=([rental]=${ports[7]} [payment]=${ports[8]} [returns]=${ports[9]} [view]=${ports[10]}
                  [gateway]=${ports[11]} [rental1]=${ports[13]} [delivery]=${ports[16]})
DEAD_PORT=${ports[14]}  # nobody listens here: the payment address of rental1
addr() { echo "127.0.0.1:$1"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- the system ----------------------------------------------------------------
"$nats_bin" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$tmp/nats" >"$tmp/log/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do port_open "$NATS_PORT" && break; sleep 0.1; done
port_open "$NATS_PORT" || die "nats-server did not start"
nats_url="nats://127.0.0.1:$NATS_PORT"

start() {  # start <instance> [flags...]; instance = service name [+ replica number]
  local svc=$1 app=${1%%[0-9]*}; shift
  "$bin/$app/${app}_server" --nats_url="$nats_url" --data_dir="$tmp/data/$svc" \
    --admin_address="$(addr "${ADMIN[$svc]}")" --grpc_address="$(addr "${GRPC[$svc]}")" \
    --trust_mesh "$@" \
    >"$tmp/log/$svc.log" 2>&1 &
  pids+=($!)
}
start payment
start returns
start rental --payment_address="$(addr "${GRPC[payment]}")" --returns_address="$(addr "${GRPC[returns]}")"
# A second rental replica whose payment is unreachable: its RentBook answers
# UNAVAILABLE, a real failure for the error-ratio panel.
start rental1 --payment_address="$(addr "$DEAD_PORT")" --returns_address="$(addr "${GRPC[returns]}")"
services=(payment returns rental rental1)
if [[ -x "$bin/view/view_server" ]]; then
  start view
  services+=(view)
fi
if [[ -x "$bin/delivery/delivery_server" ]]; then
  # seoul has a courier, the default region (central) none: both backlogs show
  start delivery --couriers=kim@seoul --customer_regions=alice=seoul
  services+=(delivery)
fi
wait_addrs=()
for s in "${services[@]}"; do wait_addrs+=("$(addr "${GRPC[$s]}")"); done
timeout 60 "$rentctl" wait "${wait_addrs[@]}" >/dev/null || die "a service did not become ready"

scraped=("${services[@]}")
if [[ -x "$bin/gateway/gateway_server" ]]; then
  "$bin/gateway/gateway_server" --http_address="$(addr "$HTTP_PORT")" \
    --admin_address="$(addr "${ADMIN[gateway]}")" --auth_disabled=true \
    --rental_address="$(addr "${GRPC[rental]}")" --payment_address="$(addr "${GRPC[payment]}")" \
    --returns_address="$(addr "${GRPC[returns]}")" --view_address="$(addr "${GRPC[view]}")" \
    >"$tmp/log/gateway.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://$(addr "${ADMIN[gateway]}")/healthz" 2>/dev/null && break
    sleep 0.1
  done
  scraped+=(gateway)
fi
log "system up: ${scraped[*]} (nats $NATS_PORT)"

# --- prometheus ------------------------------------------------------------------
# The labels a pod of the chart gets from the annotation-driven scrape
# (prometheus.io/scrape|port|path; Istio's merged scrape, the kubernetes-pods
# job): job, instance, namespace, pod, and the pod labels app and version
# (rental1 is pod rentmesh-rental-1 of app rental).
# The metrics' own labels (service, method, code, stream, consumer, type, cf)
# come from the services.
pod_of() { local n=${1//[^0-9]/}; echo "rentmesh-${1%%[0-9]*}-${n:-0}"; }
{
  cat <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: kubernetes-pods
    metrics_path: /metrics
    static_configs:
YAML
  for s in "${scraped[@]}"; do
    cat <<YAML
      - targets: ["$(addr "${ADMIN[$s]}")"]
        labels: {namespace: rentmesh, pod: $(pod_of "$s"), app: ${s%%[0-9]*}, version: v1}
YAML
  done
} >"$tmp/prometheus.yml"
"$PROMETHEUS" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prometheus" \
  --web.listen-address="$(addr "$PROM_PORT")" >"$tmp/log/prometheus.log" 2>&1 &
pids+=($!)
prom="http://$(addr "$PROM_PORT")"
up=0
for _ in $(seq 150); do
  up=$(curl -fsS "$prom/api/v1/query?query=count(up%3D%3D1)" 2>/dev/null | jq -r '.data.result[0].value[1] // 0' 2>/dev/null || echo 0)
  [[ "$up" == "${#scraped[@]}" ]] && break
  sleep 0.2
done
if [[ "$up" != "${#scraped[@]}" ]]; then
  curl -fsS "$prom/api/v1/targets" 2>/dev/null |
    jq -r '.data.activeTargets[] | "  \(.labels.pod) \(.scrapeUrl): \(.health) \(.lastError)"' >&2
  die "prometheus does not see all ${#scraped[@]} targets up (up=$up)"
fi
log "prometheus on $prom scraping ${#scraped[@]} targets"

# --- load --------------------------------------------------------------------------
R=rentmesh.rental.v1.RentalService
P=rentmesh.payment.v1.PaymentService
T=rentmesh.returns.v1.ReturnService
V=rentmesh.view.v1.ViewService
rc_() { "$rentctl" --deadline_ms=5000 --addr="$(addr "${GRPC[$1]}")" call "${@:2}" 2>/dev/null; }
run=$(date +%s%N)
calls=0
bad=0
i=0
load_end=$(($(date +%s) + LOAD_SECONDS))
while (($(date +%s) < load_end)); do
  i=$((i + 1))
  book="book-$run-$i"
  rc_ rental $R/AddBook "{\"bookId\":\"$book\",\"title\":\"Book $i\",\"copies\":3,\"dailyFee\":{\"currency\":\"KRW\",\"amountMinor\":1500}}" >/dev/null
  a=$(rc_ rental $R/RentBook "{\"customerId\":\"alice-$i\",\"bookId\":\"$book\",\"days\":3,\"requestId\":\"$run-$i-a\"}" | jq -r '.rentalId // empty')
  b=$(rc_ rental $R/RentBook "{\"customerId\":\"bob-$i\",\"bookId\":\"$book\",\"days\":2,\"requestId\":\"$run-$i-b\"}" | jq -r '.rentalId // empty')
  calls=$((calls + 3))
  if [[ -n "$a" ]]; then
    rc_ rental $R/GetRental "{\"rentalId\":\"$a\"}" >/dev/null
    rc_ rental $R/ReturnBook "{\"rentalId\":\"$a\",\"condition\":\"BOOK_CONDITION_DAMAGED\",\"requestId\":\"$run-$i-r\"}" >/dev/null
    rc_ payment $P/ListRentalPayments "{\"rentalId\":\"$a\"}" >/dev/null
    calls=$((calls + 3))
  fi
  if [[ -n "$b" ]]; then  # cancelled: payment refunds it, reacting to the event
    rc_ rental $R/CancelRental "{\"rentalId\":\"$b\",\"reason\":\"changed my mind\",\"requestId\":\"$run-$i-c\"}" >/dev/null
    calls=$((calls + 1))
  fi
  rc_ rental $R/GetBook "{\"bookId\":\"$book\"}" >/dev/null
  calls=$((calls + 1))
  if ((i % 3 == 1)); then  # answers that are errors: INVALID_ARGUMENT, NOT_FOUND
    rc_ rental $R/RentBook "{\"customerId\":\"carol\",\"bookId\":\"$book\",\"days\":0}" >/dev/null && bad=$((bad + 1))
    rc_ rental $R/GetRental "{\"rentalId\":\"no-such-rental-$i\"}" >/dev/null && bad=$((bad + 1))
    rc_ payment $P/GetPayment "{\"paymentId\":\"no-such-payment-$i\"}" >/dev/null
    # overdue return straight to returns: a late fee that payment charges (event)
    due=$(date -u -d '3 days ago 1 hour' +%Y-%m-%dT%H:%M:%SZ)
    rc_ returns $T/ProcessReturn "{\"rentalId\":\"$run-$i-overdue\",\"bookId\":\"$book\",\"customerId\":\"carol\",\"dueAt\":\"$due\",\"condition\":\"CONDITION_GOOD\"}" >/dev/null
    # a failure (not an answer): the rental replica that cannot reach payment
    # answers UNAVAILABLE (the error-ratio panel needs a non-answer code)
    rc_ rental1 $R/RentBook "{\"customerId\":\"dave-$i\",\"bookId\":\"$book\",\"days\":1,\"requestId\":\"$run-$i-d\"}" >/dev/null && bad=$((bad + 1))
    calls=$((calls + 5))
  fi
  if [[ " ${services[*]} " == *" view "* ]]; then
    rc_ view $V/GetMyPage "{\"customerId\":\"alice-$i\",\"pageSize\":5}" >/dev/null
    calls=$((calls + 1))
  fi
  if [[ " ${scraped[*]} " == *" gateway "* ]]; then
    curl -s -o /dev/null "http://$(addr "$HTTP_PORT")/v1/books/$book" || true
    calls=$((calls + 1))
  fi
done
((bad == 0)) || die "$bad bad requests were accepted (expected errors)"
log "load: $i rounds, ~$calls calls in ${LOAD_SECONDS}s"
sleep 3  # let the event reactions finish and Prometheus scrape them (1s interval)

# --- the dashboards ----------------------------------------------------------------
python3 "$here/check_dashboards.py" --prometheus "$prom" "${DASHBOARDS:-$root/helm/rentmesh/dashboards}"

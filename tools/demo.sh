#!/usr/bin/env bash
# A short, visible walk through the flows, against a running rentmesh
# (tools/run.sh starts one and calls this). Uses rentctl (gRPC + JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
rentctl=${RENTCTL:-build/tools/rentctl/rentctl}
run_id=$(date +%s)

# The services verify callers: this walk-through acts as a librarian (dev
# key), and records one return as the rental service would (service key).
export JWT_DIR=${JWT_DIR:-var/jwt}
as_librarian="--header=authorization:Bearer $(bash tools/dev/jwt.sh librarian)"
as_rental="--header=authorization:Bearer $(bash tools/dev/jwt.sh service rental)"
rentctl_as() { "$rentctl" "${AS:-$as_librarian}" "$@"; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
call() {  # call <method> <json>: prints the request and the answer
  echo "\$ rentctl call $1 '$2'" >&2
  rentctl_as call "$1" "$2"
}
R=rentmesh.rental.v1.RentalService
P=rentmesh.payment.v1.PaymentService
T=rentmesh.returns.v1.ReturnService
V=rentmesh.view.v1.ViewService
D=rentmesh.delivery.v1.DeliveryService
N=rentmesh.notification.v1.NotificationService

step "A librarian adds a book (2 copies, 1500 KRW a day); adding it again changes nothing"
call $R/AddBook '{"bookId":"dune","title":"Dune","copies":2,"dailyFee":{"currency":"KRW","amountMinor":1500}}'

step "alice rents it for 3 days: payment is taken synchronously, then the rental is recorded"
rental=$(call $R/RentBook "{\"customerId\":\"alice\",\"bookId\":\"dune\",\"days\":3,\"requestId\":\"demo-$run_id-a\"}")
echo "$rental"
alice_rental=$(jq -r .rentalId <<<"$rental")

step "Retrying the same request (same requestId) returns the same rental, charged once"
call $R/RentBook "{\"customerId\":\"alice\",\"bookId\":\"dune\",\"days\":3,\"requestId\":\"demo-$run_id-a\"}" | jq -c '{rentalId, status, fee}'

step "The payment of that rental"
call $P/ListRentalPayments "{\"rentalId\":\"$alice_rental\"}"

step "Bad input gets a clear error (days must be positive)"
call $R/RentBook '{"customerId":"alice","bookId":"dune","days":0}' || true

step "bob rents the last copy, then cancels it: the payment service refunds it (event-driven)"
bob=$(call $R/RentBook "{\"customerId\":\"bob\",\"bookId\":\"dune\",\"days\":2,\"requestId\":\"demo-$run_id-b\"}")
bob_rental=$(jq -r .rentalId <<<"$bob")
echo "$bob" | jq -c '{rentalId, status, fee}'
call $R/GetBook '{"bookId":"dune"}' | jq -c '{bookId, copies, copiesAvailable}'
call $R/CancelRental "{\"rentalId\":\"$bob_rental\",\"reason\":\"changed my mind\",\"requestId\":\"demo-$run_id-c\"}" |
  jq -c '{rentalId, status, cancelReason}'
for _ in $(seq 50); do
  refunded=$(rentctl_as call $P/ListRentalPayments "{\"rentalId\":\"$bob_rental\"}" | jq -r '.payments[0].status')
  [[ "$refunded" == "PAYMENT_STATUS_REFUNDED" ]] && break
  sleep 0.1
done
call $P/ListRentalPayments "{\"rentalId\":\"$bob_rental\"}" | jq -c '.payments[] | {paymentId, status, amount, refunded}'

if rentctl_as --deadline_ms=1000 call $D/ListCouriers '{}' >/dev/null 2>&1; then
  step "alice's paid rental gets a delivery, assigned to the courier of her region (event-driven)"
  for _ in $(seq 50); do
    delivery=$(rentctl_as call $D/GetRentalDelivery "{\"rentalId\":\"$alice_rental\",\"kind\":\"DELIVERY_KIND_OUTBOUND\"}" 2>/dev/null || true)
    [[ $(jq -r '.status // empty' <<<"$delivery" 2>/dev/null) == DELIVERY_STATUS_ASSIGNED ]] && break
    sleep 0.1
  done
  call $D/GetRentalDelivery "{\"rentalId\":\"$alice_rental\",\"kind\":\"DELIVERY_KIND_OUTBOUND\"}" |
    jq -c '{deliveryId, status, region, courierId}'
  delivery_id=$(jq -r .deliveryId <<<"$delivery")
  courier=$(jq -r .courierId <<<"$delivery")
  step "The courier ($courier) picks the copy up and delivers it (courier role, the assigned courier only)"
  as_courier="--header=authorization:Bearer $(bash tools/dev/jwt.sh token "$courier" courier)"
  AS=$as_courier call $D/PickUpDelivery "{\"deliveryId\":\"$delivery_id\",\"requestId\":\"demo-$run_id-p\"}" | jq -c '{status, courierId}'
  AS=$as_courier call $D/CompleteDelivery "{\"deliveryId\":\"$delivery_id\",\"requestId\":\"demo-$run_id-d\"}" |
    jq -c '{status, steps: [.steps[].status]}'
  if rentctl_as --deadline_ms=1000 call $N/ListNotifications '{"customerId":"alice","pageSize":1}' >/dev/null 2>&1; then
    step "alice is told of each step (the notification service follows DELIVERY too; her log channel, oldest first)"
    mine="[(.notifications // [])[] | select(.rentalId == \"$alice_rental\" and .channel == \"log\")]"
    for _ in $(seq 100); do
      n=$(rentctl_as call $N/ListNotifications '{"customerId":"alice","pageSize":50}' |
        jq "$mine | map(select(.kind == \"NOTIFICATION_KIND_DELIVERED\")) | length")
      [[ "$n" == "1" ]] && break
      sleep 0.1
    done
    call $N/ListNotifications '{"customerId":"alice","pageSize":50}' | jq -c "$mine | reverse | .[] | {kind, message}"
  fi
  step "bob's cancelled rental: rental cancelled its delivery first, synchronously"
  call $D/GetRentalDelivery "{\"rentalId\":\"$bob_rental\",\"kind\":\"DELIVERY_KIND_OUTBOUND\"}" | jq -c '{status, steps: [.steps[].status]}'
fi

step "carol holds the book's last free copy for 30 minutes, then rents it with the hold"
solaris=solaris-$run_id  # a book of this run's own: its one copy ends rented
call $R/AddBook "{\"bookId\":\"$solaris\",\"title\":\"Solaris\",\"copies\":1,\"dailyFee\":{\"currency\":\"KRW\",\"amountMinor\":1000}}" | jq -c '{bookId, copiesAvailable}'
hold=$(call $R/HoldBook "{\"customerId\":\"carol\",\"bookId\":\"$solaris\",\"requestId\":\"demo-$run_id-h\"}")
jq -c '{holdId, status, expiresAt}' <<<"$hold"
hold_id=$(jq -r .holdId <<<"$hold")
step "dave finds no free copy and joins the waiting list; he gets the copy when it comes back"
call $R/HoldBook "{\"customerId\":\"dave\",\"bookId\":\"$solaris\",\"requestId\":\"demo-$run_id-h3\",\"waitIfUnavailable\":true}" |
  jq -c '{holdId, status, queuePosition}'
call $R/RentBook "{\"customerId\":\"carol\",\"bookId\":\"$solaris\",\"days\":2,\"holdId\":\"$hold_id\",\"requestId\":\"demo-$run_id-hr\"}" |
  jq -c '{rentalId, status, fee}'
call $R/ListHolds '{"customerId":"carol"}' | jq -c '[.holds[] | {holdId, status}]'

step "alice returns her copy damaged: return processing runs synchronously and assesses a fee, which payment charges"
returned=$(call $R/ReturnBook "{\"rentalId\":\"$alice_rental\",\"condition\":\"BOOK_CONDITION_DAMAGED\",\"requestId\":\"demo-$run_id-r\"}")
jq -c '{rentalId, status, returnId, lateFee, consistencyToken}' <<<"$returned"
token=$(jq -r .consistencyToken <<<"$returned")
for _ in $(seq 50); do
  n=$(rentctl_as call $P/ListRentalPayments "{\"rentalId\":\"$alice_rental\"}" | jq '.payments | length')
  [[ "$n" == "2" ]] && break
  sleep 0.1
done
call $P/ListRentalPayments "{\"rentalId\":\"$alice_rental\"}" | jq -c '.payments[] | {kind, status, amount}'

step "Late fees: the returns service charges 500 KRW per started day overdue (a book due 3 days ago)"
due=$(date -u -d '3 days ago 1 hour' +%Y-%m-%dT%H:%M:%SZ)
AS=$as_rental call $T/ProcessReturn "{\"rentalId\":\"demo-$run_id-overdue\",\"bookId\":\"dune\",\"customerId\":\"walk-in\",\"dueAt\":\"$due\",\"condition\":\"CONDITION_GOOD\"}" |
  jq -c '{returnId, daysOverdue, lateFee, totalFee}'
for _ in $(seq 50); do
  n=$(rentctl_as call $P/ListRentalPayments "{\"rentalId\":\"demo-$run_id-overdue\"}" | jq '.payments | length')
  [[ "$n" == "1" ]] && break
  sleep 0.1
done
call $P/ListRentalPayments "{\"rentalId\":\"demo-$run_id-overdue\"}" | jq -c '.payments[] | {kind, status, amount}'

if rentctl_as --deadline_ms=1000 call $V/ListCatalog '{}' >/dev/null 2>&1; then
  step "alice's page: the CQRS view built from the events (reading her own write with its token $token)"
  call $V/GetMyPage "{\"customerId\":\"alice\",\"pageSize\":5,\"consistencyToken\":\"$token\"}" |
    jq -c '.rentals[] | {rentalId, bookTitle, status, amountPaid, lateFee, refund, deliveryStatus, courierId}'
  step "bob's cancelled rental, with its timeline (the refund arrives from the payment service)"
  call $V/GetRentalStatus "{\"rentalId\":\"$bob_rental\"}" | jq -c '{status: .rental.status, refund: .rental.refund, timeline: [.timeline[].eventType]}'
fi

if [[ "${GATEWAY:-0}" == 1 ]]; then
  GW=http://127.0.0.1:${HTTP_PORT:-8080}
  export JWT_DIR=${JWT_DIR:-var/jwt}
  LIB=$(bash tools/dev/jwt.sh librarian)
  CAROL=$(bash tools/dev/jwt.sh customer carol)
  DAVE=$(bash tools/dev/jwt.sh customer dave)
  rest() {  # rest <token> <method> <path> [body]: prints the call and status + body
    echo "\$ curl -X $2 $GW$3 ${4:+-d '$4'}" >&2
    curl -s -o /tmp/rentmesh-demo.$$ -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" \
      "$GW$3" ${4:+-d "$4"} | sed 's/^/HTTP /'
    echo " $(cat /tmp/rentmesh-demo.$$)"
    rm -f /tmp/rentmesh-demo.$$
  }
  step "The same flows over REST through the gateway (JWT: sub = customer, roles = librarian)"
  rest "$LIB" POST /v1/books '{"bookId":"atlas","title":"Cloud Atlas","copies":1,"dailyFee":{"currency":"KRW","amountMinor":"1200"}}'
  rest "$CAROL" POST /v1/books '{"bookId":"x","title":"x","copies":1,"dailyFee":{"currency":"KRW","amountMinor":"1"}}'
  rented=$(curl -s -X POST -H "Authorization: Bearer $CAROL" -H "X-Request-Id: demo-$run_id-rest" \
    "$GW/v1/rentals" -d '{"customerId":"carol","bookId":"atlas","days":1}')
  echo "\$ curl -X POST $GW/v1/rentals -H 'X-Request-Id: demo-$run_id-rest' -d '{\"customerId\":\"carol\",\"bookId\":\"atlas\",\"days\":1}'" >&2
  jq -c '{rentalId, status, fee, consistencyToken}' <<<"$rented"
  carol_rental=$(jq -r .rentalId <<<"$rented")
  carol_token=$(jq -r .consistencyToken <<<"$rented")
  rest "$DAVE" GET "/v1/rentals/$carol_rental"
  rest "$CAROL" GET "/v1/customers/carol/rentals?consistencyToken=$carol_token"
  rest "$CAROL" POST /v1/rentals '{"customerId":"carol","bookId":"atlas","days":-1}'
fi
echo

#!/usr/bin/env bash
# The NATS authorization of rentmesh: one NATS user per service with the least
# permissions it needs, and a credentials file per user.
#
#   tools/nats_auth.sh DIR [--client USER]
#       Makes what is missing under DIR (DIR 0700, files 0600):
#         DIR/<service>.creds  user=, password= (random) and inbox= lines, for
#                              --nats_credentials=DIR/<service>.creds
#         DIR/auth.conf        the nats-server `authorization { users = [...] }`
#                              block, rewritten from the .creds files on every
#                              run (nats-server -c DIR/auth.conf, or include it)
#       --client USER also makes an unrestricted user (the tests' own setup and
#       reads, an operator's nats CLI); no service uses it.
#   tools/nats_auth.sh DIR --rotate SERVICE
#       Rotation step 1: the service's current credentials become
#       DIR/<service>.old.creds (still accepted) and a new user with the same
#       permissions gets DIR/<service>.creds. Reload nats-server, restart the
#       service, then:
#   tools/nats_auth.sh DIR --retire SERVICE
#       Rotation step 2: removes the old user. Reload nats-server again.
#   tools/nats_auth.sh DIR --k8s NAMESPACE NATS_NAMESPACE
#       Prints the two Secrets the chart and the NATS values read (the same
#       credentials): <release>-nats-credentials in NAMESPACE and
#       rentmesh-nats-users in NATS_NAMESPACE. Pipe it to kubectl apply -f -.
#   tools/nats_auth.sh --permissions SERVICE
#       Prints that service's permissions as JSON (helm/nats-values.yaml has
#       the same; tests/helm checks they agree).
#
# What each service may do (docs/operations.md "NATS credentials"):
#   rental   publishes rental.>; owns and follows RENTAL; owns its state
#            snapshots (SNAPSHOT_RENTAL on snapshot.rental.>, purges old ones)
#   payment  publishes payment.>, deadletter.>; owns PAYMENT and DEADLETTER,
#            follows PAYMENT and RENTAL, durable consumers on RENTAL and
#            RETURNS, deletes replayed dead letters
#   returns  publishes returns.>; owns and follows RETURNS
#   view     publishes nothing; follows RENTAL, PAYMENT, RETURNS, DELIVERY
#   notification  publishes notification.> and its own dead letters; owns and
#            follows NOTIFICATION, follows RENTAL (due dates, titles) and
#            DELIVERY (whose delivery, couriers' names), durable consumers on
#            RENTAL, PAYMENT, DELIVERY and NOTIFICATION (reminders)
#   delivery publishes delivery.> and its own dead letters; owns and follows
#            DELIVERY, durable consumer delivery-rental on RENTAL
#   guard    the quorum guard next to each NATS server (tools/quorum_guard):
#            lists streams and consumers, reads their info, asks a leader
#            without quorum to step down; publishes no events
# Each subscribes only to its own inbox prefix _INBOX_<service>.> (replies and
# push deliveries; the client sets that prefix from the inbox= line).
set -euo pipefail

SERVICES=(rental payment returns view notification delivery guard)
# Users that run in the NATS pods, not in rentmesh's (their credentials go to
# rentmesh-nats-users only).
NATS_SIDE=(guard)
# Durable consumers (stream, name, owner): nobody but the owner may delete them.
DURABLES=("RENTAL payment-reactions payment" "RETURNS payment-returns payment"
  "RENTAL delivery-rental delivery")
# Notification's: one per channel and source (RENTAL, PAYMENT, DELIVERY, and
# the due reminders on its own NOTIFICATION stream), as "STREAM name".
NOTIFICATION_DURABLES=()
for channel in log webhook; do
  for source in RENTAL:rental PAYMENT:payment DELIVERY:delivery NOTIFICATION:due; do
    NOTIFICATION_DURABLES+=("${source%%:*} notification-$channel-${source#*:}")
    DURABLES+=("${source%%:*} notification-$channel-${source#*:} notification")
  done
done

subjects() {  # one JSON string a line
  local s
  for s in "$@"; do printf '"%s"\n' "$s"; done
}
# A stream the service owns: create, update, info, reads.
owns() {
  subjects "\$JS.API.STREAM.CREATE.$1" "\$JS.API.STREAM.UPDATE.$1" "\$JS.API.STREAM.INFO.$1" \
    "\$JS.API.STREAM.MSG.GET.$1" "\$JS.API.DIRECT.GET.$1" "\$JS.API.DIRECT.GET.$1.>"
}
# A stream another service owns and this one reads: it may create it when
# missing (same spec as the owner, so services start in any order) and read
# it, but never change its settings.
reads() {
  subjects "\$JS.API.STREAM.CREATE.$1" "\$JS.API.STREAM.INFO.$1" "\$JS.API.STREAM.MSG.GET.$1" \
    "\$JS.API.DIRECT.GET.$1" "\$JS.API.DIRECT.GET.$1.>"
}
# The subjects are the ones NATS.c 3.4.1 calls against nats-server 2.9.10 (seen
# in a traced run: nats-server -V); a newer client may use others (e.g. the
# named-consumer CONSUMER.CREATE.<stream>.<name>.<filter>): check the NATS log
# for "Violation" after upgrading it.
#
# An ordered (ephemeral push) consumer on the stream: create (also to recreate
# after a gap), info, delete on unsubscribe, flow-control replies.
follows() {
  subjects "\$JS.API.CONSUMER.CREATE.$1" "\$JS.API.CONSUMER.INFO.$1.*" \
    "\$JS.API.CONSUMER.DELETE.$1.*" "\$JS.FC.$1.>"
}
# The service $1's own state snapshots (libs/snapshot): publishes chunks and
# manifests on snapshot.$1.>, owns the stream SNAPSHOT_<$1> (reads by
# sequence and the last manifest) and purges the older snapshots from it.
snapshots() {
  local stream="SNAPSHOT_${1^^}"
  subjects "snapshot.$1.>"
  owns "$stream"
  subjects "\$JS.API.STREAM.PURGE.$stream"
}
# The durable pull consumer $2 on stream $1: create or join, info, fetch, acks.
durable() {
  subjects "\$JS.API.CONSUMER.DURABLE.CREATE.$1.$2" "\$JS.API.CONSUMER.INFO.$1.$2" \
    "\$JS.API.CONSUMER.MSG.NEXT.$1.$2" "\$JS.ACK.$1.$2.>"
}

publish_allow() {
  case $1 in
    rental) subjects 'rental.>'; owns RENTAL; follows RENTAL; snapshots rental ;;
    payment)
      subjects 'payment.>' 'deadletter.>'
      owns PAYMENT; owns DEADLETTER; follows PAYMENT; reads RENTAL; reads RETURNS
      # Its own fold of RENTAL (reactions act only on effective events).
      follows RENTAL
      durable RENTAL payment-reactions; durable RETURNS payment-returns
      # A replayed dead letter is removed; the retired payment-returns
      # durable (late fees now follow BookReturned) is deleted at start.
      subjects "\$JS.API.STREAM.MSG.DELETE.DEADLETTER" \
        "\$JS.API.CONSUMER.DELETE.RETURNS.payment-returns" ;;
    returns) subjects 'returns.>'; owns RETURNS; follows RETURNS ;;
    view)
      reads RENTAL; reads PAYMENT; reads RETURNS; reads DELIVERY
      follows RENTAL; follows PAYMENT; follows RETURNS; follows DELIVERY ;;
    notification)
      subjects 'notification.>'
      local entry s d
      for entry in "${NOTIFICATION_DURABLES[@]}"; do subjects "deadletter.${entry#* }"; done
      owns NOTIFICATION; follows NOTIFICATION; reads RENTAL; reads PAYMENT; reads DELIVERY
      reads DEADLETTER
      # Its own folds of RENTAL (due dates, book titles) and DELIVERY (who a
      # delivery is for, couriers' names).
      follows RENTAL; follows DELIVERY
      for entry in "${NOTIFICATION_DURABLES[@]}"; do
        read -r s d <<<"$entry"
        durable "$s" "$d"
      done ;;
    delivery)
      subjects 'delivery.>' 'deadletter.delivery-rental'
      owns DELIVERY; follows DELIVERY; reads RENTAL; reads DEADLETTER
      durable RENTAL delivery-rental ;;
    guard)
      subjects "\$JS.API.STREAM.NAMES" "\$JS.API.STREAM.INFO.*" "\$JS.API.CONSUMER.NAMES.*" \
        "\$JS.API.CONSUMER.INFO.*.*" "\$JS.API.STREAM.LEADER.STEPDOWN.*" \
        "\$JS.API.CONSUMER.LEADER.STEPDOWN.*.*" ;;
    *) echo "nats_auth: unknown service $1 (one of: ${SERVICES[*]})" >&2; return 2 ;;
  esac
}
publish_deny() {
  local entry s d owner
  for entry in "${DURABLES[@]}"; do
    read -r s d owner <<<"$entry"
    [[ $1 == "$owner" ]] || subjects "\$JS.API.CONSUMER.DELETE.$s.$d"
  done
}

list() { paste -sd, -; }

permissions() {  # permissions <service>: JSON on one line
  local allow deny
  allow=$(publish_allow "$1" | list)
  deny=$(publish_deny "$1" | list)
  if [[ -z $allow ]]; then
    printf '{"publish": {"deny": [">"]}'
  elif [[ -z $deny ]]; then
    printf '{"publish": {"allow": [%s]}' "$allow"
  else
    printf '{"publish": {"allow": [%s], "deny": [%s]}' "$allow" "$deny"
  fi
  printf ', "subscribe": {"allow": ["_INBOX_%s.>"]}}\n' "$1"
}

usage() {
  sed -n '4,27p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

if [[ ${1:-} == --permissions ]]; then
  permissions "${2:?usage: tools/nats_auth.sh --permissions SERVICE}"
  exit 0
fi

dir=${1:-}
[[ -n $dir && $dir != -* ]] || usage
shift
client="" rotate="" retire="" k8s_ns="" k8s_nats_ns=""
while (($#)); do
  case $1 in
    --client) client=${2:?--client needs a user name}; shift 2 ;;
    --rotate) rotate=${2:?--rotate needs a service}; shift 2 ;;
    --retire) retire=${2:?--retire needs a service}; shift 2 ;;
    --k8s) k8s_ns=${2:?}; k8s_nats_ns=${3:?--k8s NAMESPACE NATS_NAMESPACE}; shift 3 ;;
    *) usage ;;
  esac
done
[[ -z $client || $client =~ ^[A-Za-z0-9_-]+$ ]] || { echo "nats_auth: bad user $client" >&2; exit 2; }
for svc in $rotate $retire; do publish_allow "$svc" >/dev/null; done

umask 077
mkdir -p "$dir"
chmod 700 "$dir"

field() { sed -n "s/^$1=//p" "$2" | head -1; }

random_password() {
  local p=""
  while ((${#p} < 32)); do p+=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'); done
  # A letter first: nats-server parses a variable's value ($PASSWORD in the
  # NATS values) as a config token, and one starting with a digit fails to parse.
  printf 'p%s' "${p:0:31}"
}

write_creds() {  # write_creds <file> <user> <inbox>
  local file=$1
  printf '# NATS credentials of rentmesh user %s (made by tools/nats_auth.sh)\nuser=%s\npassword=%s\ninbox=%s\n' \
    "$2" "$2" "$(random_password)" "$3" >"$file.tmp"
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

if [[ -n $rotate ]]; then
  cur="$dir/$rotate.creds" old="$dir/$rotate.old.creds"
  [[ -s $cur ]] || { echo "nats_auth: no $cur to rotate" >&2; exit 1; }
  if [[ -e $old ]]; then
    echo "nats_auth: $old exists: finish the last rotation first (--retire $rotate)" >&2
    exit 1
  fi
  user=$(field user "$cur")
  # rental -> rental-2 -> rental-3 ...
  if [[ $user =~ ^(.*)-([0-9]+)$ ]]; then
    next="${BASH_REMATCH[1]}-$((BASH_REMATCH[2] + 1))"
  else
    next="$user-2"
  fi
  mv "$cur" "$old"
  write_creds "$cur" "$next" "_INBOX_$rotate"
  echo "nats_auth: $rotate is now user $next; $user stays valid until --retire $rotate" >&2
fi
if [[ -n $retire ]]; then
  rm -f "$dir/$retire.old.creds"
fi

for svc in "${SERVICES[@]}"; do
  [[ -s $dir/$svc.creds ]] || write_creds "$dir/$svc.creds" "$svc" "_INBOX_$svc"
done
# Unrestricted clients are remembered in DIR/clients (a later --rotate keeps them).
if [[ -n $client ]] && ! grep -qx "$client" "$dir/clients" 2>/dev/null; then
  echo "$client" >>"$dir/clients"
fi
clients=()
if [[ -s $dir/clients ]]; then mapfile -t clients <"$dir/clients"; fi
for c in "${clients[@]}"; do
  [[ -s $dir/$c.creds ]] || write_creds "$dir/$c.creds" "$c" "_INBOX_$c"
done

{
  echo "# NATS users of rentmesh (made by tools/nats_auth.sh from the .creds files)."
  echo "# Anonymous connections are refused: every client must be one of these."
  echo "authorization {"
  echo "  users = ["
  for svc in "${SERVICES[@]}"; do
    perms=$(permissions "$svc")
    for f in "$dir/$svc.creds" "$dir/$svc.old.creds"; do
      [[ -s $f ]] || continue
      printf '    {user: "%s", password: "%s",\n     permissions: %s}\n' \
        "$(field user "$f")" "$(field password "$f")" "$perms"
    done
  done
  for c in "${clients[@]}"; do
    printf '    {user: "%s", password: "%s"}\n' "$c" "$(field password "$dir/$c.creds")"
  done
  echo "  ]"
  echo "}"
} >"$dir/auth.conf.tmp"
chmod 600 "$dir/auth.conf.tmp"
mv "$dir/auth.conf.tmp" "$dir/auth.conf"

if [[ -n $k8s_ns ]]; then
  b64() { base64 -w0 <"$1"; }
  cat <<YAML
# The services' NATS credentials (the chart's nats.auth.existingSecret).
apiVersion: v1
kind: Secret
metadata:
  name: rentmesh-nats-credentials
  namespace: $k8s_ns
type: Opaque
data:
YAML
  for svc in "${SERVICES[@]}"; do
    [[ " ${NATS_SIDE[*]} " == *" $svc "* ]] || echo "  $svc.creds: $(b64 "$dir/$svc.creds")"
  done
  cat <<YAML
---
# The same users' passwords for the NATS servers (helm/nats-values.yaml).
apiVersion: v1
kind: Secret
metadata:
  name: rentmesh-nats-users
  namespace: $k8s_nats_ns
type: Opaque
data:
YAML
  enc() { printf '%s' "$1" | base64 -w0; }
  # The NATS-side users' credentials files, mounted into their containers.
  for svc in "${NATS_SIDE[@]}"; do echo "  $svc.creds: $(b64 "$dir/$svc.creds")"; done
  for svc in "${SERVICES[@]}"; do
    echo "  $svc-user: $(enc "$(field user "$dir/$svc.creds")")"
    echo "  $svc-password: $(enc "$(field password "$dir/$svc.creds")")"
    # The second slot: the previous credentials during a rotation, otherwise
    # a user nobody has the password of.
    if [[ -s $dir/$svc.old.creds ]]; then
      echo "  $svc-old-user: $(enc "$(field user "$dir/$svc.old.creds")")"
      echo "  $svc-old-password: $(enc "$(field password "$dir/$svc.old.creds")")"
    else
      echo "  $svc-old-user: $(enc "$svc-unused")"
      echo "  $svc-old-password: $(enc "$(random_password)")"
    fi
  done
fi

#!/usr/bin/env bash
# Starts tools/run.sh (with its demo) in a scratch copy of var/, waits until it
# says it is up, checks the demo ran without error, then stops it with SIGINT
# as a user's Ctrl-C would. Bounded: 120 s.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
mv var var.before-smoke 2>/dev/null || true
setsid bash tools/run.sh --no-build >"$log" 2>&1 &
pid=$!
ok=1
for _ in $(seq 240); do
  grep -q "rentmesh is up" "$log" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
if ! grep -q "rentmesh is up" "$log"; then ok=0; fi
if grep "^ERROR" "$log" | grep -vq "INVALID_ARGUMENT"; then echo "smoke: the demo hit an error"; ok=0; fi
# NATS refuses anonymous clients, and the credentials are private files.
if grep -q "rentmesh is up" "$log"; then
  anon=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"${NATS_PORT:-4222}"'
    read -r -t 2 _ <&3; printf "CONNECT {\"verbose\":false}\r\nPING\r\n" >&3
    read -r -t 2 reply <&3; printf "%s" "$reply"' 2>/dev/null || true)
  if [[ $anon != *"Authorization Violation"* ]]; then
    echo "smoke: an anonymous NATS client was not refused (got: ${anon:-nothing})"; ok=0
  fi
  for f in var/nats-auth/*.creds; do
    [[ $(stat -c %a "$f") == 600 ]] || { echo "smoke: $f is not mode 0600"; ok=0; }
  done
fi
for expected in RENTAL_STATUS_RENTED PAYMENT_STATUS_REFUNDED RENTAL_STATUS_RETURNED PAYMENT_KIND_LATE_FEE; do
  grep -q "$expected" "$log" || { echo "smoke: demo output lacks $expected"; ok=0; }
done
kill -INT -- -"$pid" 2>/dev/null
for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
kill -KILL -- -"$pid" 2>/dev/null || true
cat "$log"
rm -rf var
mv var.before-smoke var 2>/dev/null || true
((ok == 1))

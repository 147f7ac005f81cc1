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

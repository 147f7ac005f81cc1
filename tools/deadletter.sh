#!/usr/bin/env bash
# Lists and re-drives dead letters through the consumer they came from, over
# a payment instance's admin port (the consumer loads the original event from
# its stream by sequence and handles it again; on success the dead letter is
# removed; nothing is appended to the original stream).
#
# Usage: tools/deadletter.sh [--admin HOST:PORT] list
#        tools/deadletter.sh [--admin HOST:PORT] replay SEQ [SEQ...]
# --admin defaults to $RENTMESH_PAYMENT_ADMIN or 127.0.0.1:9452. In a cluster:
#   kubectl -n rentmesh port-forward deploy/<release>-payment 9452 &
#   tools/deadletter.sh list
# Exit status: 0 when every request succeeded; 1 otherwise (the answer is
# printed: 404 no such dead letter, 400 bad request or still a permanent
# error, 409/503/500 the handler failed again and the dead letter stays).
set -euo pipefail

admin="${RENTMESH_PAYMENT_ADMIN:-127.0.0.1:9452}"
if [ "${1:-}" = "--admin" ]; then
  admin="${2:?--admin needs HOST:PORT}"
  shift 2
fi

usage() {
  sed -n '7,8p' "$0" | sed 's/^# //' >&2
  exit 2
}

call() {
  local method="$1" path="$2" out code
  out="$(mktemp)"
  code="$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "http://${admin}${path}")" || {
    rm -f "$out"
    echo "cannot reach the admin port at ${admin}" >&2
    return 1
  }
  cat "$out"
  rm -f "$out"
  [ "$code" = "200" ] || { echo "HTTP ${code}" >&2; return 1; }
}

case "${1:-}" in
  list)
    [ $# -eq 1 ] || usage
    call GET /admin/deadletters
    ;;
  replay)
    shift
    [ $# -ge 1 ] || usage
    status=0
    for seq in "$@"; do
      case "$seq" in
        '' | *[!0-9]*) echo "not a sequence: $seq" >&2; status=1; continue ;;
      esac
      call POST "/admin/deadletters/replay?seq=${seq}" || status=1
    done
    exit "$status"
    ;;
  *)
    usage
    ;;
esac

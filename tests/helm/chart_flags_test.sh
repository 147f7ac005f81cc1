#!/usr/bin/env bash
# Every flag the chart writes into a service's flag file must be one that
# service's binary knows: an unknown flag stops the binary at start, which no
# rendering or schema check would notice. Renders every profile (the defaults
# and helm/rentmesh/ci/*.yaml) with the Helm that tests/helm/run.sh fetched,
# then checks each <svc>.flags entry against `<svc>_server --helpfull`.
# Needs the binaries built (build/services/<svc>/<svc>_server).
set -uo pipefail
cd "$(dirname "$0")/../.."
HELM=${HELM:-.cache/helm-tests/bin/helm}
if [[ ! -x "$HELM" ]]; then
  echo "chart_flags_test: no helm at $HELM (tests/helm/run.sh fetches it)" >&2
  exit 1
fi
passed=0
failed=0
declare -A known
for svc in rental payment returns view notification delivery gateway; do
  bin=build/services/$svc/${svc}_server
  if [[ ! -x "$bin" ]]; then
    echo "chart_flags_test: $bin is not built" >&2
    exit 1
  fi
  known[$svc]=$("$bin" --helpfull 2>&1 | sed -n 's/^ *--\([a-z_0-9]*\) (.*/\1/p' | sort -u | tr '\n' ' ')
done
profiles=("" helm/rentmesh/ci/*.yaml)
for profile in "${profiles[@]}"; do
  rendered=$("$HELM" template rm helm/rentmesh ${profile:+-f "$profile"} 2>&1) || {
    echo "FAIL render ${profile:-defaults}: $rendered"; failed=$((failed + 1)); continue; }
  for svc in rental payment returns view notification delivery gateway; do
    flags=$(awk -v key="  $svc.flags: |" '
      $0 == key {on = 1; next}
      on && /^    --/ {sub(/^    --/, ""); sub(/=.*/, ""); print; next}
      on {on = 0}' <<<"$rendered")
    [[ -z "$flags" ]] && continue
    for f in $flags; do
      if [[ " ${known[$svc]} " == *" $f "* ]]; then
        passed=$((passed + 1))
      else
        echo "FAIL ${profile:-defaults}: $svc.flags sets --$f, which ${svc}_server does not know"
        failed=$((failed + 1))
      fi
    done
  done
done
# Self-test: a made-up flag must be caught.
if [[ " ${known[rental]} " == *" no_such_flag "* ]]; then
  echo "FAIL self-test: the known-flag list accepts anything"; failed=$((failed + 1))
else
  passed=$((passed + 1))
fi
echo "chart flags: $passed passed, $failed failed"
((failed == 0))

#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs what is
# missing, builds, then runs
#   1. every CTest test (unit, integration with a real nats-server -js and
#      RocksDB, end-to-end on the real binaries),
#   2. the Helm chart checks (lint, template, schema validation, policies, and
#      the chart's flag files against the binaries' flags), every Grafana
#      dashboard query against a real Prometheus scraping the services, and the
#      alert rules (promtool check and unit tests; each alert made to fire by
#      faults injected into the real services, seen by a real Prometheus),
#   3. the gateway's OpenAPI validation and bounded fuzzing runs of the
#      gateway and of the event folds (rental's RENTAL projection, the view),
#   4. a smoke run of tools/run.sh (the README's first command),
#   5. where podman is installed: the image built and the rendered chart run in
#      containers with a 3-node NATS cluster (tests/containers/run.sh).
# Ends with "N passed, M failed" (suites) and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh --test || exit 1
bash tools/build.sh || exit 1

passed=0
failed=0
suite() {  # suite <name> <command...>
  local name=$1; shift
  echo
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: passed"
  else
    failed=$((failed + 1)); echo "=== $name: FAILED"
  fi
}

suite "ctest (unit, integration, e2e)" ctest --preset default
suite "helm chart and mesh" bash tests/helm/run.sh
suite "chart flag files match the binaries' flags" bash tests/helm/chart_flags_test.sh
suite "dashboards against a real Prometheus scraping the services" bash tests/observability/prometheus_test.sh
suite "alert rules: promtool check (plain file, chart's PrometheusRule), runbook, promtool unit tests" bash tests/observability/alerts_rules_test.sh
suite "alert rules against a real Prometheus, faults injected into the real services" bash tests/observability/alerts_live_test.sh
if [[ -f tests/gateway/validate_openapi.sh ]]; then
  suite "gateway OpenAPI document" bash tests/gateway/validate_openapi.sh
fi
if [[ -f tools/fuzz/gateway_fuzz.sh ]]; then
  suite "gateway fuzzing (bounded)" bash tools/fuzz/gateway_fuzz.sh
fi
suite "event-fold fuzzing: any bytes on any subject (bounded)" bash tools/fuzz/event_fuzz.sh 60
suite "run.sh smoke (start the system, run the demo, stop)" bash tools/smoke_run.sh
# The image and the chart's workloads in containers; only where podman is installed.
if command -v podman >/dev/null; then suite "containers: image built, rendered chart run under podman" bash tests/containers/run.sh; else echo "=== containers: SKIPPED (podman not installed; apt-get install podman runc catatonit iptables debootstrap, then bash tests/containers/run.sh)"; fi

echo
echo "test suites: $passed passed, $failed failed"
((failed == 0))

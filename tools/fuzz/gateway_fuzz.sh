#!/usr/bin/env bash
# The gateway's libFuzzer target (clang, ASan+UBSan), run for a bounded time.
# CI: tools/fuzz/gateway_fuzz.sh [seconds]   (default 60)
# Leaks from one-time fixtures are not findings; real leaks per input still are.
set -euo pipefail
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
exec bash "$(dirname "$0")/libfuzzer.sh" RENTMESH_GATEWAY_FUZZ gateway_fuzz \
  tests/gateway/gateway_fuzz tests/gateway/fuzz/corpus 8192 "${1:-60}"

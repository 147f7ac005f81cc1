#!/usr/bin/env bash
# Builds the gateway's libFuzzer target (clang, ASan+UBSan) and runs it for a
# bounded time. CI: tools/fuzz/gateway_fuzz.sh [seconds]   (default 60)
# Exits non-zero when the fuzzer finds a crash, leak, timeout or sanitizer report;
# reproducers land in $BUILD_DIR/fuzz-artifacts/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-fuzz}
SECONDS_TO_RUN=${1:-60}
JOBS=${JOBS:-2}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer"

cmake -S "$ROOT" -B "$BUILD_DIR" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
  -DRENTMESH_GATEWAY_FUZZ=ON >/dev/null
make -C "$BUILD_DIR" -j"$JOBS" gateway_fuzz

CORPUS="$BUILD_DIR/fuzz-corpus"
ARTIFACTS="$BUILD_DIR/fuzz-artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
# Leaks from one-time fixtures are not findings; real leaks per input still are.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
"$BUILD_DIR/tests/gateway/gateway_fuzz" \
  -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 \
  "$CORPUS" "$ROOT/tests/gateway/fuzz/corpus"

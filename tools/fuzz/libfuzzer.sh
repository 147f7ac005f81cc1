#!/usr/bin/env bash
# Builds one libFuzzer target of the project (clang, ASan+UBSan, in
# $BUILD_DIR, default build-fuzz/) and runs it for a bounded time over its
# seed corpus. Exits non-zero on a crash, timeout or sanitizer report;
# reproducers land in $BUILD_DIR/<name>-artifacts/.
#   libfuzzer.sh CMAKE_OPTION TARGET BINARY SEED_CORPUS MAX_LEN SECONDS
# (BINARY relative to $BUILD_DIR, SEED_CORPUS to the repo). The wrappers
# gateway_fuzz.sh and event_fuzz.sh name what they fuzz.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-fuzz}
JOBS=${JOBS:-2}
option=$1 target=$2 binary=$3 seeds=$4 max_len=$5 seconds=$6
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer"

cmake -S "$ROOT" -B "$BUILD_DIR" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
  "-D$option=ON" >/dev/null
make -C "$BUILD_DIR" -j"$JOBS" "$target"

CORPUS="$BUILD_DIR/$target-corpus"
ARTIFACTS="$BUILD_DIR/$target-artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
"$BUILD_DIR/$binary" \
  -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 \
  "$CORPUS" "$ROOT/$seeds"

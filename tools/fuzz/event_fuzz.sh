#!/usr/bin/env bash
# Builds the event-fold libFuzzer target (clang, ASan+UBSan): any bytes on any
# subject folded by rental's RENTAL projection (real RocksDB) and by the view;
# it aborts on a crash or when a book ends with more active rentals than
# copies. Runs for a bounded time. CI: tools/fuzz/event_fuzz.sh [seconds]
# (default 60). Reproducers land in $BUILD_DIR/event-fuzz-artifacts/.
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
  -DRENTMESH_EVENT_FUZZ=ON >/dev/null
make -C "$BUILD_DIR" -j"$JOBS" event_fold_fuzz

CORPUS="$BUILD_DIR/event-fuzz-corpus"
ARTIFACTS="$BUILD_DIR/event-fuzz-artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
"$BUILD_DIR/tests/fuzz/event_fold_fuzz" \
  -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 \
  "$CORPUS" "$ROOT/tests/fuzz/corpus_events"

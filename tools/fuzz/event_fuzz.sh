#!/usr/bin/env bash
# The event-fold libFuzzer target (clang, ASan+UBSan): any bytes on any
# subject folded by rental's RENTAL projection (real RocksDB) and by the view;
# it aborts on a crash or when a book ends with more active rentals than
# copies. CI: tools/fuzz/event_fuzz.sh [seconds]   (default 60)
set -euo pipefail
# The harness keeps its RocksDB for the whole run: not a per-input leak.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
exec bash "$(dirname "$0")/libfuzzer.sh" RENTMESH_EVENT_FUZZ event_fold_fuzz \
  tests/fuzz/event_fold_fuzz tests/fuzz/corpus_events 4096 "${1:-60}"

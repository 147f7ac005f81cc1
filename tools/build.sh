#!/usr/bin/env bash
# Configures and builds everything into build/ (warnings on: -Wall -Wextra).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset default >/dev/null
cmake --build --preset default -j"$(nproc)"

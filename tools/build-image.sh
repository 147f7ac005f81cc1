#!/usr/bin/env bash
# Builds the rentmesh image from the Dockerfile with podman, on a local
# debian:12 base made by debootstrap (no registry needed). Engine config and
# image storage stay under build/containers/; compiles go through a ccache
# directory mounted into the build, so a rebuild after one service changed
# recompiles only that service.
#
#   tools/build-image.sh [--tag TAG] [--testtools]
#     TAG defaults to localhost/rentmesh:local; --testtools also builds
#     localhost/rentmesh-testtools:local (curl + grpcurl wrapper for helm test).
#   tools/build-image.sh --prune
#     removes every image but the base and the dependency stages' cache.
# Environment: RENTMESH_IMAGE_CCACHE (default build/containers/ccache),
#   JOBS (default 2).
# Prints the image size and the build time.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
. tools/containers/env.sh

tag=localhost/rentmesh:local
testtools=0
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --testtools) testtools=1; shift ;;
    --prune)
      for i in $(pm images --format '{{.Repository}}:{{.Tag}}' | grep -vE '^(localhost/debian:12|localhost/debian:12-slim|localhost/rentmesh-cache:.*|<none>:<none>)$'); do
        pm rmi -f "$i" >/dev/null
      done
      pm image prune -f >/dev/null
      exit 0 ;;
    *) echo "usage: $0 [--tag TAG] [--testtools] | --prune" >&2; exit 2 ;;
  esac
done

if ! ensure_podman; then
  echo "build-image: podman is not available; nothing built" >&2
  exit 3
fi
ensure_base_image

ccache_dir=${RENTMESH_IMAGE_CCACHE:-$CTR_DIR/ccache}
mkdir -p "$ccache_dir"
start=$(date +%s)
ctr_log "building $tag (ccache: $ccache_dir)"
# --layers keeps the apt layers cached between runs; the compile layer reruns
# when sources change, with ccache hits for everything unchanged.
buildlog="$CTR_DIR/image-build.log"
# The two dependency stages are tagged (localhost/rentmesh-cache:*) so that
# their layers outlive the removal of the image and a prune of old layers.
for stage in build-deps runtime-base; do
  pm build --layers --pull=never --target "$stage" -t "localhost/rentmesh-cache:$stage" -f Dockerfile . \
    >"$CTR_DIR/image-build-$stage.log" 2>&1 ||
    { tail -n 30 "$CTR_DIR/image-build-$stage.log" >&2; ctr_log "stage $stage failed"; exit 1; }
done
pm build --layers --pull=never -v "$ccache_dir:/ccache:z" \
  --build-arg JOBS="${JOBS:-2}" -t "$tag" -f Dockerfile . >"$buildlog" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
  tail -n 40 "$buildlog" >&2
  ctr_log "image build failed (rc $rc); full log: $buildlog"
  exit "$rc"
fi
# The compile step's ccache figures (absent when that layer came from cache).
grep -E '^ccache: ' "$buildlog" | sed 's/^/[containers] /' >&2 ||
  ctr_log "compile layer unchanged (cached)"
if [ "$testtools" -eq 1 ]; then
  pm build --layers --pull=never -v "$ccache_dir:/ccache:z" --build-arg JOBS="${JOBS:-2}" \
    --target testtools -t localhost/rentmesh-testtools:local -f Dockerfile . >/dev/null
fi
end=$(date +%s)
size=$(pm image inspect --format '{{.Size}}' "$tag")
ctr_log "image $tag: $((size / 1000000)) MB ($size bytes), built in $((end - start)) s"

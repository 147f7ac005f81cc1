# Sourced by tools/build-image.sh and tests/containers/run.sh: podman with the
# project's own engine config and image storage under build/containers/, so a
# run changes nothing else on the machine. Defines `pm` (podman with those
# settings) and `ensure_podman` / `ensure_base_image`.
REPO="${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CTR_DIR="${RENTMESH_CONTAINERS_DIR:-$REPO/build/containers}"
mkdir -p "$CTR_DIR/networks"
# The project's settings, plus where network definitions go (not /etc/containers).
{ cat "$REPO/tools/containers/containers.conf"
  echo "network_config_dir = \"$CTR_DIR/networks\""; } >"$CTR_DIR/containers.conf"
export CONTAINERS_CONF="$CTR_DIR/containers.conf"
# A storage.conf of our own so that no system storage.conf applies.
cat >"$CTR_DIR/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$CTR_DIR/storage"
runroot = "$CTR_DIR/run"
CONF
export CONTAINERS_STORAGE_CONF="$CTR_DIR/storage.conf"
# Short names (debian:12) resolve only to local images: no registry is asked.
cat >"$CTR_DIR/registries.conf" <<CONF
unqualified-search-registries = []
short-name-mode = "permissive"
CONF
export CONTAINERS_REGISTRIES_CONF="$CTR_DIR/registries.conf"

pm() { podman --root "$CTR_DIR/storage" --runroot "$CTR_DIR/run" "$@"; }

ctr_log() { printf '[containers] %s\n' "$*" >&2; }

# ensure_podman: installs the engine with apt-get when it can; otherwise says
# exactly what is missing and returns 1.
ensure_podman() {
  local missing=() t
  for t in podman runc catatonit iptables debootstrap; do
    case $t in
      catatonit) [ -x /usr/bin/catatonit ] || [ -x /usr/libexec/podman/catatonit ] || missing+=("$t") ;;
      iptables) command -v iptables >/dev/null || [ -x /usr/sbin/iptables ] || missing+=("$t") ;;
      debootstrap) command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=("$t") ;;
      *) command -v "$t" >/dev/null || missing+=("$t") ;;
    esac
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    ctr_log "installing with apt-get: ${missing[*]}"
    apt-get update -qq >/dev/null 2>&1 || true
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
      return 0
    fi
  fi
  ctr_log "missing: ${missing[*]} (install: apt-get install podman runc catatonit iptables debootstrap)"
  return 1
}

# slim_rootfs DIR: what Debian's -slim images leave out (downloaded packages,
# package lists, docs, man pages, locales), also for packages installed later.
slim_rootfs() {
  local r=$1
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin "$r"/var/lib/apt/lists/* \
    "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* \
    "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/var/cache/debconf/*-old
  mkdir -p "$r/etc/dpkg/dpkg.cfg.d"
  cat >"$r/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$r/etc/apt/apt.conf.d/90slim"
}

# ensure_base_image: localhost/debian:12 (and :12-slim) made by debootstrap
# from the machine's Debian mirror; the rootfs tarball is cached and reused.
ensure_base_image() {
  local want=minbase-slim-1
  if pm image exists localhost/debian:12-slim &&
     [ "$(pm image inspect --format '{{index .Labels "rentmesh.base"}}' localhost/debian:12 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  local tarball="$CTR_DIR/debian-12-minbase-slim.tar"
  if [ ! -s "$tarball" ]; then
    local mirror rootfs="$CTR_DIR/rootfs"
    mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
      | grep -oE 'https?://[^ ]+' | head -n1)
    mirror=${mirror:-http://deb.debian.org/debian}
    ctr_log "debootstrap bookworm from $mirror (once; cached in $tarball)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CTR_DIR/debootstrap.log" 2>&1 ||
      { ctr_log "debootstrap failed, see $CTR_DIR/debootstrap.log"; return 1; }
    slim_rootfs "$rootfs"
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  pm import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL rentmesh.base=$want" \
    "$tarball" localhost/debian:12 >/dev/null
  pm tag localhost/debian:12 localhost/debian:12-slim
}

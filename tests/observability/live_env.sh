# Shared set-up of the observability tests that run the real services and a
# real Prometheus (prometheus_test.sh, alerts_live_test.sh). Sourced after
# `set -uo pipefail` with TEST_NAME set. It defines log, die, as_root,
# apt_install and free_ports; installs what is missing (prometheus, python3
# with yaml, jq, nats-server) and checks the built binaries; makes $tmp (with
# log/, data/, nats/, prometheus/) and stops every pid in $pids on exit,
# calling `before_cleanup` first when the test defines it. On failure the last
# lines of each $tmp/log/*.log are shown; KEEP_TMP=1 keeps $tmp.
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/build/services"
rentctl="$root/build/tools/rentctl/rentctl"
started=$(date +%s)

log() { echo "$TEST_NAME: $*"; }
die() { echo "$TEST_NAME: $*" >&2; exit 1; }

# --- prerequisites -----------------------------------------------------------
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null ||
    { as_root apt-get update >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || true)}
if [[ -z "$PROMETHEUS" ]]; then
  log "installing prometheus (Debian package)"
  apt_install prometheus || die "cannot install prometheus"
  PROMETHEUS=$(command -v prometheus) || die "prometheus not found after install"
fi
command -v python3 >/dev/null || apt_install python3 || die "cannot install python3"
python3 -c 'import yaml' 2>/dev/null || apt_install python3-yaml || die "cannot install python3-yaml"
command -v jq >/dev/null || apt_install jq || die "cannot install jq"
nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
[[ -x "$nats_bin" ]] || apt_install nats-server || die "cannot install nats-server"
for svc in payment returns rental; do
  [[ -x "$bin/$svc/${svc}_server" ]] || die "$bin/$svc/${svc}_server missing: build first (tools/build.sh)"
done
[[ -x "$rentctl" ]] || die "$rentctl missing: build first (tools/build.sh)"

# --- temp dir, processes, cleanup --------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rentmesh-$TEST_NAME.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if declare -F before_cleanup >/dev/null; then before_cleanup; fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if ((rc != 0)); then
    for f in "$tmp"/log/*.log; do
      [[ -f "$f" ]] || continue
      echo "--- last lines of $f" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  log "took $(($(date +%s) - started)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/log" "$tmp/data" "$tmp/nats" "$tmp/prometheus"

# free_ports N: N distinct free loopback ports, one line, from below the
# kernel's ephemeral range (a port picked inside it could be taken by an
# outgoing connection before the server meant for it binds it).
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
ports = set()
while len(ports) < n:
    p = random.randrange(min(10000, low // 2), low)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); ports.add(p)
    except OSError:
        pass
    finally:
        s.close()
print(" ".join(map(str, sorted(ports))))
PY
}

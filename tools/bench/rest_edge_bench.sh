#!/usr/bin/env bash
# The REST edge side by side: GET /v1/books/{book_id} through rentmesh's
# gateway_server and through grpc-gateway v1 (Debian's Go packages; the peer is
# tools/bench/grpc_gateway_peer/main.go), both in front of the SAME
# rental_server, loaded with wrk at each connection count in turn, the runs
# alternating between the two edges (A B A B ...). Prints one table: req/s,
# p50/p99, wrk's errors and non-2xx answers, CPU per request of each edge and of
# rental_server (utime+stime from /proc/<pid>/stat over the run, divided by the
# answers), and per connection count the ratio rentmesh/grpc-gateway.
#
#   bash tools/bench/rest_edge_bench.sh
#
# It starts its own nats-server -js (temp store), rental_server (--trust_mesh;
# payment and returns point to a port nothing listens on: reads need neither),
# adds one book with rentctl, then gateway_server (--auth_disabled=true,
# --rate_limit_per_second=0: every wrk connection comes from 127.0.0.1, and the
# default 50/s per client would answer 429) and the peer, each on free loopback
# ports picked at run time. Installs what is missing with apt-get (wrk, curl, jq,
# nats-server; golang-go and the grpc-gateway v1.6.4 packages for the peer). The
# peer is built in GOPATH mode (GO111MODULE=off, /usr/share/gocode) with no
# network, from RentalService stubs that protoc + protoc-gen-go (1.3) +
# protoc-gen-grpc-gateway generate into a temp dir; when that is impossible it
# says why and measures rentmesh alone. Before measuring, both edges' answers
# are compared field by field (a line says how they differ, if they do).
# Assumes the project is built (tools/build.sh). Loopback only; bounded in time
# (BENCH_TIMEOUT); stops what it started and removes its temp dir on any exit.
# On a shared machine wrap it whole: flock <lockfile> bash tools/bench/rest_edge_bench.sh
#
# Env:
#   GATEWAY_BIN    gateway_server to measure (build/services/gateway/gateway_server)
#   GATEWAY_FLAGS  extra gateway_server flags, e.g. "--http_threads=1100"
#   RENTAL_BIN, RENTCTL  rental_server and rentctl (from build/)
#   DURATION       seconds of each wrk run (10)
#   CONNS          connection counts, in order ("32 256 1024")
#   ROUNDS         runs per edge at each count, alternating (2: A B A B)
#   WARMUP         seconds of wrk per edge before measuring (3, at the first count)
#   WRK_THREADS    wrk -t (2); WRK_TIMEOUT: wrk --timeout in seconds (2)
#   GETBOOK_TOKEN=1  the URL carries ?consistency_token=<the book's token>
#                  (rental answers from its own state, no round trip to NATS)
#   PEER=0         measure rentmesh alone
#   BENCH_PORTS    LO-HI: pick the ports in this range (default: random, below
#                  the kernel's ephemeral range)
#   BENCH_TIMEOUT  whole-run bound in seconds (default: setup + 2x the runs)
#   KEEP_TMP=1     keep the temp dir (logs, generated Go code)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
GATEWAY_BIN=${GATEWAY_BIN:-$root/build/services/gateway/gateway_server}
GATEWAY_FLAGS=${GATEWAY_FLAGS:-}
RENTAL_BIN=${RENTAL_BIN:-$root/build/services/rental/rental_server}
RENTCTL=${RENTCTL:-$root/build/tools/rentctl/rentctl}
DURATION=${DURATION:-10}
CONNS=${CONNS:-"32 256 1024"}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-3}
WRK_THREADS=${WRK_THREADS:-2}
WRK_TIMEOUT=${WRK_TIMEOUT:-2}
GETBOOK_TOKEN=${GETBOOK_TOKEN:-0}
PEER=${PEER:-1}
BENCH_PORTS=${BENCH_PORTS:-}
read -r -a conns <<<"$CONNS"
run_seconds=$(((WARMUP + 2) * 2 + ${#conns[@]} * ROUNDS * 2 * (DURATION + 3)))
BENCH_TIMEOUT=${BENCH_TIMEOUT:-$((900 + 2 * run_seconds))}
NAME=rest_edge_bench
started=$(date +%s)

log() { echo "$NAME: $*"; }
die() { echo "$NAME: $*" >&2; exit 1; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y --no-install-recommends \
    "$@" >/dev/null 2>&1 ||
    { as_root timeout 300 apt-get update >/dev/null 2>&1 && as_root env DEBIAN_FRONTEND=noninteractive \
        timeout 600 apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; }
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# --- temp dir, processes, cleanup ----------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rentmesh-$NAME.XXXXXX")
pids=()
watchdog=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$watchdog" ]] && kill "$watchdog" 2>/dev/null
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
mkdir -p "$tmp/log" "$tmp/data" "$tmp/nats"
# The watchdog closes every inherited descriptor above stderr (a caller's
# flock among them) and is one process, so that cleanup's kill ends it: a
# sleeping child left behind would hold the caller's lock for the whole bound.
timeout_pid=$$
bash -c 'for fd in /proc/self/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done
  sleep "$1" & s=$!; trap "kill $s 2>/dev/null; exit 0" TERM; wait $s
  echo "$2: over its $1 s bound, stopping" >&2; kill -TERM "$3"' \
  watchdog "$BENCH_TIMEOUT" "$NAME" "$timeout_pid" &
watchdog=$!

# --- prerequisites ---------------------------------------------------------------
for tool in wrk curl jq python3; do
  command -v "$tool" >/dev/null || apt_install "$tool" || die "cannot install $tool"
done
nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
[[ -x "$nats_bin" ]] || apt_install nats-server || die "cannot install nats-server"
nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
for b in "$GATEWAY_BIN" "$RENTAL_BIN" "$RENTCTL"; do
  [[ -x "$b" ]] || die "$b missing: build first (tools/build.sh)"
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
max_conns=$(printf '%s\n' "${conns[@]}" | sort -n | tail -1)
(($(ulimit -n) > max_conns + 64)) || die "open files limit $(ulimit -n) is too low for $max_conns connections"

# --- the grpc-gateway peer (Go, GOPATH mode, no network) ---------------------------
googleapis=/usr/share/gocode/src/github.com/gogo/googleapis
peer_bin=""
peer_skip=""
build_peer() {
  local pkgs=(golang-go golang-github-grpc-ecosystem-grpc-gateway-dev golang-grpc-gateway
    protoc-gen-go-1-3 golang-google-grpc-dev golang-goprotobuf-dev golang-google-genproto-dev
    golang-github-gogo-googleapis-dev protobuf-compiler libprotobuf-dev)
  local missing=() p
  for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (Debian packages, for the grpc-gateway peer)"
    apt_install "${missing[@]}" || { peer_skip="cannot install ${missing[*]}"; return 1; }
  fi
  # protoc-gen-go must be the 1.3 one (plugins=grpc; the APIv2 one has no grpc plugin).
  [[ $(dpkg-query -S /usr/bin/protoc-gen-go 2>/dev/null) == protoc-gen-go-1-3:* ]] ||
    { peer_skip="/usr/bin/protoc-gen-go is not protoc-gen-go-1-3's"; return 1; }
  local gopath="$tmp/gopath" src="$tmp/gopath/src"
  mkdir -p "$src/rentmeshpeer"
  # The contracts carry no go_package: every file is mapped to a Go import path
  # here (google.api and the well-known types to the v1.3-era packages).
  local m=Mgoogle/api/annotations.proto=google.golang.org/genproto/googleapis/api/annotations
  m+=,Mgoogle/api/http.proto=google.golang.org/genproto/googleapis/api/annotations
  m+=,Mgoogle/protobuf/timestamp.proto=github.com/golang/protobuf/ptypes/timestamp
  m+=,Mgoogle/protobuf/descriptor.proto=github.com/golang/protobuf/protoc-gen-go/descriptor
  m+=,Mrentmesh/common/v1/common.proto=rentmesh/common/v1
  m+=,Mrentmesh/rental/v1/rental.proto=rentmesh/rental/v1
  local inc=(-I"$root/proto" -I"$googleapis" -I/usr/include) f
  for f in rentmesh/common/v1/common.proto rentmesh/rental/v1/rental.proto; do
    protoc "${inc[@]}" --go_out="plugins=grpc,$m:$src" "$root/proto/$f" >>"$tmp/log/peer-build.log" 2>&1 ||
      { peer_skip="protoc-gen-go failed on $f (see peer-build.log)"; return 1; }
  done
  protoc "${inc[@]}" --grpc-gateway_out="logtostderr=true,$m:$src" \
    "$root/proto/rentmesh/rental/v1/rental.proto" >>"$tmp/log/peer-build.log" 2>&1 ||
    { peer_skip="protoc-gen-grpc-gateway failed (see peer-build.log)"; return 1; }
  cp "$here/grpc_gateway_peer/main.go" "$src/rentmeshpeer/"
  (cd "$src/rentmeshpeer" && env GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOFLAGS= \
    GOPROXY=off GOCACHE="$tmp/go-cache" CGO_ENABLED=0 timeout 600 go build -o "$tmp/grpc_gateway_peer" .) \
    >>"$tmp/log/peer-build.log" 2>&1 || { peer_skip="go build failed (see peer-build.log)"; return 1; }
  peer_bin="$tmp/grpc_gateway_peer"
}
if [[ "$PEER" == 1 ]]; then
  log "building the grpc-gateway peer"
  if ! build_peer; then
    log "grpc-gateway peer SKIPPED: $peer_skip; measuring rentmesh alone"
    [[ -f "$tmp/log/peer-build.log" ]] && tail -n 5 "$tmp/log/peer-build.log" | sed "s/^/$NAME:   /"
  fi
else
  peer_skip="PEER=0"
fi

# --- ports -------------------------------------------------------------------------
# free_ports N: N distinct free loopback ports, one line: from BENCH_PORTS (LO-HI)
# or at random below the kernel's ephemeral range.
free_ports() {
  python3 - "$1" "$BENCH_PORTS" <<'PY'
import random, socket, sys
n, span = int(sys.argv[1]), sys.argv[2]
if span:
    lo, hi = map(int, span.split("-"))
else:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    lo, hi = min(10000, low // 2), low - 1
candidates = list(range(lo, hi + 1))
random.shuffle(candidates)
ports = []
for p in candidates:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); ports.append(p)
    except OSError:
        pass
    finally:
        s.close()
    if len(ports) == n:
        break
print(" ".join(map(str, sorted(ports))))
PY
}
read -r -a ports < <(free_ports 8)
((${#ports[@]} == 8)) || die "cannot find 8 free ports${BENCH_PORTS:+ in $BENCH_PORTS}"
NATS_PORT=${ports[0]} RENTAL_PORT=${ports[1]} RENTAL_ADMIN=${ports[2]} NOWHERE=${ports[3]}
GW_HTTP=${ports[4]} GW_GRPC=${ports[5]} GW_ADMIN=${ports[6]} PEER_HTTP=${ports[7]}
addr() { echo "127.0.0.1:$1"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- the system ----------------------------------------------------------------------
"$nats_bin" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$tmp/nats" >"$tmp/log/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do port_open "$NATS_PORT" && break; sleep 0.1; done
port_open "$NATS_PORT" || die "nats-server did not start"

"$RENTAL_BIN" --nats_url="nats://$(addr "$NATS_PORT")" --data_dir="$tmp/data/rental" \
  --grpc_address="$(addr "$RENTAL_PORT")" --admin_address="$(addr "$RENTAL_ADMIN")" \
  --payment_address="$(addr "$NOWHERE")" --returns_address="$(addr "$NOWHERE")" --trust_mesh \
  >"$tmp/log/rental.log" 2>&1 &
rental_pid=$!
pids+=("$rental_pid")
timeout 60 "$RENTCTL" wait "$(addr "$RENTAL_PORT")" >/dev/null || die "rental_server did not become ready"

book="bench-$(date +%s)"
added=$(timeout 30 "$RENTCTL" --deadline_ms=10000 --addr="$(addr "$RENTAL_PORT")" \
  call rentmesh.rental.v1.RentalService/AddBook \
  "{\"bookId\":\"$book\",\"title\":\"Bench\",\"copies\":10,\"dailyFee\":{\"currency\":\"KRW\",\"amountMinor\":1500}}") ||
  die "AddBook failed"
token=$(jq -r '.consistencyToken // empty' <<<"$added")
path="/v1/books/$book"
if [[ "$GETBOOK_TOKEN" == 1 ]]; then
  [[ -n "$token" ]] || die "AddBook answered no consistencyToken"
  path+="?consistency_token=$(jq -rn --arg t "$token" '$t|@uri')"
fi

read -r -a gw_extra <<<"$GATEWAY_FLAGS"
"$GATEWAY_BIN" --http_address="$(addr "$GW_HTTP")" --grpc_address="$(addr "$GW_GRPC")" \
  --admin_address="$(addr "$GW_ADMIN")" --rental_address="$(addr "$RENTAL_PORT")" \
  --payment_address="$(addr "$NOWHERE")" --returns_address="$(addr "$NOWHERE")" \
  --view_address="$(addr "$NOWHERE")" --delivery_address="$(addr "$NOWHERE")" \
  --notification_address="$(addr "$NOWHERE")" --auth_disabled=true --rate_limit_per_second=0 \
  "${gw_extra[@]}" >"$tmp/log/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
timeout 60 "$RENTCTL" wait "$(addr "$GW_GRPC")" >/dev/null || die "gateway_server did not become ready"

peer_pid=""
if [[ -n "$peer_bin" ]]; then
  "$peer_bin" --http_address="$(addr "$PEER_HTTP")" --rental_address="$(addr "$RENTAL_PORT")" \
    >"$tmp/log/peer.log" 2>&1 &
  peer_pid=$!
  pids+=("$peer_pid")
fi

declare -A URL=([rentmesh]="http://$(addr "$GW_HTTP")$path")
declare -A PID=([rentmesh]=$gateway_pid)
edges=(rentmesh)
if [[ -n "$peer_pid" ]]; then
  URL[grpc-gateway]="http://$(addr "$PEER_HTTP")$path"
  PID[grpc-gateway]=$peer_pid
  edges+=(grpc-gateway)
fi
for e in "${edges[@]}"; do  # the peer's channel may still be backing off: bounded retries
  for _ in $(seq 100); do
    code=$(curl -s -o "$tmp/answer-$e.json" -w '%{http_code}' --max-time 2 "${URL[$e]}" || true)
    [[ "$code" == 200 ]] && break
    sleep 0.1
  done
  [[ "$code" == 200 ]] || die "$e: GET $path answered HTTP $code: $(head -c 300 "$tmp/answer-$e.json")"
done

# --- the same answer? ----------------------------------------------------------------------
if [[ -n "$peer_pid" ]]; then
  if diff <(jq -S . "$tmp/answer-rentmesh.json") <(jq -S . "$tmp/answer-grpc-gateway.json") \
    >"$tmp/answer.diff"; then
    log "answers: the same JSON ($(jq 'paths(scalars)' -c "$tmp/answer-rentmesh.json" | wc -l) fields;" \
      "$(wc -c <"$tmp/answer-rentmesh.json") / $(wc -c <"$tmp/answer-grpc-gateway.json") bytes," \
      "field order aside)"
  else
    log "answers DIFFER (< rentmesh, > grpc-gateway):"
    sed "s/^/$NAME:   /" "$tmp/answer.diff"
  fi
fi

# --- load ------------------------------------------------------------------------------------
cat >"$tmp/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d %d %d %.0f %.0f\n", summary.requests,
    summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
LUA
ticks() {  # utime + stime of a process, in clock ticks
  local s f
  s=$(<"/proc/$1/stat")
  read -r -a f <<<"${s##*) }"
  echo $((f[11] + f[12]))
}
hz=$(getconf CLK_TCK)
# wrk_run EDGE CONNS SECONDS: sets $result to "requests duration_us connect read write status timeout
# p50_us p99_us edge_ticks rental_ticks"
wrk_run() {
  local edge=$1 c=$2 d=$3 e0 r0 out
  e0=$(ticks "${PID[$edge]}")
  r0=$(ticks "$rental_pid")
  out=$(timeout $((d + 30)) wrk -t"$WRK_THREADS" -c"$c" -d"${d}s" --timeout "${WRK_TIMEOUT}s" \
    -s "$tmp/report.lua" "${URL[$edge]}" 2>&1) || true
  local line
  line=$(grep '^WRK ' <<<"$out" | tail -1 || true)
  [[ -n "$line" ]] || { echo "$out" >>"$tmp/log/wrk.log"; die "wrk gave no result ($edge, $c connections)"; }
  kill -0 "${PID[$edge]}" 2>/dev/null || die "$edge died under load"
  result="${line#WRK } $(($(ticks "${PID[$edge]}") - e0)) $(($(ticks "$rental_pid") - r0))"
}

first=${conns[0]}
for e in "${edges[@]}"; do
  log "warming $e ($WARMUP s at $first connections)"
  wrk_run "$e" "$first" "$WARMUP"
done
: >"$tmp/runs"
for c in "${conns[@]}"; do
  for ((r = 1; r <= ROUNDS; r++)); do
    for e in "${edges[@]}"; do
      sleep 2  # the previous run's connections close
      log "run $e, $c connections, $r/$ROUNDS"
      wrk_run "$e" "$c" "$DURATION"
      echo "$c $e $r $result" >>"$tmp/runs"
    done
  done
done

# --- the table ---------------------------------------------------------------------------------
echo
echo "GET $path  (rentmesh: $(basename "$GATEWAY_BIN")${GATEWAY_FLAGS:+ $GATEWAY_FLAGS};" \
  "grpc-gateway: ${peer_bin:+v$(dpkg-query -W -f='${Version}' golang-github-grpc-ecosystem-grpc-gateway-dev)}${peer_skip:+skipped, $peer_skip})"
echo "wrk -t$WRK_THREADS --timeout ${WRK_TIMEOUT}s, $DURATION s per run, runs alternating;" \
  "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "CPU us/req: utime+stime of the process over the run / the answers wrk got"
awk -v hz="$hz" '
  function us(t, n) { return n > 0 ? t * 1e6 / hz / n : 0 }
  BEGIN {
    printf "%-6s %-13s %-4s %9s %8s %8s %16s %8s %12s %13s\n", "conns", "edge", "run", "req/s",
      "p50 ms", "p99 ms", "errs c/r/w/t", "non-2xx", "edge us/req", "rental us/req"
  }
  {
    c = $1; e = $2; n = $4; dur = $5 / 1e6
    printf "%-6s %-13s %-4s %9.0f %8.2f %8.2f %16s %8d %12.0f %13.0f\n", c, e, $3, n / dur,
      $11 / 1000, $12 / 1000, $6 "/" $7 "/" $8 "/" $10, $9, us($13, n), us($14, n)
    k = c SUBSEP e
    if (!(k in runs)) order[++m] = k
    runs[k]++; rps[k] += n / dur; p50[k] += $11 / 1000; p99[k] += $12 / 1000
    errs[k] += $6 + $7 + $8 + $10; non2xx[k] += $9; reqs[k] += n; et[k] += $13; rt[k] += $14
  }
  END {
    printf "\n%-6s %-13s %9s %8s %8s %8s %8s %12s %13s %18s\n", "conns", "edge", "req/s", "p50 ms",
      "p99 ms", "errors", "non-2xx", "edge us/req", "rental us/req", "rentmesh/grpc-gw"
    for (i = 1; i <= m; i++) {
      k = order[i]; split(k, ce, SUBSEP); c = ce[1]; e = ce[2]
      ratio = ""
      if (e == "grpc-gateway" && (c SUBSEP "rentmesh") in rps && rps[k] > 0)
        ratio = sprintf("%.2f", (rps[c SUBSEP "rentmesh"] / runs[c SUBSEP "rentmesh"]) / (rps[k] / runs[k]))
      printf "%-6s %-13s %9.0f %8.2f %8.2f %8d %8d %12.0f %13.0f %18s\n", c, e, rps[k] / runs[k],
        p50[k] / runs[k], p99[k] / runs[k], errs[k], non2xx[k], us(et[k], reqs[k]),
        us(rt[k], reqs[k]), ratio
    }
    print "(mean of the runs; errors = wrk connect+read+write+timeout; CPU over all the runs)"
  }' "$tmp/runs"

# With --http_engine=threaded, gateway_server holds a worker thread per open
# keep-alive connection: past --http_threads connections the rest wait
# unanswered, and wrk's latency is that of the connections that were served.
# The event engine (the default) has no such ceiling.
http_threads=$(sed -n 's/.*--http_threads=\([0-9]*\).*/\1/p' <<<"$GATEWAY_FLAGS")
if [[ -z "$http_threads" ]]; then
  http_threads=$(timeout 10 "$GATEWAY_BIN" --helpfull 2>&1 | grep -A2 -- '--http_threads' |
    sed -n 's/.*default: \([0-9]*\);.*/\1/p' | head -1 || true)
fi
if [[ "$GATEWAY_FLAGS" != *--http_engine=threaded* ]]; then
  http_threads=""
fi
if [[ -n "$http_threads" ]]; then
  for c in "${conns[@]}"; do
    if ((c > http_threads)); then
      echo "note: $c connections > the gateway's $http_threads HTTP threads (--http_threads):" \
        "$((c - http_threads)) of them wait unanswered; its latency is that of the $http_threads served"
    fi
  done
fi

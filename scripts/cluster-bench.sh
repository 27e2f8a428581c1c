#!/usr/bin/env bash
# The etcd backend against sled, same machine, same run: the 20-variable listing and a create
# (POST /api/variables/) on (1) sled, (2) one node on a one-member etcd, (3) three nodes on a
# three-member etcd, wrk driving all three nodes at once (connections split between them; req/s
# summed, p50 the median of the three, p99 the worst). Needs etcd (Debian: etcd-server) and wrk.
#
# Usage: scripts/cluster-bench.sh [SECONDS per scenario, default 8] [CONNECTIONS, default 48]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
CONNS=${2:-48}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/keynest}
[ -x "$BIN" ] || cargo build --release -q
WORK=$(mktemp -d)
# Started inside $(...) subshells: their pids go to a file for the cleanup.
cleanup() { while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$WORK/pids"; rm -rf "$WORK"; }
touch "$WORK/pids"
trap cleanup EXIT
export WRK_DIR="$PWD/scripts/wrk"
KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# ports N: N distinct free ports (all held until all are found, then released).
ports() { python3 -c 'import socket,sys; s=[socket.socket() for _ in range(int(sys.argv[1]))]; [x.bind(("127.0.0.1",0)) for x in s]; print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"; }
port() { ports 1; }

# etcd_cluster NAME N -> prints the client URLs, comma-separated
etcd_cluster() {
  local name=$1 n=$2 initial="" clients=() peers=() free
  read -r -a free <<<"$(ports $((2 * n)))"
  for i in $(seq 0 $((n - 1))); do
    clients+=("http://127.0.0.1:${free[$((2 * i))]}"); peers+=("http://127.0.0.1:${free[$((2 * i + 1))]}")
    initial+="${initial:+,}$name$i=${peers[$i]}"
  done
  for i in $(seq 0 $((n - 1))); do
    etcd --name "$name$i" --data-dir "$WORK/$name$i" --listen-client-urls "${clients[$i]}" \
      --advertise-client-urls "${clients[$i]}" --listen-peer-urls "${peers[$i]}" \
      --initial-advertise-peer-urls "${peers[$i]}" --initial-cluster "$initial" \
      --initial-cluster-token "$name" --max-txn-ops 20000 --max-request-bytes 33554432 \
      --log-level warn >"$WORK/$name$i.log" 2>&1 &
    echo $! >>"$WORK/pids"
  done
  for c in "${clients[@]}"; do
    for _ in $(seq 100); do curl -sf "$c/health" | grep -q '"true"' && break; sleep 0.1; done
  done
  (IFS=,; echo "${clients[*]}")
}

# node NAME [etcd URLs] -> prints the base URL
node() {
  local name=$1 urls=${2:-} p
  p=$(port)
  mkdir -p "$WORK/$name"
  if [ -n "$urls" ]; then
    KEYNEST_STORE=etcd KEYNEST_ETCD_ENDPOINTS=$urls KEYNEST_ETCD_PREFIX=bench/ \
    KEYNEST_MASTER_KEY=$KEY KEYNEST_RATE_LIMIT=off KEYNEST_MAX_REQUESTS_PER_CLIENT=100000 \
    KEYNEST_MAX_VARIABLES_PER_ENVIRONMENT=1000000 \
      "$BIN" serve --bind "127.0.0.1:$p" --data-dir "$WORK/$name" >/dev/null 2>"$WORK/$name.log" &
  else
    KEYNEST_MASTER_KEY=$KEY KEYNEST_RATE_LIMIT=off KEYNEST_MAX_REQUESTS_PER_CLIENT=100000 \
    KEYNEST_MAX_VARIABLES_PER_ENVIRONMENT=1000000 \
      "$BIN" serve --bind "127.0.0.1:$p" --data-dir "$WORK/$name" >/dev/null 2>"$WORK/$name.log" &
  fi
  echo $! >>"$WORK/pids"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/health/" >/dev/null && break; sleep 0.1; done
  echo "http://127.0.0.1:$p"
}

# seed BASE -> prints "TOKEN ENV_ID": one user, one environment of 20 variables
seed() {
  python3 scripts/seed20.py "$1" | cut -d" " -f1,2
}

# measure LABEL LUA PATH BASE... : wrk against each base at once, CONNS split between them
measure() {
  local label=$1 lua=$2 path=$3; shift 3
  local c=$((CONNS / $#)) i=0 outs=() runs=()
  for b in "$@"; do
    (KEY_PREFIX="N$i" TARGET="$path" wrk -t1 -c"$c" -d"${SECS}s" --latency -s "scripts/wrk/$lua" "$b$path" \
      | grep '^RESULT' | cut -d' ' -f2- >"$WORK/r$i") &
    runs+=($!); outs+=("$WORK/r$i"); i=$((i + 1))
  done
  wait "${runs[@]}"
  python3 - "$label" "${outs[@]}" <<'PY'
import json, sys, statistics
rs = [json.load(open(f)) for f in sys.argv[2:]]
print(f"| {sys.argv[1]} | {sum(r['rps'] for r in rs):,.0f} | {statistics.median(r['p50_ms'] for r in rs):.2f} ms"
      f" | {max(r['p99_ms'] for r in rs):.2f} ms | {sum(r['errors'] + r['non2xx'] for r in rs)} |")
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $SECS s per scenario, $CONNS connections"
echo "| setup, scenario | req/s | p50 | p99 | errors + non-2xx |"
echo "|---|---|---|---|---|"
SLED=$(node sled)
read -r TOKEN ENV_ID <<<"$(seed "$SLED")"; export TOKEN ENV_ID
measure "sled, 20-variable listing" authed.lua "/api/environments/$ENV_ID/variables/" "$SLED"
measure "sled, create" create.lua "/api/variables/" "$SLED"

ONE=$(etcd_cluster one 1)
E1=$(node etcd1 "$ONE")
read -r TOKEN ENV_ID <<<"$(seed "$E1")"; export TOKEN ENV_ID
measure "etcd (1 member), 1 node, listing" authed.lua "/api/environments/$ENV_ID/variables/" "$E1"
measure "etcd (1 member), 1 node, create" create.lua "/api/variables/" "$E1"

THREE=$(etcd_cluster three 3)
A=$(node a "$THREE"); B=$(node b "$THREE"); C=$(node c "$THREE")
read -r TOKEN ENV_ID <<<"$(seed "$A")"; export TOKEN ENV_ID
measure "etcd (3 members), 3 nodes, listing" authed.lua "/api/environments/$ENV_ID/variables/" "$A" "$B" "$C"
measure "etcd (3 members), 3 nodes, create" create.lua "/api/variables/" "$A" "$B" "$C"

#!/usr/bin/env bash
# Load test: the release server with rate limits off on a temp data dir, one organization with an
# environment of 20 variables, driven over loopback by wrk. Prints requests/s and p50/p99 for
# GET /health/, the 20-variable listing, export, a 90/10 read/write mix, and the listing while
# logins (Argon2id) run next to it; then the ratio listing/health.
#
# Usage: scripts/loadtest.sh [SECONDS per scenario, default 10] [CONNECTIONS, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
CONNS=${2:-64}
THREADS=${WRK_THREADS:-2}
if ! command -v wrk >/dev/null; then
  echo "installing wrk (apt-get)" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release -q
DATA=$(mktemp -d)
PORT=${PORT:-18787}
B=http://127.0.0.1:$PORT
# One address plays many clients here: no rate limits, and no per-address cap on requests in progress.
KEYNEST_RATE_LIMIT=off KEYNEST_MAX_REQUESTS_PER_CLIENT=100000 ./target/release/keynest serve --bind 127.0.0.1:$PORT --data-dir "$DATA" 2>"$DATA/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf $B/health/ >/dev/null && break; sleep 0.1; done

read -r TOKEN ENV_ID VAR_ID <<<"$(python3 scripts/seed20.py "$B")"
export TOKEN ENV_ID VAR_ID EMAIL=load@example.com WRK_DIR="$PWD/scripts/wrk"

run() { # name, lua, path, connections
  local out
  out=$(TARGET="$3" wrk -t"$THREADS" -c"$4" -d"${SECS}s" --latency -s "scripts/wrk/$2" "$B$3" | grep '^RESULT' | cut -d' ' -f2-)
  printf '%-32s %s\n' "$1" "$out"
  echo "$out" >"$DATA/$2.$4.json"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $SECS s per scenario, $CONNS connections"
run "GET /health/" plain.lua /health/ "$CONNS"
HEALTH=$(cat "$DATA/plain.lua.$CONNS.json")
run "GET 20-variable listing" authed.lua "/api/environments/$ENV_ID/variables/" "$CONNS"
LIST=$(cat "$DATA/authed.lua.$CONNS.json")
run "GET export (.env)" authed.lua "/api/environments/$ENV_ID/export/" "$CONNS"
ETAG=$(curl -s -D - -o /dev/null "$B/api/environments/$ENV_ID/variables/" -H "Authorization: Token $TOKEN" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
export ETAG
run "GET listing, If-None-Match (304)" etag.lua "/api/environments/$ENV_ID/variables/" "$CONNS"
run "90/10 listing/PATCH mix" mixed.lua "/api/environments/$ENV_ID/variables/" "$CONNS"

# Listing with logins beside it: hashing must stay off the workers.
TARGET=/api/auth/login/ wrk -t1 -c4 -d"${SECS}s" -s scripts/wrk/login.lua "$B/api/auth/login/" >"$DATA/logins.txt" &
LOGINS=$!
sleep 0.5
run "listing while logins run" authed.lua "/api/environments/$ENV_ID/variables/" "$CONNS"
wait $LOGINS
printf '%-32s %s\n' "logins (4 connections, beside)" "$(grep '^RESULT' "$DATA/logins.txt" | cut -d' ' -f2-)"

python3 - "$HEALTH" "$LIST" <<'PY'
import json, sys
h, l = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"listing/health ratio: {l['rps'] / h['rps']:.2f}")
PY

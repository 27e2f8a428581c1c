#!/usr/bin/env bash
# The dashboard's page weight and server time: a fresh server (the release build), one
# environment of N variables (default 500), signed in through the dashboard's own form; each
# page fetched R times (default 200). Bytes come from curl (raw, and with Accept-Encoding: gzip);
# server time is the server's own per-request log line (arrival to response, in microseconds).
#   scripts/dashboard-bench.sh [N] [R]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
R=${2:-200}
BIN=${KEYNEST_BIN:-${CARGO_TARGET_DIR:-target}/release/keynest}
[ -x "$BIN" ] || { echo "build it first: cargo build --release" >&2; exit 1; }
DIR=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
B=http://127.0.0.1:$PORT
KEYNEST_RATE_LIMIT=off RUST_LOG=info "$BIN" serve --bind 127.0.0.1:$PORT --data-dir "$DIR/data" \
  2>"$DIR/log" >/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do grep -q listening "$DIR/log" && break; sleep 0.1; done

json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
T=$(curl -s -X POST $B/api/auth/register/ -H 'Content-Type: application/json' -d '{
  "username": "bench", "email": "bench@example.com", "first_name": "Bench",
  "password": "correct horse battery", "confirm_password": "correct horse battery"}' | json '["token"]')
P=$(curl -s -X POST $B/api/projects/ -H "Authorization: Token $T" \
  -d '{"name": "web", "organization": 1}' | json '["id"]')
E=$(curl -s -X POST $B/api/environments/ -H "Authorization: Token $T" \
  -d "{\"name\": \"production\", \"project\": $P, \"environment_type\": \"production\"}" | json '["id"]')
python3 - "$N" >"$DIR/import.json" <<'EOF'
import json, sys
n = int(sys.argv[1])
lines = "".join(f"SERVICE_{i:04d}_API_KEY=sk_live_{i:04d}_{'x' * 32}\n" for i in range(n))
print(json.dumps({"data": lines, "format": "env"}))
EOF
curl -s -o /dev/null -X POST $B/api/environments/$E/import/ -H "Authorization: Token $T" \
  -H 'Content-Type: application/json' --data-binary @"$DIR/import.json"
V=$(curl -s "$B/api/environments/$E/variables/?page_size=1" -H "Authorization: Token $T" | json '["results"][0]["id"]')
# Sign in through the dashboard: the cookie is a session of its own.
curl -s -o /dev/null -c "$DIR/jar" -X POST $B/login/ \
  --data-urlencode email=bench@example.com --data-urlencode 'password=correct horse battery'

printf '%-22s %10s %10s %10s %10s %10s\n' page raw_bytes gzip_bytes p50_us p90_us p99_us
for path in /orgs/ /orgs/1/ /projects/$P/ /envs/$E/ /vars/$V/ /envs/$E/tokens/ /audit/ /sessions/; do
  raw=$(curl -s -b "$DIR/jar" -o /dev/null -w '%{size_download}' $B$path)
  gz=$(curl -s -b "$DIR/jar" -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' $B$path)
  : >"$DIR/mark"
  before=$(wc -l <"$DIR/log")
  for _ in $(seq "$R"); do
    curl -s -b "$DIR/jar" -H 'Accept-Encoding: gzip' -o /dev/null $B$path
  done
  sleep 0.2
  tail -n +$((before + 1)) "$DIR/log" | grep -F " GET $path 200 " \
    | sed -E 's/.* 200 ([0-9]+)us.*/\1/' | sort -n >"$DIR/t"
  c=$(wc -l <"$DIR/t")
  pct() { sed -n "$(( (c * $1 + 99) / 100 ))p" "$DIR/t"; }
  printf '%-22s %10s %10s %10s %10s %10s\n' "$path" "$raw" "$gz" "$(pct 50)" "$(pct 90)" "$(pct 99)"
done
echo "($N variables; $R requests per page, one at a time; server time from the server's log)"

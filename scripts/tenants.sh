#!/usr/bin/env bash
# Tenants must not stall each other (issue 10, item 8), measured against the release server:
#  1. p99 of durable writes in organization B, alone, then while organization A runs 4 parallel
#     compares, then 4 parallel exports, of a 100,000-variable environment;
#  2. p99 of an audit page with AUDIT entries (default 1,000,000) in the store, alone, then
#     while 16 connections flood audit queries over the same entries.
# Usage: scripts/tenants.sh [SECONDS per scenario, default 10] [AUDIT entries, default 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
AUDIT=${2:-1000000}
command -v wrk >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q
DATA=$(mktemp -d)
PORT=${PORT:-18788}
B=http://127.0.0.1:$PORT
KEYNEST_RATE_LIMIT=off KEYNEST_MAX_REQUESTS_PER_CLIENT=100000 \
KEYNEST_MAX_VARIABLES_PER_ENVIRONMENT=200000 KEYNEST_MAX_MIB_PER_ORGANIZATION=100000 \
  ./target/release/keynest serve --bind 127.0.0.1:$PORT --data-dir "$DATA" 2>"$DATA/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf $B/health/ >/dev/null && break; sleep 0.1; done
export WRK_DIR="$PWD/scripts/wrk"

eval "$(python3 - "$B" <<'PY'
import json, sys, urllib.request
B = sys.argv[1]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(B + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Token " + token)
    return json.load(urllib.request.urlopen(req, timeout=600))
def user(name):
    r = call("POST", "/api/auth/register/", {"username": name, "email": f"{name}@example.com",
             "password": "tenants test password", "confirm_password": "tenants test password"})
    return r["token"], r["organization"]["id"]
ta, oa = user("big")
p = call("POST", "/api/projects/", {"name": "big", "organization": oa}, ta)["id"]
big = call("POST", "/api/environments/", {"name": "big", "project": p}, ta)["id"]
small = call("POST", "/api/environments/", {"name": "small", "project": p}, ta)["id"]
for chunk in range(20):
    data = "".join(f"K{chunk:02}_{i:04}=postgresql://user:secret-{chunk}-{i}@db.internal:5432/app\n" for i in range(5000))
    call("POST", f"/api/environments/{big}/import/", {"data": data, "format": "env"}, ta)
call("POST", f"/api/environments/{small}/import/", {"data": "K00_0001=x\n", "format": "env"}, ta)
tb, ob = user("neighbour")
pb = call("POST", "/api/projects/", {"name": "n", "organization": ob}, tb)["id"]
eb = call("POST", "/api/environments/", {"name": "n", "project": pb}, tb)["id"]
vb = call("POST", "/api/variables/", {"key": "K", "value": "v", "environment": eb}, tb)["id"]
tc, oc = user("auditor")
vars_c = []
for i in range(8):
    o = oc if i == 0 else call("POST", "/api/organizations/", {"name": f"o{i}"}, tc)["id"]
    pc = call("POST", "/api/projects/", {"name": "p", "organization": o}, tc)["id"]
    ec = call("POST", "/api/environments/", {"name": "e", "project": pc}, tc)["id"]
    vars_c.append(str(call("POST", "/api/variables/", {"key": "K", "value": "v", "environment": ec}, tc)["id"]))
tc2 = call("POST", "/api/auth/login/", {"email": "auditor@example.com", "password": "tenants test password"})["token"]
print(f"TA={ta} BIG={big} SMALL={small} PA={p} TB={tb} VB={vb} TC={tc} TC2={tc2} VARS_C={','.join(vars_c)}")
PY
)"

run() { # label, then the wrk arguments
  local label=$1; shift
  printf '%-58s %s\n' "$label" "$(wrk "$@" | grep '^RESULT' | cut -d' ' -f2-)"
}
writes() { TOKEN=$TB VAR_IDS=$VB run "$1" -t1 -c1 -d"${SECS}s" --latency -s scripts/wrk/patch_many.lua "$B/"; }
echo "machine: $(nproc) cores; $SECS s per scenario"
writes "org B: durable PATCH, alone"
TOKEN=$TA TARGET="/api/projects/$PA/compare/?source=$BIG&target=$SMALL" \
  wrk -t2 -c4 -d"$((SECS + 2))s" -s scripts/wrk/authed.lua "$B/" >"$DATA/compare.txt" &
LOAD=$!
sleep 1; writes "org B: durable PATCH, while A runs 4 compares of 100k"; wait $LOAD
grep '^RESULT' "$DATA/compare.txt" | sed 's/^RESULT/  (the compares:)/'
TOKEN=$TA TARGET="/api/environments/$BIG/export/" \
  wrk -t2 -c4 -d"$((SECS + 2))s" -s scripts/wrk/authed.lua "$B/" >"$DATA/export.txt" &
LOAD=$!
sleep 1; writes "org B: durable PATCH, while A runs 4 exports of 100k"; wait $LOAD
grep '^RESULT' "$DATA/export.txt" | sed 's/^RESULT/  (the exports:)/'

# Audit entries: durable PATCHes spread over the auditor's 8 organizations.
start=$(date +%s)
TOKEN=$TC VAR_IDS=$VARS_C timeout 900 wrk -t2 -c16 -d900s -s scripts/wrk/patch_many.lua "$B/" >"$DATA/seed.txt" &
SEED=$!
while :; do
  n=$(curl -s "$B/api/audit-logs/?page_size=1" -H "Authorization: Token $TC" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
  [ "$n" -ge "$AUDIT" ] && break
  sleep 2
done
kill $SEED 2>/dev/null; wait $SEED 2>/dev/null || true
n=$(curl -s "$B/api/audit-logs/?page_size=1" -H "Authorization: Token $TC" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
echo "audit entries seeded: $n in $(( $(date +%s) - start )) s"
TOKEN=$TC TARGET=/api/audit-logs/ run "audit page (20 of $n entries), alone" -t1 -c1 -d"${SECS}s" --latency -s scripts/wrk/authed.lua "$B/api/audit-logs/"
TOKEN=$TC2 TARGET=/api/audit-logs/ wrk -t1 -c16 -d"$((SECS + 2))s" -s scripts/wrk/authed.lua "$B/api/audit-logs/" >"$DATA/flood.txt" &
LOAD=$!
sleep 1
TOKEN=$TC TARGET=/api/audit-logs/ run "audit page, while 16 connections flood audit queries" -t1 -c1 -d"${SECS}s" --latency -s scripts/wrk/authed.lua "$B/api/audit-logs/"
wait $LOAD
grep '^RESULT' "$DATA/flood.txt" | sed 's/^RESULT/  (the flood:)/'
echo "store on disk: $(du -sh "$DATA" | cut -f1)"

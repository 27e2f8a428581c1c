#!/usr/bin/env bash
# Fuzzes the API against its own OpenAPI document with schemathesis (pinned, installed into a
# virtual environment): every operation gets a bounded number of generated requests, and every
# answer must not be a 5xx, must have a documented status, content type and schema, and a method
# a path does not have must answer 405. Builds nothing: it runs the debug binary `cargo test`
# built. Usage: scripts/schemathesis.sh [extra schemathesis run options]
#   SCHEMATHESIS_EXAMPLES  examples per operation (default 20)
#   SCHEMATHESIS_VENV      where schemathesis is installed (default .venv-ci)
#   KEYNEST_BIN            the server binary (default $CARGO_TARGET_DIR or target, debug/keynest)
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-20}
VENV=${SCHEMATHESIS_VENV:-.venv-ci}
BIN=${KEYNEST_BIN:-${CARGO_TARGET_DIR:-target}/debug/keynest}
[ -x "$BIN" ] || { echo "no server binary at $BIN: run cargo test (or cargo build) first" >&2; exit 1; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$ST_VERSION"; then
    echo "installing schemathesis $ST_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
ST=("$VENV/bin/schemathesis" --no-color --config-file scripts/schemathesis.toml)

work=$(mktemp -d)
pid=
stop() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap stop EXIT

# Rate limits off, and room for the workers' requests in flight.
KEYNEST_RATE_LIMIT=off KEYNEST_MAX_REQUESTS_PER_CLIENT=1000 \
    "$BIN" serve --bind 127.0.0.1:0 --data-dir "$work/data" >"$work/server.log" 2>&1 &
pid=$!
base=
for _ in $(seq 200); do
    base=$(grep -o 'listening on http://[0-9.:]*' "$work/server.log" | head -1 | cut -d' ' -f3 || true)
    [ -n "$base" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$base" ] || { echo "the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

# Fixtures, so that path ids resolve: each is the first of its kind, id 1.
post() { # post TOKEN PATH JSON -> the answer's body; fails unless 2xx
    curl -sS --fail-with-body -X POST "$base$2" -H "Authorization: Token $1" \
        -H 'Content-Type: application/json' -d "$3"
}
token() { python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'; }
register() { # register NAME -> a login token
    post "" /api/auth/register/ "{\"username\": \"$1\", \"email\": \"$1@example.com\",
        \"password\": \"correct horse battery\", \"confirm_password\": \"correct horse battery\"}" | token
}
KN_TOKEN=$(register ann)
post "$KN_TOKEN" /api/projects/ '{"name": "web", "organization": 1}' >/dev/null
post "$KN_TOKEN" /api/environments/ '{"name": "production", "project": 1}' >/dev/null
post "$KN_TOKEN" /api/environments/ '{"name": "staging", "project": 1}' >/dev/null
post "$KN_TOKEN" /api/variables/ '{"key": "API_KEY", "value": "abc", "environment": 1}' >/dev/null
post "$KN_TOKEN" /api/environments/1/service-tokens/ '{"name": "ci"}' >/dev/null
post "$KN_TOKEN" /api/organizations/1/members/ '{"email": "bob@example.com"}' >/dev/null
# Bob's organization (2) invites Ann (invitation 2), so that she has one to accept or decline.
BOB=$(register bob)
post "$BOB" /api/organizations/2/members/ '{"email": "ann@example.com"}' >/dev/null
export KN_TOKEN

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,unsupported_method,negative_data_rejection
run() {
    "${ST[@]}" run "$base/api/schema/" --checks "$checks" --max-examples "$EXAMPLES" \
        --workers 1 --seed 1 "$@"
}
status=0
# First everything that leaves the fixtures in place, then what deletes them, and last what
# ends the session the run uses.
deletes='^DELETE /api/(organizations|projects|environments|variables)/'
ends='^(DELETE /api/auth/sessions/|POST /api/auth/logout)'
run --exclude-name-regex "$deletes|$ends" "$@" || status=$?
run --include-name-regex "$deletes" "$@" || status=$?
run --include-name-regex "$ends" "$@" || status=$?
if [ "$status" != 0 ]; then
    echo "--- server errors logged:" >&2
    grep -E ' (ERROR|WARN) ' "$work/server.log" | tail -20 >&2 || true
fi
exit "$status"

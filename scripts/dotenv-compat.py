#!/usr/bin/env python3
"""Check that KeyNest's .env export reads back exactly with python-dotenv and Node's dotenv.

Usage: scripts/dotenv-compat.py BASE_URL   (a running server with rate limits off)
Needs: pip install python-dotenv; npm install dotenv (in the current directory).
Creates a user, stores generated values full of quotes, backslashes, #, $ and newlines, exports
the environment as .env and parses it with both libraries; prints the mismatches and exits 1 if any.
"""
import io, json, random, subprocess, sys, urllib.request, uuid

from dotenv import dotenv_values

BASE = sys.argv[1].rstrip("/")

def call(method, path, token=None, body=None):
    req = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Token " + token)
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
        return json.loads(text) if r.headers.get_content_type() == "application/json" else text

name = "compat" + uuid.uuid4().hex[:8]
reg = call("POST", "/api/auth/register/", body={"username": name, "email": name + "@example.com",
           "password": "compat password", "confirm_password": "compat password"})
tok, org = reg["token"], reg["organization"]["id"]
proj = call("POST", "/api/projects/", tok, {"name": "compat", "organization": org})["id"]
env = call("POST", "/api/environments/", tok, {"name": "compat", "project": proj})["id"]

rng = random.Random(7)
alphabet = list("ab Z09=#$'\"\\\n\t`é秘{}:-_.") + ["${HOME}", "$HOME", "\\n", "\\\\"]
values = {"EMPTY": "", "LEAD": " x", "TRAIL": "x ", "HASH": "a #b", "DOLLAR": "$HOME ${HOME}"}
for i in range(300):
    values[f"V{i:03}"] = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 24)))
for k, v in values.items():
    call("POST", "/api/variables/", tok, {"key": k, "value": v, "environment": env})
text = call("GET", f"/api/environments/{env}/export/", tok)

parsers = {
    "python-dotenv (interpolate=False)": dotenv_values(stream=io.StringIO(text), interpolate=False),
    "python-dotenv (default, interpolate=True)": dotenv_values(stream=io.StringIO(text)),
}
node = subprocess.run(["node", "-e", "const fs=require('fs');process.stdout.write(JSON.stringify(require('dotenv').parse(fs.readFileSync(0))))"],
                      input=text.encode(), capture_output=True)
parsers["node dotenv"] = json.loads(node.stdout) if node.returncode == 0 else {}

bad = 0
for pname, got in parsers.items():
    wrong = [k for k, v in values.items() if got.get(k) != v]
    bad += len(wrong)
    print(f"{pname}: {len(values) - len(wrong)}/{len(values)} exact")
    for k in wrong[:5]:
        line = next((l for l in text.splitlines() if l.startswith(k + "=")), "?")
        print(f"   {k}: stored {values[k]!r} read {got.get(k)!r}  line {line!r}")
sys.exit(1 if bad else 0)

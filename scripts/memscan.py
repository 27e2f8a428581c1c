#!/usr/bin/env python3
"""Count plaintext copies of a secret left in the server's memory.

Starts `keynest serve` (the debug build by default) on a temp data dir with a master key given in
KEYNEST_MASTER_KEY, stores one variable with a distinctive value, then reads it back ROUNDS
times in every way a value leaves the server (get, list, versions, export as env, json and yaml)
and counts how often the value's bytes, and the master key's hex, occur in the process's memory
(read through /proc/<pid>/maps and /proc/<pid>/mem; needs ptrace rights over the child, which
its parent has). The counts are printed after the write, after the reads, and again after the
connections are closed and the server has been idle for a moment.

Usage: scripts/memscan.py [--bin PATH] [--rounds N] [--keep-alive] [--reads get,list,...]
"""

import argparse
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time


def regions(pid):
    """(start, end, label) of every readable mapping except the kernel's."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            start, end = (int(x, 16) for x in parts[0].split("-"))
            label = parts[5] if len(parts) > 5 else "[anon]"
            if "r" not in parts[1] or label in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                continue
            yield start, end, label


def count(pid, needles):
    """Occurrences of each needle in the process's memory, total and by kind of mapping."""
    found = {n: {} for n in needles}
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for start, end, label in regions(pid):
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            kind = label if label.startswith("[") else ("file" if "/" in label else "[anon]")
            for n in needles:
                c = data.count(n)
                if c:
                    found[n][kind] = found[n].get(kind, 0) + c
    return {n: (sum(k.values()), k) for n, k in found.items()}


class Client:
    def __init__(self, base, keep_alive):
        self.host, self.port = base.replace("http://", "").split(":")
        self.keep_alive = keep_alive
        self.conn = None

    def call(self, method, path, body=None, token=None):
        if self.conn is None or not self.keep_alive:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Token " + token
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        if r.status >= 300:
            sys.exit(f"{method} {path}: {r.status} {raw[:200]!r}")
        return raw

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))
    ap.add_argument("--bin", default=os.path.join(target, "debug", "keynest"))
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--keep-alive", action="store_true", help="one connection for every request")
    ap.add_argument("--reads", default="get,list,versions,env,json,yaml",
                    help="which reads to repeat (comma-separated; default all)")
    args = ap.parse_args()

    value = ("KNPROBE" + secrets.token_hex(12)).encode()
    master = secrets.token_hex(32)
    data = tempfile.mkdtemp(prefix="memscan-")
    # Only the line that says where it listens is logged.
    env = dict(os.environ, KEYNEST_MASTER_KEY=master, KEYNEST_RATE_LIMIT="off",
               RUST_LOG="warn,keynest::server=info")
    env.pop("KEYNEST_MASTER_KEY_FILE", None)
    server = subprocess.Popen(
        [args.bin, "serve", "--bind", "127.0.0.1:0", "--data-dir", data, "--workers", "2"],
        env=env, stderr=subprocess.PIPE, text=True,
    )
    base = None
    log = []

    def read_log():
        nonlocal base
        for line in server.stderr:
            log.append(line)
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                base = m.group(1)

    threading.Thread(target=read_log, daemon=True).start()
    for _ in range(600):
        if base or server.poll() is not None:
            break
        time.sleep(0.1)
    if not base:
        sys.exit("server did not start:\n" + "".join(log))
    try:
        c = Client(base, args.keep_alive)
        reg = json.loads(c.call("POST", "/api/auth/register/", {
            "username": "mem", "email": "mem@example.com",
            "password": "memory scan password", "confirm_password": "memory scan password"}))
        t, org = reg["token"], reg["organization"]["id"]
        p = json.loads(c.call("POST", "/api/projects/", {"name": "mem", "organization": org}, t))["id"]
        e = json.loads(c.call("POST", "/api/environments/", {"name": "production", "project": p}, t))["id"]
        v = json.loads(c.call("POST", "/api/variables/", {"key": "PROBE", "value": value.decode(), "environment": e}, t))["id"]
        for i in range(5):
            c.call("POST", "/api/variables/", {"key": f"OTHER_{i}", "value": "x" * 40, "environment": e}, t)
        c.close()
        needles = [value, master.encode()]
        names = {value: "value", master.encode(): "master key hex"}

        def report(when):
            time.sleep(0.3)
            res = count(server.pid, needles)
            for n in needles:
                total, kinds = res[n]
                where = ", ".join(f"{k} {c}" for k, c in sorted(kinds.items()))
                print(f"{when:<34} {names[n]:<15} {total:>4}   {where}")

        report("after the write")
        paths = {
            "get": f"/api/variables/{v}/",
            "list": f"/api/environments/{e}/variables/",
            "versions": f"/api/variables/{v}/versions/",
            "env": f"/api/environments/{e}/export/",
            "json": f"/api/environments/{e}/export/?format=json",
            "yaml": f"/api/environments/{e}/export/?format=yaml",
        }
        reads = [paths[r] for r in args.reads.split(",")]
        for _ in range(args.rounds):
            for path in reads:
                body = c.call("GET", path, token=t)
                assert value in body, path
        report(f"after {args.rounds} x {len(reads)} reads")
        c.close()
        time.sleep(1.0)
        report("connections closed, 1 s idle")
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Seed a fresh KeyNest for the load scripts: one user, one environment of 20 variables.

Usage: scripts/seed20.py BASE_URL  -> prints "TOKEN ENV_ID LAST_VARIABLE_ID"
"""
import json
import sys
import urllib.request

B = sys.argv[1]


def call(method, path, body=None, token=None):
    req = urllib.request.Request(
        B + path, method=method, data=json.dumps(body).encode() if body is not None else None
    )
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Token " + token)
    return json.load(urllib.request.urlopen(req))


r = call("POST", "/api/auth/register/", {"username": "load", "email": "load@example.com",
         "password": "load test password", "confirm_password": "load test password"})
t, org = r["token"], r["organization"]["id"]
p = call("POST", "/api/projects/", {"name": "load", "organization": org}, t)["id"]
e = call("POST", "/api/environments/", {"name": "production", "project": p}, t)["id"]
for i in range(20):
    v = call("POST", "/api/variables/", {"key": f"KEY_{i:02}", "value": f"postgresql://user:secret{i}@db-{i}.internal:5432/app", "environment": e}, t)["id"]
print(t, e, v)

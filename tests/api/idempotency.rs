//! `Idempotency-Key`: a retry of a write with the same key, from the same caller, is answered
//! with the first outcome instead of being applied again; the key with another request is
//! refused; the kept answer survives a restart and holds no value in plaintext.

use crate::durability::files_containing;
use crate::helpers::{Resp, TestServer, User};
use serde_json::{json, Value};

fn keyed(s: &TestServer, method: &str, path: &str, u: &User, key: &str, body: &Value) -> Resp {
    s.send_as(
        method,
        path,
        Some(&u.token),
        "application/json",
        &[("Idempotency-Key", key)],
        body.to_string().as_bytes(),
    )
}

#[test]
fn a_retry_with_the_same_key_answers_the_first_outcome_and_applies_once() {
    let s = TestServer::start();
    let u = s.register("retry");
    let body = json!({"name": "web", "organization": u.org});
    let first = keyed(&s, "POST", "/api/projects/", &u, "k-1", &body).expect(201);
    let again = keyed(&s, "POST", "/api/projects/", &u, "k-1", &body).expect(201);
    assert_eq!(first, again, "the same answer, byte for byte");
    let projects = |s: &TestServer| {
        s.get(
            &format!("/api/projects/?organization={}", u.org),
            Some(&u.token),
        )
        .expect(200)["count"]
            .clone()
    };
    assert_eq!(projects(&s), 1, "applied once");
    // Positive control: another key is another request.
    let other = keyed(&s, "POST", "/api/projects/", &u, "k-2", &body).expect(201);
    assert_ne!(other["id"], first["id"]);
    assert_eq!(projects(&s), 2);

    // A value change retried: one new version, not two.
    let env = s.env(&u, first["id"].as_u64().expect("id"), "production");
    let var = s.var(&u, env, "DB", "v1");
    let path = format!("/api/variables/{var}/");
    let patch = json!({"value": "v2"});
    let a = keyed(&s, "PATCH", &path, &u, "k-3", &patch).expect(200);
    let b = keyed(&s, "PATCH", &path, &u, "k-3", &patch).expect(200);
    assert_eq!(a, b);
    assert_eq!(b["version"], 2);
    let versions = s
        .get(&format!("{path}versions/"), Some(&u.token))
        .expect(200);
    assert_eq!(versions["count"], 2);

    // An organization (made outside any organization's actor) likewise.
    let org = json!({"name": "acme"});
    let o1 = keyed(&s, "POST", "/api/organizations/", &u, "k-4", &org).expect(201);
    let o2 = keyed(&s, "POST", "/api/organizations/", &u, "k-4", &org).expect(201);
    assert_eq!(o1["id"], o2["id"]);
    let orgs = s.get("/api/organizations/", Some(&u.token)).expect(200);
    assert_eq!(orgs["count"], 2, "the personal one and acme");
}

#[test]
fn the_same_key_with_another_request_is_refused_and_keys_are_per_caller() {
    let s = TestServer::start();
    let u = s.register("one");
    let body = json!({"name": "web", "organization": u.org});
    keyed(&s, "POST", "/api/projects/", &u, "shared", &body).expect(201);
    let other_body = json!({"name": "api", "organization": u.org});
    let r = keyed(&s, "POST", "/api/projects/", &u, "shared", &other_body);
    let e = r.expect_error(400, "validation_failed");
    assert!(e["details"]["Idempotency-Key"].is_array(), "{e}");
    let list = s
        .get(
            &format!("/api/projects/?organization={}", u.org),
            Some(&u.token),
        )
        .expect(200);
    assert_eq!(list["count"], 1, "the refused request changed nothing");

    // Another user's identical key is their own.
    let v = s.register("two");
    let theirs = json!({"name": "web", "organization": v.org});
    let r = keyed(&s, "POST", "/api/projects/", &v, "shared", &theirs).expect(201);
    assert_eq!(r["organization"], v.org);

    for bad in ["", &"k".repeat(256), "has space"] {
        let r = keyed(&s, "POST", "/api/projects/", &u, bad, &body);
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text);
    }
}

#[test]
fn a_kept_answer_survives_a_restart_and_holds_no_value_in_plaintext() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("kept");
    let secret = "sk_live_IDEMPOTENT_CANARY_9";
    let body = json!({"key": "API_KEY", "value": secret, "environment": env});
    let first = keyed(&s, "POST", "/api/variables/", &u, "create-api-key", &body).expect(201);
    let mut s = s.restart(true);
    let again = keyed(&s, "POST", "/api/variables/", &u, "create-api-key", &body).expect(201);
    assert_eq!(first, again, "answered from what was kept, after a restart");
    assert_eq!(again["decrypted_value"], secret);
    assert!(s.terminate().success());
    let hits = files_containing(&s.store_dir(), secret.as_bytes());
    assert!(hits.is_empty(), "plaintext in {hits:?}");
}

//! Lost access is lost at once: a service token never outlives its creator's access, and a
//! revocation or a logout ends requests whose headers had already arrived.

use crate::helpers::{TestServer, User};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn service_token(s: &TestServer, by: &User, env: u64, body: Value) -> (u64, String) {
    let r = s
        .post(
            &format!("/api/environments/{env}/service-tokens/"),
            Some(&by.token),
            body,
        )
        .expect(201);
    let token = r["token"].as_str().expect("token").to_string();
    (r["id"].as_u64().expect("id"), token)
}

/// An admin's organization with an environment, and an editor in it.
fn team(s: &TestServer) -> (User, User, u64) {
    let (admin, _, env) = s.user_with_env("admin");
    let editor = s.register("editor");
    s.add_member(&admin, admin.org, &editor, "editor");
    (admin, editor, env)
}

#[test]
fn a_service_token_stops_working_when_its_creator_leaves_the_organization() {
    let s = TestServer::start();
    let (admin, editor, env) = team(&s);
    s.var(&admin, env, "DB", "secret-db");
    let body = json!({"name": "ci", "access": "read_write"});
    let (_, tok) = service_token(&s, &editor, env, body);
    let list = format!("/api/environments/{env}/variables/");
    // Positive control: the token works while its creator is a member.
    let r = s.get(&list, Some(&tok)).expect(200);
    assert_eq!(r["results"][0]["decrypted_value"], "secret-db");

    s.delete(
        &format!("/api/organizations/{}/members/{}/", admin.org, editor.id),
        Some(&admin.token),
    )
    .expect(204);
    s.get(&list, Some(&tok))
        .expect_error(401, "not_authenticated");
    let create = json!({"key": "NEW", "value": "v", "environment": env});
    s.post("/api/variables/", Some(&tok), create)
        .expect_error(401, "not_authenticated");
    s.get(&format!("/api/environments/{env}/export/"), Some(&tok))
        .expect_error(401, "not_authenticated");
}

#[test]
fn a_service_token_of_a_creator_demoted_to_viewer_sees_keys_only() {
    let s = TestServer::start();
    let (admin, editor, env) = team(&s);
    s.var(&admin, env, "DB", "secret-db");
    let (_, tok) = service_token(
        &s,
        &editor,
        env,
        json!({"name": "ci", "access": "read_write"}),
    );
    let export = format!("/api/environments/{env}/export/");
    assert_eq!(s.get(&export, Some(&tok)).status, 200, "positive control");

    s.patch(
        &format!("/api/organizations/{}/members/{}/", admin.org, editor.id),
        Some(&admin.token),
        json!({"role": "viewer"}),
    )
    .expect(200);
    let r = s.get(&export, Some(&tok));
    assert!(!r.text.contains("secret-db"));
    r.expect_error(403, "permission_denied");
    let list = s
        .get(&format!("/api/environments/{env}/variables/"), Some(&tok))
        .expect(200);
    assert_eq!(list["results"][0]["key"], "DB");
    assert_eq!(list["results"][0]["decrypted_value"], Value::Null);
    let create = json!({"key": "NEW", "value": "v", "environment": env});
    s.post("/api/variables/", Some(&tok), create)
        .expect_error(403, "permission_denied");
}

#[test]
fn new_service_tokens_expire_by_default_and_never_only_when_asked() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("ci");
    let path = format!("/api/environments/{env}/service-tokens/");
    let r = s
        .post(&path, Some(&u.token), json!({"name": "default"}))
        .expect(201);
    let expires = r["expires_at"].as_str().expect("a default expiry");
    let created = r["created_at"].as_str().expect("created");
    let days = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .expect("rfc3339")
            .timestamp() as f64
            / 86_400.0
    };
    let lifetime = days(expires) - days(created);
    assert!((89.9..=90.1).contains(&lifetime), "{lifetime} days");
    let r = s
        .post(
            &path,
            Some(&u.token),
            json!({"name": "forever", "expires_in_days": "never"}),
        )
        .expect(201);
    assert_eq!(r["expires_at"], Value::Null);
    s.post(
        &path,
        Some(&u.token),
        json!({"name": "bad", "expires_in_days": "soon"}),
    )
    .expect_error(400, "validation_failed");
}

/// Send a request's head now and its body only after `between` has run; the status it gets.
fn split_request(s: &TestServer, head: &str, body: &str, between: impl FnOnce()) -> u16 {
    let addr = s.base.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    conn.write_all(head.as_bytes()).expect("head");
    conn.flush().expect("flush");
    // Let the server read the head and authenticate it before anything changes.
    std::thread::sleep(Duration::from_millis(300));
    between();
    conn.write_all(body.as_bytes()).expect("body");
    let mut buf = [0u8; 512];
    let n = conn.read(&mut buf).expect("response");
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line")
}

fn patch_head(path: &str, token: &str, body: &str) -> String {
    format!(
        "PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Token {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
}

#[test]
fn a_revocation_or_logout_ends_a_write_whose_body_was_still_arriving() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("ops");
    let var = s.var(&u, env, "DB", "before");
    let path = format!("/api/variables/{var}/");
    let body = json!({"value": "after"}).to_string();

    // Positive control: the same split request with nothing revoked is applied.
    let (_, tok) = service_token(&s, &u, env, json!({"name": "a", "access": "read_write"}));
    assert_eq!(
        split_request(&s, &patch_head(&path, &tok, &body), &body, || {}),
        200
    );

    let revoke_body = json!({"value": "revoked"}).to_string();
    let (id, tok) = service_token(&s, &u, env, json!({"name": "b", "access": "read_write"}));
    let head = patch_head(&path, &tok, &revoke_body);
    let status = split_request(&s, &head, &revoke_body, || {
        s.delete(
            &format!("/api/environments/{env}/service-tokens/{id}/"),
            Some(&u.token),
        )
        .expect(204);
    });
    assert_eq!(status, 401, "revoked while the body was in flight");

    let session = s
        .post(
            "/api/auth/login/",
            None,
            json!({"email": u.email, "password": "correct horse battery"}),
        )
        .expect(200);
    let second = session["token"].as_str().expect("token").to_string();
    let logout_body = json!({"value": "logged-out"}).to_string();
    let head = patch_head(&path, &second, &logout_body);
    let status = split_request(&s, &head, &logout_body, || {
        s.post("/api/auth/logout/", Some(&second), json!({}))
            .expect(200);
    });
    assert_eq!(status, 401, "logged out while the body was in flight");

    let now = s.get(&path, Some(&u.token)).expect(200);
    assert_eq!(
        now["decrypted_value"], "after",
        "neither late write was applied"
    );
}

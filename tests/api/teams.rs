use crate::helpers::{Resp, TestServer, User};
use serde_json::{json, Value};

fn token(s: &TestServer, user: &User, env: u64, body: Value) -> String {
    let r = s
        .post(
            &format!("/api/environments/{env}/service-tokens/"),
            Some(&user.token),
            body,
        )
        .expect(201);
    r["token"].as_str().expect("token").to_string()
}

fn call(s: &TestServer, token: &str, method: &str, path: &str, body: &Value) -> Resp {
    match method {
        "GET" => s.get(path, Some(token)),
        "DELETE" => s.delete(path, Some(token)),
        m => s.send(m, path, Some(token), body.to_string().as_bytes()),
    }
}

#[test]
fn service_tokens_are_shown_once_stored_hashed_and_revocable() {
    let mut s = TestServer::start();
    let (u, _, env) = s.user_with_env("ci");
    let t = Some(u.token.as_str());
    let path = format!("/api/environments/{env}/service-tokens/");
    let created = s
        .post(
            &path,
            t,
            json!({"name": "github-actions", "access": "read", "expires_in_days": 30}),
        )
        .expect(201);
    let tok = created["token"].as_str().expect("token");
    assert!(tok.starts_with("kns_") && tok.len() == 44, "{tok}");
    assert_eq!(created["access"], "read");
    assert!(created["expires_at"].is_string());
    let list = s.get(&path, t);
    assert!(!list.text.contains(tok), "the token is never shown again");
    let list = list.expect(200);
    assert_eq!(list["count"], 1);
    for f in [
        "id",
        "name",
        "access",
        "created_at",
        "expires_at",
        "last_used",
    ] {
        assert!(list["results"][0].get(f).is_some(), "lacks {f}");
    }
    s.var(&u, env, "DB", "from-ci");
    let vars = s
        .get(&format!("/api/environments/{env}/variables/"), Some(tok))
        .expect(200);
    assert_eq!(vars["results"][0]["decrypted_value"], "from-ci");
    assert!(s.get(&path, t).expect(200)["results"][0]["last_used"].is_string());

    let id = created["id"].as_u64().expect("id");
    s.delete(&format!("{path}{id}/"), t).expect(204);
    s.get(&format!("/api/environments/{env}/variables/"), Some(tok))
        .expect_error(401, "not_authenticated");
    assert_eq!(s.get(&path, t).expect(200)["count"], 0);

    let log = s
        .get("/api/audit-logs/?target_type=service_token", t)
        .expect(200);
    assert_eq!(log["count"], 2);
    assert!(!log.to_string().contains(tok));
    assert!(s.terminate().success());
    let hits = crate::durability::files_containing(&s.store_dir(), tok.as_bytes());
    assert!(hits.is_empty(), "token stored in plaintext in {hits:?}");
}

#[test]
fn service_token_matrix() {
    let s = TestServer::start();
    let (u, project, env) = s.user_with_env("owner");
    let other_env = s.env(&u, project, "staging");
    let var = s.var(&u, env, "KEY", "value");
    let other_var = s.var(&u, other_env, "OTHER", "value");
    let read = token(&s, &u, env, json!({"name": "reader", "access": "read"}));
    let rw = token(
        &s,
        &u,
        env,
        json!({"name": "writer", "access": "read_write"}),
    );
    let expired = token(
        &s,
        &u,
        env,
        json!({"name": "old", "access": "read_write", "expires_in_days": 0.00001}),
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let e = env;
    // (what, method, path, body, expected for [read, read_write, expired])
    let cases: Vec<(&str, &str, String, Value, [u16; 3])> = vec![
        (
            "list vars",
            "GET",
            format!("/api/environments/{e}/variables/"),
            Value::Null,
            [200, 200, 401],
        ),
        (
            "get var",
            "GET",
            format!("/api/variables/{var}/"),
            Value::Null,
            [200, 200, 401],
        ),
        (
            "export",
            "GET",
            format!("/api/environments/{e}/export/"),
            Value::Null,
            [200, 200, 401],
        ),
        (
            "create var",
            "POST",
            "/api/variables/".into(),
            json!({"key": "NEW", "value": "v", "environment": e}),
            [403, 201, 401],
        ),
        (
            "update var",
            "PATCH",
            format!("/api/variables/{var}/"),
            json!({"value": "w"}),
            [403, 200, 401],
        ),
        (
            "import",
            "POST",
            format!("/api/environments/{e}/import/"),
            json!({"data": "IMPORTED=1"}),
            [403, 200, 401],
        ),
        (
            "other env vars",
            "GET",
            format!("/api/environments/{other_env}/variables/"),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "other env var",
            "GET",
            format!("/api/variables/{other_var}/"),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "create in other env",
            "POST",
            "/api/variables/".into(),
            json!({"key": "X", "value": "v", "environment": other_env}),
            [403, 403, 401],
        ),
        (
            "get env",
            "GET",
            format!("/api/environments/{e}/"),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "list projects",
            "GET",
            "/api/projects/".into(),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "get project",
            "GET",
            format!("/api/projects/{project}/"),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "orgs",
            "GET",
            "/api/organizations/".into(),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "members",
            "GET",
            format!("/api/organizations/{}/members/", u.org),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "profile",
            "GET",
            "/api/auth/profile/".into(),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "audit",
            "GET",
            "/api/audit-logs/".into(),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "versions",
            "GET",
            format!("/api/variables/{var}/versions/"),
            Value::Null,
            [403, 403, 401],
        ),
        (
            "new token",
            "POST",
            format!("/api/environments/{e}/service-tokens/"),
            json!({"name": "x"}),
            [403, 403, 401],
        ),
        (
            "delete var",
            "DELETE",
            format!("/api/variables/{var}/"),
            Value::Null,
            [403, 204, 401],
        ),
    ];
    for (col, (who, tok)) in [("read", &read), ("read_write", &rw), ("expired", &expired)]
        .iter()
        .enumerate()
    {
        for (what, method, path, body, expect) in &cases {
            let r = call(&s, tok, method, path, body);
            assert_eq!(
                r.status, expect[col],
                "{who} token: {what} ({method} {path}): {}",
                r.text
            );
        }
    }
    let log = s
        .get("/api/audit-logs/?action=variable_created", Some(&u.token))
        .expect(200);
    let by_token = log["results"]
        .as_array()
        .expect("r")
        .iter()
        .any(|e| e["user_name"] == "service token writer");
    assert!(by_token, "writes are audited under the token's name: {log}");
}

#[test]
fn every_value_is_kept_and_rollback_restores_the_exact_bytes() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("hist");
    let viewer = s.register("peek");
    s.add_member(&u, u.org, &viewer, "viewer");
    let t = Some(u.token.as_str());
    let first = "  first\nvalue ✓ \"q\" \\ ";
    let var = s.var(&u, env, "K", first);
    s.patch(
        &format!("/api/variables/{var}/"),
        t,
        json!({"value": "second"}),
    )
    .expect(200);
    s.patch(
        &format!("/api/variables/{var}/"),
        t,
        json!({"key": "RENAMED"}),
    )
    .expect(200);
    s.post(
        &format!("/api/environments/{env}/import/"),
        t,
        json!({"data": "RENAMED=third"}),
    )
    .expect(200);
    let versions = s
        .get(&format!("/api/variables/{var}/versions/"), t)
        .expect(200);
    assert_eq!(versions["count"], 3, "a rename is not a new value");
    let got: Vec<(u64, &str)> = versions["results"]
        .as_array()
        .expect("r")
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap_or(0),
                v["decrypted_value"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(3, "third"), (2, "second"), (1, first)],
        "newest first"
    );
    let hidden = s.get(
        &format!("/api/variables/{var}/versions/"),
        Some(&viewer.token),
    );
    assert!(!hidden.text.contains("second"));
    assert!(hidden.expect(200)["results"][0]["decrypted_value"].is_null());

    let back = s
        .post(
            &format!("/api/variables/{var}/rollback/"),
            t,
            json!({"version": 1}),
        )
        .expect(200);
    assert_eq!(back["decrypted_value"], first);
    assert_eq!(back["version"], 4);
    assert_eq!(
        s.get(&format!("/api/variables/{var}/"), t).expect(200)["decrypted_value"],
        first
    );
    assert_eq!(
        s.get(&format!("/api/variables/{var}/versions/"), t)
            .expect(200)["count"],
        4
    );
    s.post(
        &format!("/api/variables/{var}/rollback/"),
        t,
        json!({"version": 99}),
    )
    .expect_error(400, "validation_failed");
    s.post(
        &format!("/api/variables/{var}/rollback/"),
        t,
        json!({"version": "one"}),
    )
    .expect_error(400, "validation_failed");
    s.post(
        &format!("/api/variables/{var}/rollback/"),
        Some(&viewer.token),
        json!({"version": 1}),
    )
    .expect_error(403, "permission_denied");
    let log = s
        .get("/api/audit-logs/?action=variable_rolled_back", t)
        .expect(200);
    assert_eq!(log["results"][0]["details"]["restored_version"], "1");
    assert!(!log.to_string().contains("first"));
    // Deleting the variable deletes its history.
    s.delete(&format!("/api/variables/{var}/"), t).expect(204);
    s.get(&format!("/api/variables/{var}/versions/"), t)
        .expect_error(404, "not_found");
}

#[test]
fn compare_two_environments_by_key_without_values() {
    let s = TestServer::start();
    let (u, project, dev) = s.user_with_env("cmp");
    let prod = s.env(&u, project, "prod");
    for (k, v) in [("ONLY_DEV", "1"), ("SAME", "x"), ("DIFF", "a")] {
        s.var(&u, dev, k, v);
    }
    for (k, v) in [("ONLY_PROD", "1"), ("SAME", "x"), ("DIFF", "b")] {
        s.var(&u, prod, k, v);
    }
    let t = Some(u.token.as_str());
    let r = s.get(
        &format!("/api/projects/{project}/compare/?source={dev}&target={prod}"),
        t,
    );
    assert!(
        !r.text.contains("\"a\"") && !r.text.contains("\"b\""),
        "no values: {}",
        r.text
    );
    let c = r.expect(200);
    assert_eq!(c["only_in_source"], json!(["ONLY_DEV"]));
    assert_eq!(c["only_in_target"], json!(["ONLY_PROD"]));
    assert_eq!(c["different"], json!(["DIFF"]));
    assert_eq!(c["same"], json!(["SAME"]));
    assert_eq!(c["source"]["name"], "production");
    let elsewhere = s.env(&u, s.project(&u, u.org, "other"), "x");
    s.get(
        &format!("/api/projects/{project}/compare/?source={dev}&target={elsewhere}"),
        t,
    )
    .expect_error(404, "not_found");
    s.get(&format!("/api/projects/{project}/compare/?source={dev}"), t)
        .expect_error(400, "validation_failed");
    let viewer = s.register("v");
    s.add_member(&u, u.org, &viewer, "viewer");
    s.get(
        &format!("/api/projects/{project}/compare/?source={dev}&target={prod}"),
        Some(&viewer.token),
    )
    .expect_error(403, "permission_denied");
}

#[test]
fn a_removed_member_loses_everything_at_once() {
    let s = TestServer::start();
    let (admin, project, env) = s.user_with_env("boss");
    let editor = s.register("temp");
    s.add_member(&admin, admin.org, &editor, "editor");
    let var = s.var(&editor, env, "BY_TEMP", "v");
    s.delete(
        &format!("/api/organizations/{}/members/{}/", admin.org, editor.id),
        Some(&admin.token),
    )
    .expect(204);
    let t = Some(editor.token.as_str());
    for path in [
        format!("/api/projects/{project}/"),
        format!("/api/environments/{env}/"),
        format!("/api/environments/{env}/variables/"),
        format!("/api/variables/{var}/"),
        format!("/api/environments/{env}/export/"),
        format!("/api/variables/{var}/versions/"),
    ] {
        s.get(&path, t).expect_error(404, "not_found");
    }
    let log = s
        .get("/api/audit-logs/?action=member_removed", Some(&admin.token))
        .expect(200);
    assert_eq!(log["results"][0]["details"]["member_email"], editor.email);
}

use crate::helpers::TestServer;
use serde_json::{json, Value};

fn actions(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_string())
        .collect()
}

#[test]
fn every_change_is_audited_with_names_and_never_a_value() {
    let s = TestServer::start();
    let (u, project, env) = s.user_with_env("aud");
    let t = Some(u.token.as_str());
    let var = s.var(&u, env, "DB_PASSWORD", "audit-must-not-see-this");
    s.patch(
        &format!("/api/variables/{var}/"),
        t,
        json!({"value": "nor-this-one"}),
    )
    .expect(200);
    s.delete(&format!("/api/variables/{var}/"), t).expect(204);
    s.patch(
        &format!("/api/projects/{project}/"),
        t,
        json!({"name": "renamed"}),
    )
    .expect(200);
    s.post(
        "/api/auth/login/",
        None,
        json!({"email": u.email, "password": "correct horse battery"}),
    )
    .expect(200);
    let log = s.get("/api/audit-logs/?page_size=100", t);
    assert!(!log.text.contains("audit-must-not-see-this") && !log.text.contains("nor-this-one"));
    let log = log.expect(200);
    assert_eq!(
        actions(&log),
        [
            "user_login",
            "project_updated",
            "variable_deleted",
            "variable_updated",
            "variable_created",
            "environment_created",
            "project_created",
            "user_registered",
            "organization_created"
        ],
        "newest first"
    );
    let created = &log["results"][4];
    assert_eq!(created["target_type"], "variable");
    assert_eq!(created["target_id"], var);
    assert_eq!(created["details"]["variable_key"], "DB_PASSWORD");
    assert_eq!(created["details"]["environment_name"], "production");
    assert_eq!(created["ip_address"], "127.0.0.1");
    assert_eq!(created["user_email"], u.email);
    for f in ["id", "user_name", "timestamp"] {
        assert!(created.get(f).is_some(), "entry lacks {f}");
    }
}

#[test]
fn audit_filters() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("filt");
    let t = Some(u.token.as_str());
    s.var(&u, env, "A", "1");
    s.var(&u, env, "B", "2");
    let by_action = s
        .get("/api/audit-logs/?action=variable_created", t)
        .expect(200);
    assert_eq!(by_action["count"], 2);
    assert_eq!(
        s.get("/api/audit-logs/?target_type=environment", t)
            .expect(200)["count"],
        1
    );
    assert_eq!(
        s.get(&format!("/api/audit-logs/?user={}", u.id), t)
            .expect(200)["count"],
        6
    );
    assert_eq!(
        s.get("/api/audit-logs/?user=99999", t).expect(200)["count"],
        0
    );
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().expect("tomorrow");
    let yesterday = today.pred_opt().expect("yesterday");
    assert_eq!(
        s.get(
            &format!("/api/audit-logs/?date_from={today}&date_to={today}"),
            t
        )
        .expect(200)["count"],
        6
    );
    assert_eq!(
        s.get(&format!("/api/audit-logs/?date_from={tomorrow}"), t)
            .expect(200)["count"],
        0
    );
    assert_eq!(
        s.get(&format!("/api/audit-logs/?date_to={yesterday}"), t)
            .expect(200)["count"],
        0
    );
    s.get("/api/audit-logs/?date_from=27-11-2026", t)
        .expect_error(400, "validation_failed");
}

#[test]
fn only_admins_read_an_organizations_entries_and_everyone_their_own_account_events() {
    let s = TestServer::start();
    let (admin, _, env) = s.user_with_env("chief");
    let editor = s.register("worker");
    s.add_member(&admin, admin.org, &editor, "editor");
    s.var(&editor, env, "BY_EDITOR", "v");
    let mine = s
        .get("/api/audit-logs/?page_size=100", Some(&editor.token))
        .expect(200);
    let seen = actions(&mine);
    assert!(
        !seen.contains(&"variable_created".to_string()),
        "editor sees no org entries: {seen:?}"
    );
    assert!(seen.contains(&"user_registered".to_string()));
    assert!(
        seen.contains(&"organization_created".to_string()),
        "their own personal org"
    );
    let theirs = s
        .get(
            "/api/audit-logs/?action=variable_created",
            Some(&admin.token),
        )
        .expect(200);
    assert_eq!(theirs["count"], 1);
    assert_eq!(theirs["results"][0]["user_email"], editor.email);
    let outsider = s.register("stranger");
    let seen = actions(&s.get("/api/audit-logs/", Some(&outsider.token)).expect(200));
    assert!(
        !seen
            .iter()
            .any(|a| a.starts_with("variable") || a.starts_with("project")),
        "{seen:?}"
    );
}

#[test]
fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let spoof = [("X-Forwarded-For", "203.0.113.9")];
    for (env, expect) in [
        (vec![], "127.0.0.1"),
        (
            vec![("KEYNEST_TRUSTED_PROXIES", "127.0.0.1")],
            "203.0.113.9",
        ),
    ] {
        let s = TestServer::start_with_env(&env);
        let u = s.register("proxy");
        let auth = format!("Token {}", u.token);
        let headers = [("Authorization", auth.as_str()), spoof[0]];
        s.get_with("/api/projects/", &headers).expect(200);
        // A change made through the "proxy" carries the address it forwarded.
        let url = format!("{}/api/organizations/", s.base);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let resp = agent
            .post(&url)
            .header("Authorization", &auth)
            .header("X-Forwarded-For", "203.0.113.9")
            .send_json(json!({"name": "via proxy"}))
            .expect("request");
        assert_eq!(resp.status().as_u16(), 201);
        let log = s
            .get(
                "/api/audit-logs/?action=organization_created",
                Some(&u.token),
            )
            .expect(200);
        assert_eq!(log["results"][0]["ip_address"], expect, "trusted: {env:?}");
    }
}

//! Joining an organization takes an invitation the invitee accepts: inviting tells the admin
//! nothing about accounts, the invitee sees nothing of the organization until they accept, and
//! nobody else can answer their invitation. Each refusal sits beside a positive control.

use crate::helpers::{Resp, TestServer, User};
use serde_json::{json, Value};

fn invite_body(s: &TestServer, admin: &User, email: &str) -> Resp {
    s.post(
        &format!("/api/organizations/{}/members/", admin.org),
        Some(&admin.token),
        json!({"email": email, "role": "editor"}),
    )
}

fn accept(s: &TestServer, user: &User, id: u64) -> Resp {
    s.post(
        &format!("/api/invitations/{id}/accept/"),
        Some(&user.token),
        json!({}),
    )
}

fn decline(s: &TestServer, user: &User, id: u64) -> Resp {
    s.post(
        &format!("/api/invitations/{id}/decline/"),
        Some(&user.token),
        json!({}),
    )
}

fn received(s: &TestServer, user: &User) -> Value {
    s.get("/api/invitations/", Some(&user.token)).expect(200)
}

/// A login, which sets the user's `last_login`.
fn log_in(s: &TestServer, u: &User) {
    s.post(
        "/api/auth/login/",
        None,
        json!({"email": u.email, "password": "correct horse battery"}),
    )
    .expect(200);
}

/// The answer's text with the values that must differ (ids, times, the email itself) blanked.
fn without_ids_and_times(r: &Resp) -> String {
    let mut text = r.text.clone();
    for field in ["id", "created_at", "expires_at", "email"] {
        let value = r.body[field].to_string();
        text = text.replace(
            &format!("\"{field}\":{value}"),
            &format!("\"{field}\":\"*\""),
        );
    }
    text
}

#[test]
fn inviting_answers_the_same_whether_or_not_the_email_has_an_account() {
    let s = TestServer::start();
    let admin = s.register("admin");
    let carol = s.register("carol");
    log_in(&s, &carol);
    // Same length as carol@example.com, so even the byte counts can be compared.
    let existing = invite_body(&s, &admin, &carol.email);
    let missing = invite_body(&s, &admin, "nomad@example.com");
    assert_eq!(existing.status, 201, "{}", existing.text);
    assert_eq!(missing.status, existing.status);
    assert_eq!(
        missing.header("content-type"),
        existing.header("content-type")
    );
    assert_eq!(
        without_ids_and_times(&existing),
        without_ids_and_times(&missing)
    );
    assert_eq!(existing.text.len(), missing.text.len());
    let mut fields: Vec<&String> = existing.body.as_object().expect("object").keys().collect();
    fields.sort();
    let want = [
        "created_at",
        "email",
        "expires_at",
        "id",
        "invited_by_name",
        "role",
        "status",
    ];
    assert_eq!(fields, want, "nothing about the account: {}", existing.text);
    assert_eq!(existing.body["status"], "pending");
    assert!(!existing.text.contains("last_login"));

    // The audit entries of both invitations read alike too.
    let log = s
        .get(
            "/api/audit-logs/?action=invitation_created",
            Some(&admin.token),
        )
        .expect(200);
    assert_eq!(log["count"], 2);
    let details: Vec<Vec<&String>> = log["results"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["details"].as_object().expect("details").keys().collect())
        .collect();
    assert_eq!(details[0], details[1], "{log}");
}

#[test]
fn the_invitee_sees_nothing_of_the_organization_until_accepting() {
    let s = TestServer::start();
    let (admin, project, _) = s.user_with_env("admin");
    let bob = s.register("bob");
    let invited = invite_body(&s, &admin, &bob.email).expect(201);
    let id = invited["id"].as_u64().expect("id");
    let t = Some(bob.token.as_str());
    // Invited is not a member: the organization reads as missing.
    s.get(&format!("/api/projects/{project}/"), t)
        .expect_error(404, "not_found");
    s.get(&format!("/api/organizations/{}/", admin.org), t)
        .expect_error(404, "not_found");
    s.get(&format!("/api/organizations/{}/members/", admin.org), t)
        .expect_error(404, "not_found");
    // What the invitee sees: who asks, for which organization and role, until when.
    let mine = received(&s, &bob);
    assert_eq!(mine["count"], 1, "{mine}");
    let r = &mine["results"][0];
    assert_eq!(r["id"], id);
    assert_eq!(r["organization"], admin.org);
    assert_eq!(r["organization_name"], "admin's Organization");
    assert_eq!(r["invited_by_name"], "admin");
    assert_eq!(r["role"], "editor");
    assert_eq!(r["expires_at"], invited["expires_at"]);

    let org = accept(&s, &bob, id).expect(200);
    assert_eq!(org["id"], admin.org);
    assert_eq!(org["user_role"], "editor");
    assert_eq!(org["member_count"], 2);
    s.get(&format!("/api/projects/{project}/"), t).expect(200);
    assert_eq!(received(&s, &bob)["count"], 0, "an accepted one is gone");
    accept(&s, &bob, id).expect_error(404, "not_found");
    let log = s
        .get(
            "/api/audit-logs/?action=invitation_accepted",
            Some(&admin.token),
        )
        .expect(200);
    assert_eq!(log["count"], 1);
    assert_eq!(log["results"][0]["user_email"], bob.email);
    assert_eq!(log["results"][0]["details"]["role"], "editor");
}

#[test]
fn declining_leaves_the_invitee_out() {
    let s = TestServer::start();
    let (admin, project, _) = s.user_with_env("admin");
    let dan = s.register("dan");
    let id = s.invite(&admin, admin.org, &dan.email, "viewer");
    decline(&s, &dan, id).expect(204);
    s.get(&format!("/api/projects/{project}/"), Some(&dan.token))
        .expect_error(404, "not_found");
    assert_eq!(received(&s, &dan)["count"], 0);
    accept(&s, &dan, id).expect_error(404, "not_found");
    let pending = s
        .get(
            &format!("/api/organizations/{}/invitations/", admin.org),
            Some(&admin.token),
        )
        .expect(200);
    assert_eq!(pending["count"], 0);
    let log = s
        .get(
            "/api/audit-logs/?action=invitation_declined",
            Some(&admin.token),
        )
        .expect(200);
    assert_eq!(log["count"], 1);
    // Positive control: invited again, dan can accept.
    let again = s.invite(&admin, admin.org, &dan.email, "viewer");
    accept(&s, &dan, again).expect(200);
    s.get(&format!("/api/projects/{project}/"), Some(&dan.token))
        .expect(200);
}

#[test]
fn nobody_else_can_accept_or_decline_someone_elses_invitation() {
    let s = TestServer::start();
    let (admin, project, env) = s.user_with_env("admin");
    let bob = s.register("bob");
    let mallory = s.register("mallory");
    let id = s.invite(&admin, admin.org, &bob.email, "admin");
    let missing = accept(&s, &mallory, 999_999).expect_error(404, "not_found");
    let theirs = accept(&s, &mallory, id).expect_error(404, "not_found");
    assert_eq!(
        theirs["details"], missing["details"],
        "reads as a missing id"
    );
    assert_eq!(theirs["error"], missing["error"]);
    decline(&s, &mallory, id).expect_error(404, "not_found");
    assert_eq!(received(&s, &mallory)["count"], 0);
    // The admin who sent it cannot answer it either, nor can a service token.
    accept(&s, &admin, id).expect_error(404, "not_found");
    let tok = s
        .post(
            &format!("/api/environments/{env}/service-tokens/"),
            Some(&admin.token),
            json!({"name": "ci", "access": "read_write"}),
        )
        .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    s.get("/api/invitations/", Some(&tok))
        .expect_error(403, "permission_denied");
    s.post(
        &format!("/api/invitations/{id}/accept/"),
        Some(&tok),
        json!({}),
    )
    .expect_error(403, "permission_denied");
    s.get(&format!("/api/projects/{project}/"), Some(&mallory.token))
        .expect_error(404, "not_found");
    // Positive control: bob, whose invitation it is, still can.
    assert_eq!(received(&s, &bob)["count"], 1);
    accept(&s, &bob, id).expect(200);
}

#[test]
fn revoked_and_expired_invitations_cannot_be_accepted() {
    let s = TestServer::start();
    let admin = s.register("admin");
    let bob = s.register("bob");
    let carol = s.register("carol");
    let list = format!("/api/organizations/{}/invitations/", admin.org);
    let t = Some(admin.token.as_str());

    let revoked = s.invite(&admin, admin.org, &bob.email, "viewer");
    s.delete(&format!("{list}{revoked}/"), t).expect(204);
    assert_eq!(received(&s, &bob)["count"], 0);
    accept(&s, &bob, revoked).expect_error(404, "not_found");
    s.delete(&format!("{list}{revoked}/"), t)
        .expect_error(404, "not_found");

    let expired = s
        .post(
            &format!("/api/organizations/{}/members/", admin.org),
            t,
            json!({"email": carol.email, "expires_in_days": 0.00001}),
        )
        .expect(201)["id"]
        .as_u64()
        .expect("id");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(received(&s, &carol)["count"], 0);
    accept(&s, &carol, expired).expect_error(404, "not_found");
    decline(&s, &carol, expired).expect_error(404, "not_found");
    let sent = s.get(&list, t).expect(200);
    assert_eq!(sent["count"], 1);
    assert_eq!(sent["results"][0]["status"], "expired");
    let log = s
        .get("/api/audit-logs/?action=invitation_revoked", t)
        .expect(200);
    assert_eq!(log["count"], 1);
    assert_eq!(log["results"][0]["details"]["email"], bob.email);

    // Positive controls: invited again (the expired one makes way), both can accept.
    let again = s.invite(&admin, admin.org, &carol.email, "viewer");
    let sent = s.get(&list, t).expect(200);
    assert_eq!(sent["count"], 1);
    assert_eq!(sent["results"][0]["status"], "pending");
    accept(&s, &carol, again).expect(200);
    let again = s.invite(&admin, admin.org, &bob.email, "viewer");
    accept(&s, &bob, again).expect(200);
    s.post(
        &format!("/api/organizations/{}/members/", admin.org),
        t,
        json!({"email": "x@example.com", "expires_in_days": 31}),
    )
    .expect_error(400, "validation_failed");
}

#[test]
fn someone_who_registers_later_with_the_invited_email_sees_the_invitation() {
    let s = TestServer::start();
    let admin = s.register("admin");
    // Emails match case-insensitively.
    let id = s.invite(&admin, admin.org, "Late@Example.COM", "editor");
    let early = s.register("early");
    assert_eq!(received(&s, &early)["count"], 0, "not for anyone else");
    let late = s.register("late");
    let mine = received(&s, &late);
    assert_eq!(mine["count"], 1, "{mine}");
    assert_eq!(mine["results"][0]["id"], id);
    accept(&s, &late, id).expect(200);
    let members = s
        .get(
            &format!("/api/organizations/{}/members/", admin.org),
            Some(&admin.token),
        )
        .expect(200);
    assert_eq!(members["count"], 2);
}

#[test]
fn member_listings_show_no_last_login_of_anyone() {
    let s = TestServer::start();
    let admin = s.register("admin");
    let bob = s.register("bob");
    s.add_member(&admin, admin.org, &bob, "viewer");
    log_in(&s, &bob);
    log_in(&s, &admin);
    for who in [&admin, &bob] {
        let r = s.get(
            &format!("/api/organizations/{}/members/", admin.org),
            Some(&who.token),
        );
        assert!(!r.text.contains("last_login"), "{}", r.text);
        assert!(!r.text.contains("date_joined"), "{}", r.text);
        let list = r.expect(200);
        assert_eq!(list["count"], 2);
        assert!(list["results"][1]["joined_at"].is_string());
    }
    // Positive control: one's own profile still shows one's own last login.
    let me = s.get("/api/auth/profile/", Some(&bob.token)).expect(200);
    assert!(me["last_login"].is_string());
}

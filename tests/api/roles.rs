use crate::helpers::{TestServer, User};
use serde_json::{json, Value};

struct Fixture {
    org: u64,
    project: u64,
    env: u64,
    var: u64,
}

/// One request of the matrix, built fresh for each role (so deletes have something to delete).
type Build = fn(&TestServer, &User, &Fixture, &str) -> (&'static str, String, Value);

#[test]
fn role_matrix_on_every_endpoint() {
    let s = TestServer::start();
    let admin = s.register("admin");
    let editor = s.register("editor");
    let viewer = s.register("viewer");
    let outsider = s.register("outsider");
    s.add_member(&admin, admin.org, &editor, "editor");
    s.add_member(&admin, admin.org, &viewer, "viewer");
    let project = s.project(&admin, admin.org, "web");
    let env = s.env(&admin, project, "production");
    let var = s.var(&admin, env, "SECRET", "s3cret");
    let fx = Fixture {
        org: admin.org,
        project,
        env,
        var,
    };

    // (what, request builder, expected status for admin, editor, viewer, outsider)
    let cases: Vec<(&str, Build, [u16; 4])> = vec![
        (
            "get org",
            |_, _, f, _| ("GET", format!("/api/organizations/{}/", f.org), Value::Null),
            [200, 200, 200, 404],
        ),
        (
            "patch org",
            |_, _, f, _| {
                (
                    "PATCH",
                    format!("/api/organizations/{}/", f.org),
                    json!({"description": "d"}),
                )
            },
            // Changing the organization itself is admin-only, as the README's role table says.
            [200, 403, 403, 404],
        ),
        (
            "list members",
            |_, _, f, _| {
                (
                    "GET",
                    format!("/api/organizations/{}/members/", f.org),
                    Value::Null,
                )
            },
            [200, 200, 200, 404],
        ),
        (
            "invite an account's email",
            |s, _, f, role| {
                let extra = s.register(&format!("extra_{role}"));
                (
                    "POST",
                    format!("/api/organizations/{}/members/", f.org),
                    json!({"email": extra.email}),
                )
            },
            [201, 403, 403, 404],
        ),
        (
            "invite an email without an account",
            |_, _, f, role| {
                (
                    "POST",
                    format!("/api/organizations/{}/members/", f.org),
                    json!({"email": format!("nobody_{role}@example.com")}),
                )
            },
            [201, 403, 403, 404],
        ),
        (
            "change a member's role",
            |s, a, f, role| {
                let m = s.register(&format!("promoted_{role}"));
                s.add_member(a, f.org, &m, "viewer");
                (
                    "PATCH",
                    format!("/api/organizations/{}/members/{}/", f.org, m.id),
                    json!({"role": "editor"}),
                )
            },
            [200, 403, 403, 404],
        ),
        (
            "remove another member",
            |s, a, f, role| {
                let m = s.register(&format!("removed_{role}"));
                s.add_member(a, f.org, &m, "viewer");
                (
                    "DELETE",
                    format!("/api/organizations/{}/members/{}/", f.org, m.id),
                    Value::Null,
                )
            },
            [204, 403, 403, 404],
        ),
        (
            "list the organization's invitations",
            |_, _, f, _| {
                (
                    "GET",
                    format!("/api/organizations/{}/invitations/", f.org),
                    Value::Null,
                )
            },
            [200, 403, 403, 404],
        ),
        (
            "revoke an invitation",
            |s, a, f, role| {
                let i = s.invite(a, f.org, &format!("revoked_{role}@example.com"), "viewer");
                (
                    "DELETE",
                    format!("/api/organizations/{}/invitations/{i}/", f.org),
                    Value::Null,
                )
            },
            [204, 403, 403, 404],
        ),
        (
            "list one's own invitations",
            |_, _, _, _| ("GET", "/api/invitations/".into(), Value::Null),
            [200, 200, 200, 200],
        ),
        (
            "get project",
            |_, _, f, _| ("GET", format!("/api/projects/{}/", f.project), Value::Null),
            [200, 200, 200, 404],
        ),
        (
            "create project",
            |_, _, f, role| {
                (
                    "POST",
                    "/api/projects/".into(),
                    json!({"name": role, "organization": f.org}),
                )
            },
            [201, 201, 403, 404],
        ),
        (
            "patch project",
            |_, _, f, _| {
                (
                    "PATCH",
                    format!("/api/projects/{}/", f.project),
                    json!({"description": "d"}),
                )
            },
            [200, 200, 403, 404],
        ),
        (
            "delete project",
            |s, a, f, role| {
                let p = s.project(a, f.org, &format!("doomed {role}"));
                ("DELETE", format!("/api/projects/{p}/"), Value::Null)
            },
            [204, 403, 403, 404],
        ),
        (
            "list project envs",
            |_, _, f, _| {
                (
                    "GET",
                    format!("/api/projects/{}/environments/", f.project),
                    Value::Null,
                )
            },
            [200, 200, 200, 404],
        ),
        (
            "get env",
            |_, _, f, _| ("GET", format!("/api/environments/{}/", f.env), Value::Null),
            [200, 200, 200, 404],
        ),
        (
            "create env",
            |_, _, f, role| {
                (
                    "POST",
                    "/api/environments/".into(),
                    json!({"name": role, "project": f.project}),
                )
            },
            [201, 201, 403, 404],
        ),
        (
            "patch env",
            |_, _, f, _| {
                (
                    "PATCH",
                    format!("/api/environments/{}/", f.env),
                    json!({"description": "d"}),
                )
            },
            [200, 200, 403, 404],
        ),
        (
            "delete env",
            |s, a, f, role| {
                let e = s.env(a, f.project, &format!("doomed {role}"));
                ("DELETE", format!("/api/environments/{e}/"), Value::Null)
            },
            [204, 403, 403, 404],
        ),
        (
            "list vars",
            |_, _, f, _| {
                (
                    "GET",
                    format!("/api/environments/{}/variables/", f.env),
                    Value::Null,
                )
            },
            [200, 200, 200, 404],
        ),
        (
            "get var",
            |_, _, f, _| ("GET", format!("/api/variables/{}/", f.var), Value::Null),
            [200, 200, 200, 404],
        ),
        (
            "create var",
            |_, _, f, role| {
                (
                    "POST",
                    "/api/variables/".into(),
                    json!({"key": role.to_uppercase(), "value": "v", "environment": f.env}),
                )
            },
            [201, 201, 403, 404],
        ),
        (
            "patch var",
            |_, _, f, _| {
                (
                    "PATCH",
                    format!("/api/variables/{}/", f.var),
                    json!({"value": "s3cret"}),
                )
            },
            [200, 200, 403, 404],
        ),
        (
            "delete var",
            |s, a, f, role| {
                let v = s.var(a, f.env, &format!("DOOMED_{}", role.to_uppercase()), "v");
                ("DELETE", format!("/api/variables/{v}/"), Value::Null)
            },
            [204, 204, 403, 404],
        ),
        (
            "delete org",
            |_, _, f, _| {
                (
                    "DELETE",
                    format!("/api/organizations/{}/", f.org),
                    Value::Null,
                )
            },
            [204, 403, 403, 404],
        ),
    ];
    // Admin last: its "delete org" would end the matrix for the others.
    let roles = [
        (3, "outsider", &outsider),
        (2, "viewer", &viewer),
        (1, "editor", &editor),
        (0, "admin", &admin),
    ];
    for (col, role, user) in roles {
        for (what, build, expect) in &cases {
            let (method, path, body) = build(&s, &admin, &fx, role);
            let t = Some(user.token.as_str());
            let r = match method {
                "GET" => s.get(&path, t),
                "DELETE" => s.delete(&path, t),
                m => s.send(m, &path, t, body.to_string().as_bytes()),
            };
            assert_eq!(
                r.status, expect[col],
                "{role} {what} ({method} {path}): {}",
                r.text
            );
        }
    }
}

#[test]
fn viewers_never_receive_a_value() {
    let s = TestServer::start();
    let (admin, _, env) = s.user_with_env("adm");
    let viewer = s.register("view");
    let editor = s.register("edit");
    s.add_member(&admin, admin.org, &viewer, "viewer");
    s.add_member(&admin, admin.org, &editor, "editor");
    let var = s.var(&admin, env, "TOKEN", "hidden-from-viewers");
    let list = s
        .get(
            &format!("/api/environments/{env}/variables/"),
            Some(&viewer.token),
        )
        .expect(200);
    assert!(list["results"][0]["decrypted_value"].is_null());
    assert_eq!(list["results"][0]["key"], "TOKEN");
    let one = s.get(&format!("/api/variables/{var}/"), Some(&viewer.token));
    assert!(!one.text.contains("hidden-from-viewers"));
    assert!(one.expect(200)["decrypted_value"].is_null());
    let one = s
        .get(&format!("/api/variables/{var}/"), Some(&editor.token))
        .expect(200);
    assert_eq!(one["decrypted_value"], "hidden-from-viewers");
}

#[test]
fn two_tenants_cannot_see_or_touch_each_others_records_by_any_id() {
    let s = TestServer::start();
    let (a, project, env) = s.user_with_env("alice");
    let var = s.var(&a, env, "ALICE_KEY", "alice-secret");
    let b = s.register("bob");
    let t = Some(b.token.as_str());
    let missing = s
        .get("/api/projects/999999/", t)
        .expect_error(404, "not_found");
    let paths = [
        format!("/api/organizations/{}/", a.org),
        format!("/api/organizations/{}/members/", a.org),
        format!("/api/projects/{project}/"),
        format!("/api/projects/{project}/environments/"),
        format!("/api/environments/{env}/"),
        format!("/api/environments/{env}/variables/"),
        format!("/api/variables/{var}/"),
        format!("/api/projects/?organization={}", a.org),
        format!("/api/environments/?project={project}"),
    ];
    for path in &paths {
        let r = s.get(path, t);
        assert!(!r.text.contains("alice"), "{path} leaks: {}", r.text);
        r.expect_error(404, "not_found");
    }
    // A project that exists elsewhere reads exactly like one that does not exist.
    let theirs = s.get(&format!("/api/projects/{project}/"), t).expect(404);
    assert_eq!(theirs["details"], missing["details"]);
    for path in &paths[..7] {
        if !path.contains("members")
            && !path.ends_with("environments/")
            && !path.ends_with("variables/")
        {
            s.patch(
                path,
                t,
                json!({"name": "pwned", "description": "x", "value": "x"}),
            )
            .expect_error(404, "not_found");
            s.delete(path, t).expect_error(404, "not_found");
        }
    }
    s.post(
        "/api/projects/",
        t,
        json!({"name": "x", "organization": a.org}),
    )
    .expect_error(404, "not_found");
    s.post(
        "/api/environments/",
        t,
        json!({"name": "x", "project": project}),
    )
    .expect_error(404, "not_found");
    s.post(
        "/api/variables/",
        t,
        json!({"key": "X", "value": "x", "environment": env}),
    )
    .expect_error(404, "not_found");
    assert_eq!(s.get("/api/projects/", t).expect(200)["count"], 0);
    assert_eq!(s.get("/api/environments/", t).expect(200)["count"], 0);
    assert_eq!(s.get("/api/organizations/", t).expect(200)["count"], 1);
    // Nothing of Alice's changed.
    let v = s
        .get(&format!("/api/variables/{var}/"), Some(&a.token))
        .expect(200);
    assert_eq!(v["decrypted_value"], "alice-secret");
    assert_eq!(
        s.get(&format!("/api/projects/{project}/"), Some(&a.token))
            .expect(200)["name"],
        "web"
    );
}

#[test]
fn membership_rules_hold() {
    let s = TestServer::start();
    let (admin, project, _) = s.user_with_env("boss");
    let member = s.register("member");
    let org = admin.org;
    let members = format!("/api/organizations/{org}/members/");
    let t = Some(admin.token.as_str());
    // The last admin can be neither demoted nor removed.
    s.patch(
        &format!("{members}{}/", admin.id),
        t,
        json!({"role": "viewer"}),
    )
    .expect_error(409, "conflict");
    s.delete(&format!("{members}{}/", admin.id), t)
        .expect_error(409, "conflict");
    // Inviting: an admin gets the same answer for any email; a member's email is a conflict
    // (admins see their members), a pending invitation too; non-admins are refused first.
    s.post(&members, t, json!({"email": "ghost@example.com"}))
        .expect(201);
    let invited = s
        .post(&members, t, json!({"email": member.email}))
        .expect(201);
    assert_eq!(invited["role"], "viewer", "default role");
    assert_eq!(invited["status"], "pending");
    s.post(&members, t, json!({"email": member.email}))
        .expect_error(409, "conflict");
    let id = invited["id"].as_u64().expect("id");
    s.post(
        &format!("/api/invitations/{id}/accept/"),
        Some(&member.token),
        json!({}),
    )
    .expect(200);
    s.post(&members, t, json!({"email": member.email.to_uppercase()}))
        .expect_error(409, "conflict");
    s.post(
        &members,
        Some(&member.token),
        json!({"email": "ghost@example.com"}),
    )
    .expect_error(403, "permission_denied");
    s.post(
        &members,
        t,
        json!({"email": "new@example.com", "role": "owner"}),
    )
    .expect_error(400, "validation_failed");
    let list = s.get(&members, Some(&member.token)).expect(200);
    assert_eq!(list["count"], 2);
    for f in ["id", "username", "email", "full_name", "role", "joined_at"] {
        assert!(list["results"][0].get(f).is_some(), "member lacks {f}");
    }
    assert!(
        !list.to_string().contains("last_login"),
        "no member's last login is shown to the others: {list}"
    );
    // A second admin makes the first removable; a removed member gets 404 at once.
    s.patch(
        &format!("{members}{}/", member.id),
        t,
        json!({"role": "admin"}),
    )
    .expect(200);
    s.patch(
        &format!("{members}{}/", admin.id),
        t,
        json!({"role": "editor"}),
    )
    .expect(200);
    s.delete(&format!("{members}{}/", admin.id), Some(&member.token))
        .expect(204);
    s.get(&format!("/api/projects/{project}/"), t)
        .expect_error(404, "not_found");
    // Leaving: a member may remove themselves.
    let leaver = s.register("leaver");
    s.add_member(&member, org, &leaver, "editor");
    s.delete(&format!("{members}{}/", leaver.id), Some(&leaver.token))
        .expect(204);
    s.get(&format!("/api/organizations/{org}/"), Some(&leaver.token))
        .expect_error(404, "not_found");
}

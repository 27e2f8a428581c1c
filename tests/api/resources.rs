use crate::helpers::TestServer;
use serde_json::json;

#[test]
fn organizations_projects_environments_variables_walkthrough() {
    let s = TestServer::start();
    let u = s.register("john");
    let t = Some(u.token.as_str());

    let org = s
        .post(
            "/api/organizations/",
            t,
            json!({"name": "Acme Corp", "description": "Main"}),
        )
        .expect(201);
    assert_eq!(org["user_role"], "admin");
    assert_eq!(
        (org["member_count"].as_u64(), org["project_count"].as_u64()),
        (Some(1), Some(0))
    );
    let org_id = org["id"].as_u64().expect("id");
    let patched = s
        .patch(
            &format!("/api/organizations/{org_id}/"),
            t,
            json!({"description": "New"}),
        )
        .expect(200);
    assert_eq!(
        (patched["name"].as_str(), patched["description"].as_str()),
        (Some("Acme Corp"), Some("New"))
    );
    assert_eq!(s.get("/api/organizations/", t).expect(200)["count"], 2);

    let p = s
        .post("/api/projects/", t, json!({"name": "Web Application", "description": "Main web app", "organization": org_id}))
        .expect(201);
    let pid = p["id"].as_u64().expect("id");
    assert_eq!(p["organization_name"], "Acme Corp");
    assert_eq!(p["created_by_name"], "john");
    assert_eq!(p["environment_count"], 0);
    let p = s
        .patch(
            &format!("/api/projects/{pid}/"),
            t,
            json!({"description": "Updated"}),
        )
        .expect(200);
    assert_eq!(
        (p["name"].as_str(), p["description"].as_str()),
        (Some("Web Application"), Some("Updated"))
    );

    let e = s
        .post("/api/environments/", t, json!({"name": "staging", "project": pid, "environment_type": "staging", "description": "d"}))
        .expect(201);
    let eid = e["id"].as_u64().expect("id");
    assert_eq!(
        (e["project_name"].as_str(), e["environment_type"].as_str()),
        (Some("Web Application"), Some("staging"))
    );
    s.get(&format!("/api/environments/{eid}/"), t).expect(200);
    let e = s
        .patch(
            &format!("/api/environments/{eid}/"),
            t,
            json!({"environment_type": "production"}),
        )
        .expect(200);
    assert_eq!(e["environment_type"], "production");

    let v = s
        .post(
            "/api/variables/",
            t,
            json!({"key": "API_KEY", "value": "sk_live_abcd", "environment": eid}),
        )
        .expect(201);
    let vid = v["id"].as_u64().expect("id");
    assert_eq!(
        (
            v["decrypted_value"].as_str(),
            v["environment_name"].as_str()
        ),
        (Some("sk_live_abcd"), Some("staging"))
    );
    let v = s
        .patch(
            &format!("/api/variables/{vid}/"),
            t,
            json!({"value": "new_secret_value"}),
        )
        .expect(200);
    assert_eq!(v["decrypted_value"], "new_secret_value");
    assert_eq!(
        s.get(&format!("/api/variables/{vid}/"), t).expect(200)["decrypted_value"],
        "new_secret_value"
    );

    assert_eq!(
        s.get(&format!("/api/projects/{pid}/"), t).expect(200)["environment_count"],
        1
    );
    assert_eq!(
        s.get(&format!("/api/environments/{eid}/"), t).expect(200)["variable_count"],
        1
    );
    assert_eq!(
        s.get(&format!("/api/organizations/{org_id}/"), t)
            .expect(200)["project_count"],
        1
    );
    let envs = s
        .get(&format!("/api/projects/{pid}/environments/"), t)
        .expect(200);
    assert_eq!(envs["count"], 1);

    s.delete(&format!("/api/variables/{vid}/"), t).expect(204);
    s.get(&format!("/api/variables/{vid}/"), t)
        .expect_error(404, "not_found");
    s.delete(&format!("/api/environments/{eid}/"), t)
        .expect(204);
    s.delete(&format!("/api/projects/{pid}/"), t).expect(204);
    s.get(&format!("/api/projects/{pid}/"), t)
        .expect_error(404, "not_found");
}

#[test]
fn values_are_kept_byte_exact() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("val");
    let t = Some(u.token.as_str());
    let max = "v".repeat(64 * 1024);
    let values = [
        "",
        "  padded  ",
        "multi\nline\r\nvalue\n",
        "ünïcødé ✓ 秘密",
        "quote\"s 'and' \\back",
        "a=b#c $HOME",
        &max,
    ];
    for (i, value) in values.iter().enumerate() {
        let id = s.var(&u, env, &format!("K{i}"), value);
        let got = s.get(&format!("/api/variables/{id}/"), t).expect(200);
        assert_eq!(got["decrypted_value"].as_str(), Some(*value), "value {i}");
    }
    let over = "v".repeat(64 * 1024 + 1);
    let err = s
        .post(
            "/api/variables/",
            t,
            json!({"key": "BIG", "value": over, "environment": env}),
        )
        .expect_error(400, "validation_failed");
    assert!(err["details"]["value"].is_array());
}

#[test]
fn keys_are_validated_and_unique_per_environment() {
    let s = TestServer::start();
    let (u, project, env) = s.user_with_env("keys");
    let t = Some(u.token.as_str());
    for bad in ["1ABC", "A-B", "A B", "", "É"] {
        s.post(
            "/api/variables/",
            t,
            json!({"key": bad, "value": "v", "environment": env}),
        )
        .expect_error(400, "validation_failed");
    }
    s.post(
        "/api/variables/",
        t,
        json!({"key": &"K".repeat(256), "value": "v", "environment": env}),
    )
    .expect_error(400, "validation_failed");
    s.var(&u, env, &"K".repeat(255), "v");
    let id = s.var(&u, env, "DUP", "v");
    s.post(
        "/api/variables/",
        t,
        json!({"key": "DUP", "value": "w", "environment": env}),
    )
    .expect_error(409, "conflict");
    // The same key in another environment is fine; renaming onto an existing key is not.
    let other = s.env(&u, project, "staging");
    s.var(&u, other, "DUP", "v");
    s.var(&u, env, "OTHER", "v");
    s.patch(&format!("/api/variables/{id}/"), t, json!({"key": "OTHER"}))
        .expect_error(409, "conflict");
    // Environment names are unique within a project.
    s.post(
        "/api/environments/",
        t,
        json!({"name": "Staging", "project": project}),
    )
    .expect_error(409, "conflict");
}

#[test]
fn patch_cannot_move_a_record_to_another_container() {
    let s = TestServer::start();
    let (u, project, env) = s.user_with_env("mover");
    let t = Some(u.token.as_str());
    let org2 = s
        .post("/api/organizations/", t, json!({"name": "Other"}))
        .expect(201)["id"]
        .as_u64()
        .expect("id");
    let project2 = s.project(&u, org2, "other");
    let env2 = s.env(&u, project, "staging");
    let var = s.var(&u, env, "K", "v");
    let cases = [
        (
            format!("/api/projects/{project}/"),
            json!({"organization": org2}),
            "organization",
        ),
        (
            format!("/api/environments/{env}/"),
            json!({"project": project2}),
            "project",
        ),
        (
            format!("/api/variables/{var}/"),
            json!({"environment": env2}),
            "environment",
        ),
    ];
    for (path, body, field) in cases {
        let err = s
            .patch(&path, t, body)
            .expect_error(400, "validation_failed");
        assert!(err["details"][field].is_array(), "{path}: {err}");
    }
    assert_eq!(
        s.get(&format!("/api/variables/{var}/"), t).expect(200)["environment"],
        env
    );
    // Naming the container it already has is not a move.
    s.patch(
        &format!("/api/variables/{var}/"),
        t,
        json!({"environment": env, "value": "w"}),
    )
    .expect(200);
}

#[test]
fn lists_paginate_with_absolute_links() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("pager");
    let t = Some(u.token.as_str());
    for i in 0..25 {
        s.var(&u, env, &format!("KEY_{i:02}"), "v");
    }
    let path = format!("/api/environments/{env}/variables/");
    let p1 = s.get(&path, t).expect(200);
    assert_eq!(p1["count"], 25);
    assert_eq!(p1["results"].as_array().expect("results").len(), 20);
    assert!(p1["previous"].is_null());
    let next = p1["next"].as_str().expect("next");
    assert_eq!(next, format!("{}{path}?page=2", s.base));
    let p2 = s.get(&format!("{path}?page=2"), t).expect(200);
    assert_eq!(p2["results"].as_array().expect("results").len(), 5);
    assert!(p2["next"].is_null());
    assert_eq!(
        p2["previous"].as_str(),
        Some(format!("{}{path}", s.base).as_str())
    );
    assert_eq!(p2["results"][0]["key"], "KEY_20", "ordered by id");
    s.get(&format!("{path}?page=3"), t)
        .expect_error(404, "not_found");
    let small = s.get(&format!("{path}?page_size=10&page=3"), t).expect(200);
    assert_eq!(small["results"].as_array().expect("results").len(), 5);
    assert_eq!(
        small["previous"].as_str(),
        Some(format!("{}{path}?page_size=10&page=2", s.base).as_str())
    );
    s.get(&format!("{path}?page_size=101"), t)
        .expect_error(400, "validation_failed");
    s.get(&format!("{path}?page=0"), t)
        .expect_error(400, "validation_failed");
    // Page 1 of an empty list exists.
    let empty = s.env(&u, s.project(&u, u.org, "p2"), "e");
    assert_eq!(
        s.get(&format!("/api/environments/{empty}/variables/"), t)
            .expect(200)["count"],
        0
    );
}

#[test]
fn project_and_environment_filters() {
    let s = TestServer::start();
    let u = s.register("filter");
    let t = Some(u.token.as_str());
    let org2 = s
        .post("/api/organizations/", t, json!({"name": "Second"}))
        .expect(201)["id"]
        .as_u64()
        .expect("id");
    let a = s.project(&u, u.org, "Alpha Web");
    let b = s.project(&u, org2, "Beta");
    let c = s.project(&u, u.org, "Gamma");
    s.patch(
        &format!("/api/projects/{c}/"),
        t,
        json!({"description": "the WEB frontend"}),
    )
    .expect(200);

    let all = s.get("/api/projects/", t).expect(200);
    let ids: Vec<u64> = all["results"]
        .as_array()
        .expect("r")
        .iter()
        .map(|p| p["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(
        ids,
        vec![a, b, c],
        "merged across organizations in id order"
    );
    let page2 = s.get("/api/projects/?page_size=2&page=2", t).expect(200);
    assert_eq!(page2["results"][0]["id"], c);
    assert_eq!(page2["count"], 3);

    let web = s.get("/api/projects/?search=web", t).expect(200);
    let ids: Vec<u64> = web["results"]
        .as_array()
        .expect("r")
        .iter()
        .map(|p| p["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(
        ids,
        vec![a, c],
        "search is case-insensitive over name and description"
    );
    assert_eq!(
        s.get(&format!("/api/projects/?organization={org2}"), t)
            .expect(200)["count"],
        1
    );

    s.env(&u, a, "dev");
    let prod = s
        .post(
            "/api/environments/",
            t,
            json!({"name": "prod", "project": b, "environment_type": "production"}),
        )
        .expect(201)["id"]
        .as_u64()
        .expect("id");
    assert_eq!(s.get("/api/environments/", t).expect(200)["count"], 2);
    let only = s
        .get("/api/environments/?environment_type=production", t)
        .expect(200);
    assert_eq!(
        (only["count"].as_u64(), only["results"][0]["id"].as_u64()),
        (Some(1), Some(prod))
    );
    assert_eq!(
        s.get(&format!("/api/environments/?project={a}"), t)
            .expect(200)["count"],
        1
    );
}

#[test]
fn deleting_an_organization_removes_everything_it_owns() {
    let s = TestServer::start();
    let u = s.register("owner");
    let t = Some(u.token.as_str());
    let org = s
        .post("/api/organizations/", t, json!({"name": "Doomed"}))
        .expect(201)["id"]
        .as_u64()
        .expect("id");
    let p = s.project(&u, org, "p");
    let e = s.env(&u, p, "e");
    let v = s.var(&u, e, "K", "v");
    s.delete(&format!("/api/organizations/{org}/"), t)
        .expect(204);
    for path in [
        format!("/api/organizations/{org}/"),
        format!("/api/projects/{p}/"),
        format!("/api/environments/{e}/"),
        format!("/api/variables/{v}/"),
        format!("/api/environments/{e}/variables/"),
    ] {
        s.get(&path, t).expect_error(404, "not_found");
    }
    assert_eq!(s.get("/api/organizations/", t).expect(200)["count"], 1);
    assert_eq!(s.get("/api/projects/", t).expect(200)["count"], 0);
}

//! Quotas: one tenant cannot grow without bound. Each refusal is 403 `quota_exceeded`, changes
//! nothing, and leaves room for what fits.

use crate::helpers::TestServer;
use serde_json::json;

#[test]
fn quotas_on_variables_environments_and_organizations_refuse_what_does_not_fit() {
    let s = TestServer::start_with_env(&[
        ("KEYNEST_MAX_VARIABLES_PER_ENVIRONMENT", "2"),
        ("KEYNEST_MAX_ENVIRONMENTS_PER_PROJECT", "2"),
        ("KEYNEST_MAX_ORGANIZATIONS_PER_USER", "2"),
    ]);
    let (u, project, env) = s.user_with_env("quota");
    let t = Some(u.token.as_str());
    s.var(&u, env, "A", "1");
    s.var(&u, env, "B", "2");
    let third = json!({"key": "C", "value": "3", "environment": env});
    s.post("/api/variables/", t, third)
        .expect_error(403, "quota_exceeded");
    let import = json!({"data": "D=4\nE=5\n", "format": "env"});
    s.post(&format!("/api/environments/{env}/import/"), t, import)
        .expect_error(403, "quota_exceeded");
    let list = s
        .get(&format!("/api/environments/{env}/variables/"), t)
        .expect(200);
    assert_eq!(list["count"], 2, "nothing of the refused import landed");
    // Changing an existing value still works (positive control).
    let update = json!({"data": "A=changed\n", "format": "env"});
    s.post(&format!("/api/environments/{env}/import/"), t, update)
        .expect(200);

    s.env(&u, project, "staging");
    let third_env = json!({"name": "qa", "project": project});
    s.post("/api/environments/", t, third_env)
        .expect_error(403, "quota_exceeded");

    s.post("/api/organizations/", t, json!({"name": "second"}))
        .expect(201);
    s.post("/api/organizations/", t, json!({"name": "third"}))
        .expect_error(403, "quota_exceeded");
}

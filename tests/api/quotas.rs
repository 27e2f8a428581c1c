//! Quotas: one tenant cannot grow without bound. Each refusal is 403 `quota_exceeded`, changes
//! nothing, and leaves room for what fits.

use crate::helpers::TestServer;
use serde_json::json;

/// Concurrent creations and joins of one user, spread over `nodes` (one on sled, two on etcd):
/// exactly as many succeed as the organizations-per-user quota leaves room for.
pub(crate) fn racing_joins_stay_within_the_quota(nodes: &[TestServer]) {
    let s = &nodes[0];
    let u = s.register("joiner");
    let invitations: Vec<u64> = (0..3)
        .map(|i| {
            let admin = s.register(&format!("host{i}"));
            s.invite(&admin, admin.org, &u.email, "viewer")
        })
        .collect();
    let t = u.token.as_str();
    // The personal organization is one of 3: room for 2 of these 8.
    let answers: Vec<u16> = std::thread::scope(|scope| {
        let mut running = Vec::new();
        for i in 0..8usize {
            let node = &nodes[i % nodes.len()];
            let invitation = invitations.get(i / 3).filter(|_| i % 3 == 0).copied();
            running.push(scope.spawn(move || {
                match invitation {
                    Some(id) => {
                        node.post(
                            &format!("/api/invitations/{id}/accept/"),
                            Some(t),
                            json!({}),
                        )
                        .status
                    }
                    None => {
                        node.post(
                            "/api/organizations/",
                            Some(t),
                            json!({"name": format!("race {i}")}),
                        )
                        .status
                    }
                }
            }));
        }
        running
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let made = answers.iter().filter(|&&a| a == 200 || a == 201).count();
    assert_eq!(made, 2, "answers: {answers:?}");
    assert!(
        answers.iter().all(|&a| [200, 201, 403].contains(&a)),
        "answers: {answers:?}"
    );
    for node in nodes {
        let orgs = node.get("/api/organizations/", Some(t)).expect(200);
        assert_eq!(orgs["count"], 3, "{orgs}");
    }
}

#[test]
fn concurrent_creations_and_joins_never_pass_the_organizations_quota() {
    let s = TestServer::start_with_env(&[("KEYNEST_MAX_ORGANIZATIONS_PER_USER", "3")]);
    racing_joins_stay_within_the_quota(&[s]);
}

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

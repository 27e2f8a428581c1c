//! The change feed: an environment's listing and export answer an `ETag` and 304 to a client
//! that has the current one; the watch answers as soon as a durable change moves the revision,
//! with the permissions of reading the environment.

use crate::helpers::TestServer;
use serde_json::json;
use std::time::Duration;

fn with_etag(s: &TestServer, path: &str, token: &str, etag: &str) -> crate::helpers::Resp {
    let auth = format!("Token {token}");
    s.get_with(path, &[("Authorization", &auth), ("If-None-Match", etag)])
}

#[test]
fn listing_and_export_answer_304_until_the_environment_changes() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("poller");
    let t = Some(u.token.as_str());
    let var = s.var(&u, env, "A", "1");
    for path in [
        format!("/api/environments/{env}/variables/"),
        format!("/api/environments/{env}/export/?format=json"),
    ] {
        let first = s.get(&path, t);
        assert_eq!(first.status, 200);
        let etag = first.header("etag").expect("an ETag").to_string();
        let again = with_etag(&s, &path, &u.token, &etag);
        assert_eq!(again.status, 304, "{path}");
        assert!(again.text.is_empty());
        // Positive control: another ETag gets the body.
        assert_eq!(with_etag(&s, &path, &u.token, "\"0-0\"").status, 200);
        // A change moves the revision: the old ETag gets the new body.
        s.patch(
            &format!("/api/variables/{var}/"),
            t,
            json!({"value": path.len().to_string()}),
        )
        .expect(200);
        let changed = with_etag(&s, &path, &u.token, &etag);
        assert_eq!(changed.status, 200, "{path}");
        assert_ne!(changed.header("etag"), Some(etag.as_str()));
    }
}

#[test]
fn a_watch_answers_when_a_change_is_durable_and_otherwise_times_out() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("watcher");
    let t = Some(u.token.as_str());
    let now = s
        .get(
            &format!("/api/environments/{env}/watch/?revision=0&timeout=1"),
            t,
        )
        .expect(200);
    let revision = now["revision"].as_u64().expect("revision");
    assert_eq!(now["changed"], false, "a new environment is at revision 0");

    let r = s
        .get(
            &format!("/api/environments/{env}/watch/?revision={revision}&timeout=1"),
            t,
        )
        .expect(200);
    assert_eq!(
        r["changed"], false,
        "nothing changed: answered at its timeout"
    );

    let path = format!("/api/environments/{env}/watch/?revision={revision}&timeout=30");
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| s.get(&path, t).expect(200));
        std::thread::sleep(Duration::from_millis(300));
        s.var(&u, env, "NEW", "value");
        let r = waiting.join().expect("watch");
        // `changed: true` is only answered on a change; at its timeout it would say false.
        assert_eq!(
            r["changed"], true,
            "answered on the change, not the timeout"
        );
        assert!(r["revision"].as_u64().expect("revision") > revision);
    });

    // The permissions of reading the environment: an outsider gets 404, a service token for it
    // may watch.
    let other = s.register("outsider");
    s.get(
        &format!("/api/environments/{env}/watch/?timeout=1"),
        Some(&other.token),
    )
    .expect_error(404, "not_found");
    let token = s
        .post(
            &format!("/api/environments/{env}/service-tokens/"),
            t,
            json!({"name": "w"}),
        )
        .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    s.get(
        &format!("/api/environments/{env}/watch/?timeout=1"),
        Some(&token),
    )
    .expect(200);
    s.get(&format!("/api/environments/{env}/watch/?revision=x"), t)
        .expect_error(400, "validation_failed");
}

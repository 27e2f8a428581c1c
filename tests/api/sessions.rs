//! Login sessions, seen from outside: each login is one session, listed with when and from where
//! it was made and last used; one can be revoked, all can be logged out of, and idle and maximum
//! lifetimes (off by default) end them. Every refusal sits beside a request that still works.

use crate::helpers::{TestServer, User};
use keynest_actors::crypto::hash_token;
use serde_json::{json, Value};
use std::thread::sleep;
use std::time::Duration;

const SESSIONS: &str = "/api/auth/sessions/";
const PROFILE: &str = "/api/auth/profile/";

fn login(s: &TestServer, u: &User) -> String {
    s.post(
        "/api/auth/login/",
        None,
        json!({"email": u.email, "password": "correct horse battery"}),
    )
    .expect(200)["token"]
        .as_str()
        .expect("token")
        .to_string()
}

fn sessions(s: &TestServer, token: &str) -> Vec<Value> {
    s.get(SESSIONS, Some(token)).expect(200)["results"]
        .as_array()
        .expect("results")
        .clone()
}

/// The id of the session `token` is, as its own listing marks it.
fn own_id(s: &TestServer, token: &str) -> u64 {
    sessions(s, token)
        .iter()
        .find(|v| v["current"] == true)
        .and_then(|v| v["id"].as_u64())
        .expect("the current session is listed")
}

#[test]
fn two_logins_make_two_sessions_listed_newest_first_without_their_tokens() {
    let s = TestServer::start();
    let u = s.register("ann");
    let second = login(&s, &u);

    let r = s.get(SESSIONS, Some(&second));
    for secret in [&u.token, &second] {
        assert!(!r.text.contains(secret.as_str()), "a token is listed");
        let hash = hex(&hash_token(secret));
        assert!(!r.text.contains(&hash), "a token's hash is listed");
    }
    let body = r.expect(200);
    assert_eq!(body["count"], 2);
    let list = body["results"].as_array().expect("results");
    assert!(
        list[0]["id"].as_u64() > list[1]["id"].as_u64(),
        "newest first"
    );
    assert_eq!(list[0]["current"], true, "the login asking is the newest");
    assert_eq!(list[1]["current"], false);
    for v in list {
        for field in ["created_at", "last_used_at"] {
            assert!(v[field].as_str().expect(field).ends_with('Z'), "{v}");
        }
        assert_eq!(v["created_ip"], "127.0.0.1", "{v}");
        assert_eq!(v["last_used_ip"], "127.0.0.1", "{v}");
    }
    // Asked with the first token, the other one is current.
    let list = sessions(&s, &u.token);
    assert_eq!(list[0]["current"], false);
    assert_eq!(list[1]["current"], true);

    // Paginated like every list.
    let page = s
        .get(&format!("{SESSIONS}?page_size=1"), Some(&second))
        .expect(200);
    assert_eq!(page["count"], 2);
    assert_eq!(page["results"].as_array().map(Vec::len), Some(1));
    assert!(page["next"].as_str().expect("next").contains("page=2"));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn revoking_a_session_ends_it_at_once_and_leaves_the_other_working() {
    let s = TestServer::start();
    let u = s.register("bob");
    let second = login(&s, &u);
    let first = own_id(&s, &u.token);

    s.delete(&format!("{SESSIONS}{first}/"), Some(&second))
        .expect(204);
    s.get(PROFILE, Some(&u.token))
        .expect_error(401, "not_authenticated");
    s.get("/api/organizations/", Some(&u.token))
        .expect_error(401, "not_authenticated");
    s.get(PROFILE, Some(&second)).expect(200);
    s.get("/api/organizations/", Some(&second)).expect(200);
    let list = sessions(&s, &second);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["current"], true);
    s.delete(&format!("{SESSIONS}{first}/"), Some(&second))
        .expect_error(404, "not_found");

    let audit = s
        .get("/api/audit-logs/?action=session_revoked", Some(&second))
        .expect(200);
    assert_eq!(audit["count"], 1);
    assert_eq!(audit["results"][0]["target_id"], first);
}

#[test]
fn logout_ends_only_the_calling_session() {
    let s = TestServer::start();
    let u = s.register("cy");
    let second = login(&s, &u);
    s.post("/api/auth/logout/", Some(&second), json!({}))
        .expect(200);
    s.get(PROFILE, Some(&second))
        .expect_error(401, "not_authenticated");
    s.get(PROFILE, Some(&u.token)).expect(200);
    let list = sessions(&s, &u.token);
    assert_eq!(list.len(), 1, "the ended session is no longer listed");
}

#[test]
fn logout_all_ends_every_session_or_with_keep_current_every_other_one() {
    let s = TestServer::start();
    let u = s.register("dee");
    let (b, c) = (login(&s, &u), login(&s, &u));

    // A body that is there must say true or false; nothing is ended otherwise.
    s.post(
        "/api/auth/logout-all/",
        Some(&c),
        json!({"keep_current": "yes"}),
    )
    .expect_error(400, "validation_failed");
    s.get(PROFILE, Some(&u.token)).expect(200);

    let r = s
        .post(
            "/api/auth/logout-all/",
            Some(&c),
            json!({"keep_current": true}),
        )
        .expect(200);
    assert_eq!(r["revoked"], 2);
    for other in [&u.token, &b] {
        s.get(PROFILE, Some(other))
            .expect_error(401, "not_authenticated");
    }
    s.get(PROFILE, Some(&c)).expect(200);
    assert_eq!(sessions(&s, &c).len(), 1);

    let d = login(&s, &u);
    let r = s.send("POST", "/api/auth/logout-all/", Some(&c), b"");
    assert_eq!(r.expect(200)["revoked"], 2, "the caller's own session too");
    for gone in [&c, &d] {
        s.get(PROFILE, Some(gone))
            .expect_error(401, "not_authenticated");
    }
    assert_eq!(sessions(&s, &login(&s, &u)).len(), 1, "a new login works");
}

#[test]
fn another_users_session_id_is_not_found_exactly_like_a_missing_one() {
    let s = TestServer::start();
    let (eve, fay) = (s.register("eve"), s.register("fay"));
    let theirs = own_id(&s, &fay.token);
    let foreign = s
        .delete(&format!("{SESSIONS}{theirs}/"), Some(&eve.token))
        .expect_error(404, "not_found");
    let missing = s
        .delete(&format!("{SESSIONS}999999/"), Some(&eve.token))
        .expect_error(404, "not_found");
    assert_eq!(foreign["error"], missing["error"]);
    assert_eq!(foreign["details"], missing["details"]);
    s.get(PROFILE, Some(&fay.token)).expect(200);
    // Positive control: the owner can.
    s.delete(&format!("{SESSIONS}{theirs}/"), Some(&fay.token))
        .expect(204);
    s.get(PROFILE, Some(&fay.token))
        .expect_error(401, "not_authenticated");
}

/// Use `token` (a read that goes through the organization actor's session check too) every
/// `gap` for `times` times.
fn keep_using(s: &TestServer, token: &str, gap: Duration, times: u32) {
    for _ in 0..times {
        sleep(gap);
        s.get("/api/organizations/", Some(token)).expect(200);
    }
}

#[test]
fn with_an_idle_timeout_an_unused_session_is_refused_and_a_used_one_lives() {
    let s = TestServer::start_with_env(&[("KEYNEST_SESSION_IDLE_TIMEOUT", "2s")]);
    let u = s.register("gus");
    let used = login(&s, &u);
    keep_using(&s, &used, Duration::from_millis(600), 5);

    // Refused as expired, or as unknown once the sweep has deleted it: the wording is the unit
    // tests' (`accounts::sessions`), since the sweep may come first here.
    s.get(PROFILE, Some(&u.token))
        .expect_error(401, "not_authenticated");
    s.get(PROFILE, Some(&used)).expect(200);
    s.get("/api/organizations/", Some(&used)).expect(200);
}

#[test]
fn with_a_maximum_age_a_session_is_refused_however_much_it_is_used() {
    let s = TestServer::start_with_env(&[("KEYNEST_SESSION_MAX_AGE", "2s")]);
    let u = s.register("hal");
    keep_using(&s, &u.token, Duration::from_millis(300), 2);
    sleep(Duration::from_millis(2_000));
    s.get(PROFILE, Some(&u.token))
        .expect_error(401, "not_authenticated");
    // Positive control: a new login is a new session with its own two seconds.
    let fresh = login(&s, &u);
    s.get(PROFILE, Some(&fresh)).expect(200);
}

#[test]
fn by_default_sessions_do_not_expire() {
    let s = TestServer::start();
    let u = s.register("ivy");
    sleep(Duration::from_millis(2_500));
    s.get(PROFILE, Some(&u.token)).expect(200);
    s.get("/api/organizations/", Some(&u.token)).expect(200);
}

#[test]
fn expired_sessions_are_swept_out_of_the_listing_and_audited() {
    let s = TestServer::start_with_env(&[("KEYNEST_SESSION_IDLE_TIMEOUT", "2s")]);
    let u = s.register("jo");
    let used = login(&s, &u);
    assert_eq!(sessions(&s, &used).len(), 2, "positive control");
    // The sweep runs every second here; the idle one goes once two seconds have passed.
    // Polled (keeping `used` in use) a bounded number of times, not against a clock.
    let mut polls = 0;
    while sessions(&s, &used).len() != 1 {
        polls += 1;
        assert!(polls < 100, "never swept; log:\n{}", s.log());
        sleep(Duration::from_millis(400));
    }
    let audit = s
        .get("/api/audit-logs/?action=session_expired", Some(&used))
        .expect(200);
    assert_eq!(audit["count"], 1);
    s.get(PROFILE, Some(&u.token))
        .expect_error(401, "not_authenticated");
}

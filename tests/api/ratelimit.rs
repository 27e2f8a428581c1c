use crate::helpers::TestServer;
use serde_json::json;

fn limited() -> Vec<(&'static str, &'static str)> {
    vec![("KEYNEST_RATE_LIMIT", "on")]
}

#[test]
fn login_is_limited_per_address_and_a_spoofed_forwarded_for_does_not_help() {
    let s = TestServer::start_with_env(&limited());
    let body = json!({"email": "nobody@example.com", "password": "wrong password"}).to_string();
    for i in 0..5 {
        let fake = format!("198.51.100.{i}");
        let r = s.send_as(
            "POST",
            "/api/auth/login/",
            None,
            "application/json",
            &[("X-Forwarded-For", &fake)],
            body.as_bytes(),
        );
        assert_eq!(r.status, 401, "attempt {i}");
        assert!(r.header("x-ratelimit-limit").is_some());
    }
    let r = s.send_as(
        "POST",
        "/api/auth/login/",
        None,
        "application/json",
        &[("X-Forwarded-For", "198.51.100.99")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 429, "{}", r.text);
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let reset: u64 = r
        .header("x-ratelimit-reset")
        .expect("reset")
        .parse()
        .expect("epoch");
    assert!(reset > 1_700_000_000);
    assert_eq!(r.body["error"], "Rate limit exceeded");
    assert_eq!(
        r.body["details"],
        format!("Too many requests. Try again in {retry} seconds.")
    );
    assert_eq!(r.body["code"], "rate_limited");
    // Register shares the login limit; health is never limited.
    let reg = json!({"username": "x", "email": "x@example.com", "password": "password123", "confirm_password": "password123"});
    assert_eq!(s.post("/api/auth/register/", None, reg).status, 429);
    let h = s.get("/health/", None);
    assert_eq!(h.status, 200);
    assert!(h.header("x-ratelimit-limit").is_none());
}

#[test]
fn authenticated_callers_get_the_documented_headers_and_their_own_limit() {
    let mut env = limited();
    env.push(("KEYNEST_RATE_USER", "3/minute"));
    let s = TestServer::start_with_env(&env);
    let u = s.register("limited");
    let other = s.register("other");
    for left in ["2", "1", "0"] {
        let r = s.get("/api/projects/", Some(&u.token));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(r.header("x-ratelimit-remaining"), Some(left));
    }
    let r = s.get("/api/projects/", Some(&u.token));
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    // Another user from the same address has their own allowance.
    assert_eq!(s.get("/api/projects/", Some(&other.token)).status, 200);
}

#[test]
fn anonymous_callers_are_limited_per_address_and_trusted_proxies_forward_it() {
    let mut env = limited();
    env.push(("KEYNEST_RATE_ANON", "2/hour"));
    let s = TestServer::start_with_env(&env);
    assert_eq!(s.get("/api/", None).header("x-ratelimit-limit"), Some("2"));
    s.get("/api/", None).expect(200);
    let r = s.get_with("/api/", &[("X-Forwarded-For", "203.0.113.7")]);
    assert_eq!(
        r.status, 429,
        "the header is not believed from an untrusted peer"
    );

    env.push(("KEYNEST_TRUSTED_PROXIES", "127.0.0.1"));
    let s = TestServer::start_with_env(&env);
    for client in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        for _ in 0..2 {
            s.get_with("/api/", &[("X-Forwarded-For", client)])
                .expect(200);
        }
    }
    assert_eq!(
        s.get_with("/api/", &[("X-Forwarded-For", "203.0.113.1")])
            .status,
        429
    );
}

#[test]
fn bad_rate_settings_are_refused_at_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = TestServer::spawn(dir.path(), &[("KEYNEST_RATE_USER", "lots")])
        .expect_err("must not start");
    assert!(
        log.contains("not a rate")
            || log.contains("KEYNEST_RATE_USER")
            || log.contains("rate-user"),
        "{log}"
    );
}

/// A login from `client` (forwarded by the trusted proxy on 127.0.0.1 when given).
fn login(s: &TestServer, path: &str, email: &str, password: &str, client: Option<&str>) -> u16 {
    let body = json!({"email": email, "password": password}).to_string();
    let headers: Vec<(&str, &str)> = client.map(|c| ("X-Forwarded-For", c)).into_iter().collect();
    s.send_as(
        "POST",
        path,
        None,
        "application/json",
        &headers,
        body.as_bytes(),
    )
    .status
}

#[test]
fn the_login_limit_follows_the_route_however_its_path_is_spelled() {
    let s = TestServer::start_with_env(&limited());
    // Each spelling reaches the login handler (401, not 404) and counts against the one limit.
    for path in [
        "/api/auth/%6cogin/",
        "/api/auth/login",
        "//api//auth/login/",
        "/api/auth/log%69n/",
        "/api/auth/login/",
    ] {
        assert_eq!(
            login(&s, path, "no@example.com", "wrong password", None),
            401,
            "{path}"
        );
    }
    assert_eq!(
        login(
            &s,
            "/api/auth/%6Cogin/",
            "no@example.com",
            "wrong password",
            None
        ),
        429
    );
}

#[test]
fn failed_logins_are_limited_per_account_whatever_the_address() {
    let mut env = limited();
    env.push(("KEYNEST_TRUSTED_PROXIES", "127.0.0.1"));
    env.push(("KEYNEST_RATE_LOGIN_ACCOUNT", "3/hour"));
    let s = TestServer::start_with_env(&env);
    let body = json!({"username": "victim", "email": "victim@example.com",
        "password": "correct horse battery", "confirm_password": "correct horse battery"});
    s.send_as(
        "POST",
        "/api/auth/register/",
        None,
        "application/json",
        &[("X-Forwarded-For", "192.0.2.1")],
        body.to_string().as_bytes(),
    )
    .expect(201);
    let good = "correct horse battery";
    // A success does not count: the owner can log in as often as they like.
    for _ in 0..4 {
        assert_eq!(
            login(
                &s,
                "/api/auth/login/",
                "victim@example.com",
                good,
                Some("192.0.2.2")
            ),
            200
        );
    }
    for i in 0..3 {
        let from = format!("198.51.100.{i}");
        let email = "Victim@Example.com";
        assert_eq!(
            login(&s, "/api/auth/login/", email, "guess", Some(&from)),
            401
        );
    }
    // A fourth address gains nothing, even with the right password.
    assert_eq!(
        login(
            &s,
            "/api/auth/login/",
            "victim@example.com",
            good,
            Some("198.51.100.9")
        ),
        429
    );
    // Positive control: another account from that address is only told the password is wrong.
    assert_eq!(
        login(
            &s,
            "/api/auth/login/",
            "else@example.com",
            "guess",
            Some("198.51.100.9")
        ),
        401
    );
}

#[test]
fn an_ipv6_client_is_one_caller_per_64_and_a_bad_forwarded_hop_chooses_nothing() {
    let mut env = limited();
    env.push(("KEYNEST_TRUSTED_PROXIES", "127.0.0.1"));
    let s = TestServer::start_with_env(&env);
    let path = "/api/auth/login/";
    for i in 1..=5 {
        let from = format!("2001:db8:1:2::{i}");
        assert_eq!(
            login(&s, path, "no@example.com", "x", Some(&from)),
            401,
            "{from}"
        );
    }
    let same_64 = "2001:db8:1:2:ffff::9";
    assert_eq!(login(&s, path, "no@example.com", "x", Some(same_64)), 429);
    let next_64 = "2001:db8:1:3::1";
    assert_eq!(login(&s, path, "no@example.com", "x", Some(next_64)), 401);

    // An unparseable right-most hop ends the walk at the proxy: the spoofed left hops, all
    // different, do not make different callers.
    let s = TestServer::start_with_env(&env);
    for i in 0..5 {
        let hops = format!("203.0.113.{i}, not-an-address");
        assert_eq!(
            login(&s, path, "no@example.com", "x", Some(&hops)),
            401,
            "{hops}"
        );
    }
    let hops = "203.0.113.99, not-an-address";
    assert_eq!(login(&s, path, "no@example.com", "x", Some(hops)), 429);
}

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

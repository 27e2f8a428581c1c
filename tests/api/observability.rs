//! Seeing inside: Prometheus metrics on the operator's listener only, request ids in the header,
//! the error envelope and the log line, and a JSON log that parses line by line and holds no
//! token or value.

use crate::helpers::TestServer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn with_metrics(extra: &[(&'static str, &'static str)]) -> (TestServer, String) {
    let mut env = vec![("KEYNEST_METRICS_BIND", "127.0.0.1:0")];
    env.extend_from_slice(extra);
    let s = TestServer::start_with_env(&env);
    let url = wait_for_log(&s, |log| {
        log.split("serving metrics on ")
            .nth(1)
            .and_then(|rest| rest.split(['"', ' ', '\n']).next())
            .map(str::to_string)
    });
    (s, url)
}

/// Poll the server's log until `find` finds something in it (the reader thread may lag).
#[track_caller]
fn wait_for_log<T>(s: &TestServer, find: impl Fn(&str) -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let log = s.log();
        if let Some(found) = find(&log) {
            return found;
        }
        assert!(Instant::now() < end, "not found in the log:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// GET any URL: (status, body).
fn fetch(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent.get(url).call().expect("request");
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (resp.status().as_u16(), text)
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[test]
fn metrics_count_requests_by_route_pattern_on_the_operator_listener_only() {
    let (s, metrics) = with_metrics(&[]);
    let (u, _, env) = s.user_with_env("metrics");
    let t = Some(u.token.as_str());
    let var = s.var(&u, env, "DATABASE_URL", "postgres://db");
    s.get(&format!("/api/variables/{var}/"), t).expect(200);
    s.get(&format!("/api/variables/{var}/"), t).expect(200);
    s.get("/api/variables/4242/", t)
        .expect_error(404, "not_found");

    let (status, text) = fetch(&metrics);
    assert_eq!(status, 200, "the operator's listener serves /metrics");
    let cases = [
        (
            r#"keynest_http_requests_total{route="/api/variables/{id}/",method="GET",status="200"}"#,
            2.0,
            "reads of one variable, under its pattern",
        ),
        (
            r#"keynest_http_requests_total{route="/api/variables/{id}/",method="GET",status="404"}"#,
            1.0,
            "the unknown id, same pattern, its own status",
        ),
        (
            r#"keynest_http_requests_total{route="/api/variables/",method="POST",status="201"}"#,
            1.0,
            "the write",
        ),
        (
            r#"keynest_http_request_duration_seconds_count{route="/api/variables/{id}/",method="GET"}"#,
            3.0,
            "latency samples by route and method",
        ),
        ("keynest_storage_failed", 0.0, "storage sound"),
        ("keynest_failed_logins_total", 0.0, "no failed login yet"),
        (
            r#"keynest_rate_limit_refusals_total{limit="requests"}"#,
            0.0,
            "refusals start at zero",
        ),
    ];
    for (series, want, what) in cases {
        assert_eq!(
            sample(&text, series),
            Some(want),
            "{what}: {series}\n{text}"
        );
    }
    let at_least = [
        (
            "keynest_store_flush_duration_seconds_count",
            "flushes timed",
        ),
        ("keynest_store_flush_batch_writers_count", "flush batches"),
        ("keynest_store_size_bytes", "store size"),
        ("keynest_organizations_loaded", "organizations loaded"),
    ];
    for (series, what) in at_least {
        let v = sample(&text, series).unwrap_or(0.0);
        assert!(v >= 1.0, "{what}: {series} = {v}\n{text}");
    }
    for line in text.lines().filter(|l| l.contains("route=\"")) {
        let route = line
            .split("route=\"")
            .nth(1)
            .and_then(|r| r.split('"').next());
        assert!(
            !route
                .unwrap_or_default()
                .contains(|c: char| c.is_ascii_digit()),
            "a route label holds an id: {line}"
        );
    }

    let (status, _) = fetch(&s.url("/metrics"));
    assert_eq!(status, 404, "the API's port does not serve /metrics");
    let base = metrics.trim_end_matches("/metrics");
    let (status, _) = fetch(&format!("{base}/health/"));
    assert_eq!(status, 404, "the operator's listener serves nothing else");
}

#[test]
fn metrics_are_off_unless_a_bind_is_set() {
    let s = TestServer::start();
    s.get("/health/", None).expect(200);
    let (status, _) = fetch(&s.url("/metrics"));
    assert_eq!(status, 404);
    assert!(!s.log().contains("serving metrics"), "{}", s.log());
}

#[test]
fn failed_logins_and_rate_limit_refusals_are_counted_by_limit() {
    let (s, metrics) = with_metrics(&[
        ("KEYNEST_RATE_LIMIT", "on"),
        ("KEYNEST_RATE_AUTH", "2/minute"),
    ]);
    let u = s.register("counted");
    let wrong = json!({"email": u.email, "password": "not the password"});
    s.post("/api/auth/login/", None, wrong.clone())
        .expect_error(401, "not_authenticated");
    s.post("/api/auth/login/", None, wrong)
        .expect_error(429, "rate_limited");

    let (_, text) = fetch(&metrics);
    let cases = [
        ("keynest_failed_logins_total", 1.0, "the wrong password"),
        (
            r#"keynest_rate_limit_refusals_total{limit="auth"}"#,
            1.0,
            "the third attempt from one address",
        ),
        (
            r#"keynest_rate_limit_refusals_total{limit="requests"}"#,
            0.0,
            "no other limit refused",
        ),
    ];
    for (series, want, what) in cases {
        assert_eq!(
            sample(&text, series),
            Some(want),
            "{what}: {series}\n{text}"
        );
    }
}

#[test]
fn a_failed_dashboard_sign_in_is_counted_as_a_failed_login() {
    let (s, metrics) = with_metrics(&[]);
    let u = s.register("webcounted");
    let form = format!(
        "email={}&password=not+the+password",
        u.email.replace('@', "%40")
    );
    let r = s.send_as(
        "POST",
        "/login/",
        None,
        "application/x-www-form-urlencoded",
        &[],
        form.as_bytes(),
    );
    assert_eq!(r.status, 401, "{}", r.text);
    let (_, text) = fetch(&metrics);
    assert_eq!(
        sample(&text, "keynest_failed_logins_total"),
        Some(1.0),
        "{text}"
    );
}

#[test]
fn request_ids_come_back_in_the_header_the_error_envelope_and_the_log() {
    let s = TestServer::start();
    let u = s.register("ids");
    let auth = format!("Token {}", u.token);

    let r = s.get_with(
        "/api/variables/4242/",
        &[("Authorization", &auth), ("X-Request-Id", "abc-123")],
    );
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    let body = r.expect_error(404, "not_found");
    assert_eq!(body["request_id"], "abc-123", "{body}");
    wait_for_log(&s, |log| {
        log.lines()
            .find(|l| {
                l.contains("GET /api/variables/4242/ 404") && l.contains("request_id=abc-123")
            })
            .map(|_| ())
    });

    let long = "x".repeat(129);
    let cases = [
        ("none sent", None),
        ("a space in it", Some("has space")),
        ("longer than 128", Some(long.as_str())),
    ];
    for (what, sent) in cases {
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend(sent.map(|id| ("X-Request-Id", id)));
        let r = s.get_with("/api/nothing-here/", &headers);
        let id = r.header("x-request-id").expect("an id").to_string();
        assert_eq!(id.len(), 16, "{what}: made up, 16 hex: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{what}: {id}");
        let body = r.expect_error(404, "not_found");
        assert_eq!(body["request_id"], id.as_str(), "{what}: {body}");
    }

    // Every kind of error gets it: an extractor's, and the 405 rewritten after routing.
    let r = s.send_as(
        "POST",
        "/api/projects/",
        Some(&u.token),
        "application/json",
        &[("X-Request-Id", "bad-json")],
        b"{not json",
    );
    assert_eq!(r.expect_error(400, "bad_request")["request_id"], "bad-json");
    let r = s.send_as(
        "PUT",
        "/api/projects/",
        Some(&u.token),
        "application/json",
        &[("X-Request-Id", "wrong-method")],
        b"{}",
    );
    assert_eq!(
        r.expect_error(405, "method_not_allowed")["request_id"],
        "wrong-method"
    );

    let ok = s.get_with("/health/", &[("X-Request-Id", "fine")]);
    assert_eq!(ok.header("x-request-id"), Some("fine"));
    assert_eq!(
        ok.expect(200),
        json!({"status": "healthy", "service": "KeyNest API", "version": "1.0.0"}),
        "a success's body is untouched"
    );
}

#[test]
fn the_json_log_parses_line_by_line_and_holds_no_token_or_value() {
    let s = TestServer::start_with_env(&[("KEYNEST_LOG_FORMAT", "json")]);
    let (u, _, env) = s.user_with_env("jsonlog");
    let secret = "s3cr3t-value-never-logged";
    let var = s.var(&u, env, "API_KEY", secret);
    let auth = format!("Token {}", u.token);
    let path = format!("/api/variables/{var}/");
    s.get_with(
        &path,
        &[("Authorization", &auth), ("X-Request-Id", "json-log-1")],
    )
    .expect(200);

    let line: Value = wait_for_log(&s, |log| {
        log.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["request_id"] == "json-log-1")
    });
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["route"], "/api/variables/{id}/", "{line}");
    assert_eq!(line["path"], path.as_str(), "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert!(line["duration_us"].is_u64(), "{line}");
    assert_eq!(line["level"], "INFO", "{line}");

    let log = s.log();
    for l in log.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        for field in ["timestamp", "level", "target", "message"] {
            assert!(v[field].is_string(), "{field} missing: {l}");
        }
    }
    assert!(!log.contains(&u.token), "the token is in the log");
    assert!(!log.contains(secret), "a value is in the log");
}

#[test]
fn an_outsider_naming_an_organizations_ids_starts_no_actor_for_it() {
    let s = TestServer::start();
    let (owner, project, env) = s.user_with_env("owner");
    let var = s.var(&owner, env, "K", "v");
    let outsider = s.register("outsider");
    // Started again, no organization's actor is loaded until someone asks for one.
    let s = s.restart_with_env(&[("KEYNEST_METRICS_BIND", "127.0.0.1:0")]);
    let metrics = wait_for_log(&s, |log| {
        log.split("serving metrics on ")
            .nth(1)
            .and_then(|rest| rest.split(['"', ' ', '\n']).next())
            .map(str::to_string)
    });
    let loaded = || sample(&fetch(&metrics).1, "keynest_organizations_loaded").unwrap_or(-1.0);
    assert_eq!(loaded(), 0.0);
    let o = Some(outsider.token.as_str());
    for path in [
        format!("/api/organizations/{}/", owner.org),
        format!("/api/projects/{project}/"),
        format!("/api/environments/{env}/variables/"),
        format!("/api/variables/{var}/"),
    ] {
        s.get(&path, o).expect_error(404, "not_found");
    }
    assert_eq!(loaded(), 0.0, "no actor started for an outsider");
    // Positive control: the owner's own request starts one.
    s.get(&format!("/api/variables/{var}/"), Some(&owner.token))
        .expect(200);
    assert_eq!(loaded(), 1.0);
}

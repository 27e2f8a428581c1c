//! Seeing inside: request ids in the header, the error envelope and the log line, and a JSON log
//! that parses line by line and holds no token or value.

use crate::helpers::TestServer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

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

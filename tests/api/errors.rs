use crate::helpers::TestServer;
use serde_json::json;

#[test]
fn health_and_api_root_are_as_documented() {
    let s = TestServer::start();
    let h = s.get("/health/", None).expect(200);
    assert_eq!(
        h,
        json!({"status": "healthy", "service": "KeyNest API", "version": "1.0.0"})
    );
    let root = s.get("/api/", None).expect(200);
    assert_eq!(root["message"], "Welcome to KeyNest API");
    assert_eq!(root["endpoints"]["projects"], "/api/projects/");
    // The trailing slash is optional.
    s.get("/health", None).expect(200);
}

#[test]
fn bad_requests_get_a_clear_4xx_in_the_envelope_never_a_500() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("eve");
    let t = Some(u.token.as_str());
    let raw = |method: &str, path: &str, body: &[u8]| s.send(method, path, t, body);
    let cases: Vec<(&str, crate::helpers::Resp, u16, &str)> = vec![
        (
            "malformed JSON",
            raw("POST", "/api/projects/", b"{\"name\": "),
            400,
            "bad_request",
        ),
        (
            "JSON array",
            raw("POST", "/api/projects/", b"[1,2]"),
            400,
            "bad_request",
        ),
        (
            "empty body",
            raw("POST", "/api/projects/", b""),
            400,
            "bad_request",
        ),
        (
            "wrong type",
            s.post(
                "/api/projects/",
                t,
                json!({"name": 5, "organization": u.org}),
            ),
            400,
            "validation_failed",
        ),
        (
            "id as text",
            s.post(
                "/api/projects/",
                t,
                json!({"name": "x", "organization": "one"}),
            ),
            400,
            "validation_failed",
        ),
        (
            "negative id",
            s.post(
                "/api/projects/",
                t,
                json!({"name": "x", "organization": -1}),
            ),
            400,
            "validation_failed",
        ),
        (
            "unknown org",
            s.post(
                "/api/projects/",
                t,
                json!({"name": "x", "organization": 999}),
            ),
            404,
            "not_found",
        ),
        (
            "unknown env",
            s.post(
                "/api/variables/",
                t,
                json!({"key": "K", "value": "v", "environment": 999}),
            ),
            404,
            "not_found",
        ),
        (
            "non-numeric id",
            s.get("/api/projects/abc/", t),
            404,
            "not_found",
        ),
        (
            "id out of range",
            s.get("/api/variables/99999999999999999999999/", t),
            404,
            "not_found",
        ),
        (
            "unknown id",
            s.get("/api/variables/12345/", t),
            404,
            "not_found",
        ),
        (
            "unknown route",
            s.get("/api/nothing-here/", t),
            404,
            "not_found",
        ),
        (
            "wrong method",
            raw("PUT", "/api/projects/", b"{}"),
            405,
            "method_not_allowed",
        ),
        (
            "bad page",
            s.get(&format!("/api/environments/{env}/variables/?page=x"), t),
            400,
            "validation_failed",
        ),
        (
            "bad filter",
            s.get("/api/projects/?organization=x", t),
            400,
            "validation_failed",
        ),
        (
            "bad env type",
            s.get("/api/environments/?environment_type=prod", t),
            400,
            "validation_failed",
        ),
    ];
    for (what, resp, status, code) in cases {
        assert_eq!(resp.status, status, "{what}: {}", resp.text);
        for field in ["error", "details", "code", "timestamp"] {
            assert!(
                resp.body.get(field).is_some(),
                "{what}: envelope lacks {field}: {}",
                resp.text
            );
        }
        assert_eq!(resp.body["code"], code, "{what}");
    }
}

#[test]
fn a_body_over_one_mebibyte_is_413_and_changes_nothing() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("fay");
    let big =
        json!({"key": "BIG", "value": "x".repeat(1024 * 1024), "environment": env}).to_string();
    s.send("POST", "/api/variables/", Some(&u.token), big.as_bytes())
        .expect_error(413, "payload_too_large");
    let list = s
        .get(
            &format!("/api/environments/{env}/variables/"),
            Some(&u.token),
        )
        .expect(200);
    assert_eq!(list["count"], 0);
}

#[test]
fn errors_never_echo_the_body_back() {
    let s = TestServer::start();
    let (u, _, _) = s.user_with_env("gus");
    let secret = "\"sk_live_never_echo_me\"";
    let r = s.send("POST", "/api/variables/", Some(&u.token), secret.as_bytes());
    assert_eq!(r.status, 400);
    assert!(!r.text.contains("never_echo"), "{}", r.text);
}

//! Browsers on other origins: an allowed origin gets its preflight answered and the API's
//! headers exposed; any other origin gets no CORS header at all; without the setting nothing
//! changes for same-origin use.

use crate::helpers::TestServer;
use std::io::{Read, Write};
use std::net::TcpStream;

/// A raw request: the status and the lower-cased header lines of the answer.
fn raw(s: &TestServer, request: &str) -> (u16, Vec<String>) {
    let mut conn = TcpStream::connect(s.base.trim_start_matches("http://")).expect("connect");
    conn.write_all(request.as_bytes()).expect("send");
    let mut buf = vec![0u8; 8192];
    let n = conn.read(&mut buf).expect("answer");
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    (
        status,
        head.lines().skip(1).map(str::to_lowercase).collect(),
    )
}

fn preflight(s: &TestServer, origin: &str) -> (u16, Vec<String>) {
    raw(
        s,
        &format!(
            "OPTIONS /api/projects/ HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: authorization, content-type\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn get(s: &TestServer, origin: &str, token: &str) -> (u16, Vec<String>) {
    raw(
        s,
        &format!(
            "GET /api/projects/ HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
             Authorization: Token {token}\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find_map(|h| h.strip_prefix(&format!("{name}: ")))
}

#[test]
fn an_allowed_origin_is_answered_and_another_gets_no_cors_headers() {
    let app = "https://app.example.com";
    let s =
        TestServer::start_with_env(&[("KEYNEST_CORS_ORIGINS", app), ("KEYNEST_RATE_LIMIT", "on")]);
    let u = s.register("browser");

    let (status, h) = preflight(&s, app);
    assert!(status < 300, "{status} {h:?}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(app));
    let allowed = header(&h, "access-control-allow-headers").unwrap_or_default();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert!(header(&h, "access-control-max-age").is_some());
    assert_ne!(header(&h, "access-control-allow-credentials"), Some("true"));

    let (status, h) = get(&s, app, &u.token);
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), Some(app));
    let exposed = header(&h, "access-control-expose-headers").unwrap_or_default();
    assert!(exposed.contains("x-ratelimit-remaining"), "{exposed}");

    let evil = "https://evil.example";
    let (_, h) = preflight(&s, evil);
    assert_eq!(header(&h, "access-control-allow-origin"), None);
    let (_, h) = get(&s, evil, &u.token);
    assert_eq!(header(&h, "access-control-allow-origin"), None);
}

#[test]
fn without_the_setting_there_is_no_cors_and_a_bad_origin_is_refused_at_start() {
    let s = TestServer::start();
    let u = s.register("plain");
    let (status, h) = get(&s, "https://app.example.com", &u.token);
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), None);

    let dir = tempfile::tempdir().expect("tmp");
    let log = TestServer::spawn(dir.path(), &[("KEYNEST_CORS_ORIGINS", "app.example.com/x")])
        .expect_err("must not start");
    assert!(log.contains("KEYNEST_CORS_ORIGINS"), "{log}");
}

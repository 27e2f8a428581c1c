//! What leaves the server is clean: answers that may carry a value or a token are never cached,
//! and the links in a page never point where a client's headers say.

use crate::helpers::TestServer;
use serde_json::json;

#[test]
fn answers_that_carry_values_or_tokens_are_marked_no_store() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("cache");
    let t = Some(u.token.as_str());
    let var = s.var(&u, env, "DB", "secret");
    let login = s.post(
        "/api/auth/login/",
        None,
        json!({"email": u.email, "password": "correct horse battery"}),
    );
    let token = s.post(
        &format!("/api/environments/{env}/service-tokens/"),
        t,
        json!({"name": "ci"}),
    );
    let answers = [
        ("login", login),
        ("service token", token),
        ("variable", s.get(&format!("/api/variables/{var}/"), t)),
        (
            "listing",
            s.get(&format!("/api/environments/{env}/variables/"), t),
        ),
        (
            "export",
            s.get(&format!("/api/environments/{env}/export/"), t),
        ),
        (
            "versions",
            s.get(&format!("/api/variables/{var}/versions/"), t),
        ),
        ("an error", s.get("/api/variables/999/", t)),
    ];
    for (what, r) in answers {
        assert!(r.status < 500, "{what}: {}", r.status);
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    }
}

#[test]
fn page_links_never_follow_the_clients_host_headers() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("links");
    for i in 0..21 {
        s.var(&u, env, &format!("K{i:02}"), "v");
    }
    let path = format!("/api/environments/{env}/variables/");
    let auth = format!("Token {}", u.token);
    let r = s
        .get_with(
            &path,
            &[
                ("Authorization", &auth),
                ("X-Forwarded-Host", "evil.example"),
                ("X-Forwarded-Proto", "https"),
                ("Forwarded", "host=evil.example;proto=https"),
            ],
        )
        .expect(200);
    let next = r["next"].as_str().expect("next");
    assert_eq!(
        next,
        format!("{}{path}?page=2", s.base),
        "the server's own address"
    );

    let s = TestServer::start_with_env(&[("KEYNEST_PUBLIC_URL", "https://keynest.example.com/")]);
    let (u, _, env) = s.user_with_env("links");
    for i in 0..21 {
        s.var(&u, env, &format!("K{i:02}"), "v");
    }
    let path = format!("/api/environments/{env}/variables/");
    let r = s.get(&path, Some(&u.token)).expect(200);
    assert_eq!(
        r["next"].as_str(),
        Some(format!("https://keynest.example.com{path}?page=2").as_str())
    );
}

#[test]
fn export_header_comments_cannot_be_broken_out_of_by_a_name() {
    let s = TestServer::start();
    let u = s.register("header");
    let t = Some(u.token.as_str());
    let hostile =
        "web\u{2028}NODE_OPTIONS=--require /tmp/x\u{2029}A=1\u{85}B=2\rC=3\u{1b}]52;c;eA==\u{7}";
    let project = s.project(&u, u.org, "plain");
    s.patch(
        &format!("/api/projects/{project}/"),
        t,
        json!({"name": hostile}),
    )
    .expect(200);
    let env = s.env(&u, project, "production");
    s.var(&u, env, "REAL", "value");
    let r = s.get(&format!("/api/environments/{env}/export/"), t);
    assert_eq!(r.status, 200);
    let text = r.text;
    for bad in ['\u{2028}', '\u{2029}', '\u{85}', '\r', '\u{1b}', '\u{7}'] {
        assert!(!text.contains(bad), "{bad:?} in {text:?}");
    }
    // Every line is a comment, blank, or the one real variable.
    let assignments: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(assignments, vec!["REAL=value"], "{text}");
    // Positive control: the name is still there, made one line.
    assert!(
        text.contains("# Project: web NODE_OPTIONS=--require /tmp/x A=1 B=2 C=3"),
        "{text}"
    );
}

//! The dashboard over plain HTTP: its security headers, cookie, CSRF refusals, rate limits and
//! escaping. What needs a real browser (the script, downloads, dialogs) is in `tests/browser/`.

use crate::helpers::{Resp, TestServer};
use serde_json::Value;

/// A cookie-carrying client that does not follow redirects, as a browser would be seen by the
/// server.
pub struct Web<'a> {
    server: &'a TestServer,
    agent: ureq::Agent,
    pub cookie: Option<String>,
}

impl<'a> Web<'a> {
    pub fn new(server: &'a TestServer) -> Self {
        Web {
            server,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            cookie: None,
        }
    }

    fn finish(&mut self, resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
        let mut resp = resp.expect("request");
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        for (k, v) in &headers {
            if k == "set-cookie" && v.starts_with("keynest_session=") {
                let value = v["keynest_session=".len()..]
                    .split(';')
                    .next()
                    .unwrap_or("");
                self.cookie = (!value.is_empty()).then(|| value.to_string());
            }
        }
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Resp {
            status,
            body: Value::Null,
            text,
            headers,
        }
    }

    pub fn get(&mut self, path: &str) -> Resp {
        let mut req = self.agent.get(self.server.url(path));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", format!("keynest_session={c}"));
        }
        let r = req.call();
        self.finish(r)
    }

    pub fn post(&mut self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Resp {
        let mut req = self
            .agent
            .post(self.server.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", format!("keynest_session={c}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = serde_urlencoded::to_string(fields).expect("form");
        let r = req.send(body.as_bytes());
        self.finish(r)
    }

    /// A form body sent as given (already encoded), for what a browser would never send.
    pub fn post_raw(&mut self, path: &str, body: &str) -> Resp {
        let mut req = self
            .agent
            .post(self.server.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", format!("keynest_session={c}"));
        }
        let r = req.send(body.as_bytes());
        self.finish(r)
    }

    /// A CSRF token from a page of this session.
    pub fn csrf(&mut self) -> String {
        let page = self.get("/orgs/");
        assert_eq!(page.status, 200, "{}", page.text);
        let at = page
            .text
            .find("name=\"csrf-token\" content=\"")
            .expect("csrf meta")
            + 27;
        page.text[at..at + 64].to_string()
    }

    pub fn register(&mut self, name: &str) -> Resp {
        let email = format!("{name}@example.com");
        self.post(
            "/register/",
            &[
                ("username", name),
                ("email", &email),
                ("first_name", name),
                ("password", "correct horse battery"),
                ("confirm_password", "correct horse battery"),
            ],
            &[],
        )
    }
}

#[test]
fn dashboard_pages_carry_a_strict_csp_and_refuse_framing() {
    let server = TestServer::start();
    let mut web = Web::new(&server);
    let page = web.get("/login/");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").expect("CSP");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp} lacks {part}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        !page.text.contains("<script>"),
        "no inline script in the page"
    );
    // The script and stylesheet: served from the binary under their hash, cached for good.
    let js = page
        .text
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("script");
    let asset = web.get(js);
    assert_eq!(asset.status, 200, "{js}");
    assert!(asset
        .header("cache-control")
        .is_some_and(|c| c.contains("immutable")));
    let etag = asset.header("etag").expect("etag").to_string();
    let again = server.get_with(js, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert_eq!(web.get("/assets/app-000000000000.js").status, 404);
}

#[test]
fn the_session_cookie_is_http_only_and_strict_and_the_api_ignores_it() {
    let server = TestServer::start();
    let mut web = Web::new(&server);
    let res = web.register("ann");
    assert_eq!(res.status, 303, "{}", res.text);
    let set = res.header("set-cookie").expect("cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http: {set}");
    let token = web.cookie.clone().expect("session cookie");
    // The cookie is not a way into the API: only `Authorization: Token` is.
    let api = server.get_with(
        "/api/organizations/",
        &[("Cookie", &format!("keynest_session={token}"))],
    );
    assert_eq!(api.status, 401, "{}", api.text);
    // It is an ordinary session, listed and ended like any other.
    let listed = server.get("/api/auth/sessions/", Some(&token)).expect(200);
    assert_eq!(listed["count"], 1);
    let csrf = web.csrf();
    assert_eq!(web.post("/logout/", &[("csrf", &csrf)], &[]).status, 303);
    server
        .get("/api/auth/sessions/", Some(&token))
        .expect_error(401, "not_authenticated");
    assert_eq!(web.get("/orgs/").header("location"), Some("/login/"));

    let https =
        TestServer::start_with_env(&[("KEYNEST_PUBLIC_URL", "https://keynest.example.com")]);
    let res = Web::new(&https).register("bob");
    let set = res.header("set-cookie").expect("cookie");
    assert!(set.contains("Secure"), "{set}");
    // Over HTTPS the name is __Host- prefixed (no Domain, so no sibling can plant one), and a
    // plainly named cookie, as a plain-HTTP answer could have set, signs nobody in.
    assert!(set.starts_with("__Host-keynest_session="), "{set}");
    let token = set["__Host-keynest_session=".len()..]
        .split(';')
        .next()
        .expect("value")
        .to_string();
    let mut planted = Web::new(&https);
    planted.cookie = Some(token.clone());
    assert_eq!(
        planted.get("/orgs/").status,
        303,
        "keynest_session= ignored"
    );
    let real = https.get_with(
        "/orgs/",
        &[("Cookie", &format!("__Host-keynest_session={token}"))],
    );
    assert_eq!(real.status, 200);
    assert!(real.text.contains("Sign out"), "signed in: {}", real.text);
}

#[test]
fn a_post_without_this_sessions_csrf_token_changes_nothing() {
    let server = TestServer::start();
    let mut ann = Web::new(&server);
    ann.register("ann");
    let mut bob = Web::new(&server);
    bob.register("bob");
    let bobs = bob.csrf();
    let token = ann.cookie.clone().expect("cookie");
    let cases: [(&str, Vec<(&str, &str)>); 3] = [
        ("no token", vec![("name", "Evil")]),
        (
            "another session's token",
            vec![("name", "Evil"), ("csrf", &bobs)],
        ),
        ("garbage", vec![("name", "Evil"), ("csrf", "00")]),
    ];
    for (case, fields) in cases {
        let res = ann.post("/orgs/", &fields, &[]);
        assert_eq!(res.status, 403, "{case}: {}", res.text);
    }
    let orgs = server.get("/api/organizations/", Some(&token)).expect(200);
    assert_eq!(orgs["count"], 1, "only the personal organization");
    // A form posted from another site is refused before the sign-in is even tried.
    let res = ann.post(
        "/login/",
        &[
            ("email", "ann@example.com"),
            ("password", "correct horse battery"),
        ],
        &[
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
    );
    assert_eq!(res.status, 400, "{}", res.text);
    // The script's reveal needs the header too.
    let user = server.register("carol");
    let (_, env) = {
        let p = server.project(&user, user.org, "web");
        (p, server.env(&user, p, "prod"))
    };
    let var = server.var(&user, env, "KEY", "v");
    let mut carol = Web::new(&server);
    carol.post(
        "/login/",
        &[
            ("email", &user.email),
            ("password", "correct horse battery"),
        ],
        &[],
    );
    let res = carol.post(&format!("/vars/{var}/reveal/"), &[], &[]);
    assert_eq!(res.status, 403);
    let csrf = carol.csrf();
    let res = carol.post(
        &format!("/vars/{var}/reveal/"),
        &[],
        &[("X-CSRF-Token", &csrf)],
    );
    assert_eq!((res.status, res.text.as_str()), (200, "v"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

#[test]
fn dashboard_sign_in_counts_against_the_same_limits_as_the_api() {
    let server = TestServer::start_with_env(&[
        ("KEYNEST_RATE_LIMIT", "on"),
        ("KEYNEST_RATE_AUTH", "3/minute"),
    ]);
    let mut web = Web::new(&server);
    let wrong = [
        ("email", "nobody@example.com"),
        ("password", "wrong password"),
    ];
    for i in 0..2 {
        let res = web.post("/login/", &wrong, &[]);
        assert_eq!(res.status, 401, "attempt {i}: {}", res.text);
        assert!(res.text.contains("Wrong email or password."));
    }
    // The third from this address through the API, the fourth refused on either.
    server
        .post(
            "/api/auth/login/",
            None,
            serde_json::json!({"email": "x@example.com", "password": "wrong password"}),
        )
        .expect_error(401, "not_authenticated");
    let res = web.post("/login/", &wrong, &[]);
    assert_eq!(res.status, 429, "{}", res.text);
    assert!(res.header("retry-after").is_some());
}

#[test]
fn names_and_keys_are_shown_as_text_and_viewers_get_no_values() {
    let server = TestServer::start();
    let admin = server.register("ann");
    let project = server.project(&admin, admin.org, "<script>alert(1)</script>");
    let env = server.env(&admin, project, "<b>prod</b>");
    let var = server.var(&admin, env, "TOKEN", "s3cret-value");
    let viewer = server.register("vic");
    server.add_member(&admin, admin.org, &viewer, "viewer");

    let mut ann = Web::new(&server);
    ann.post(
        "/login/",
        &[
            ("email", &admin.email),
            ("password", "correct horse battery"),
        ],
        &[],
    );
    let page = ann.get(&format!("/envs/{env}/"));
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.text.contains("&lt;b&gt;prod&lt;/b&gt;"));
    assert!(!page.text.contains("<script>alert") && !page.text.contains("<b>prod"));
    assert!(page.text.contains("data-reveal"), "editors get the button");
    let nothing = ann.get("/envs/abc/");
    assert_eq!(nothing.status, 404);
    assert!(
        nothing
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "a page, not the API's JSON"
    );
    assert!(
        !page.text.contains("s3cret-value"),
        "values are not in the page"
    );

    let mut vic = Web::new(&server);
    vic.post(
        "/login/",
        &[
            ("email", &viewer.email),
            ("password", "correct horse battery"),
        ],
        &[],
    );
    let page = vic.get(&format!("/envs/{env}/"));
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("TOKEN"), "viewers see keys");
    assert!(!page.text.contains("data-reveal") && !page.text.contains("data-copy="));
    let csrf = vic.csrf();
    let res = vic.post(
        &format!("/vars/{var}/reveal/"),
        &[],
        &[("X-CSRF-Token", &csrf)],
    );
    assert_eq!(res.status, 403, "{}", res.text);
    assert!(!res.text.contains("s3cret-value"));
    let export = vic.get(&format!("/envs/{env}/export/?format=env"));
    assert_eq!(export.status, 403);
    // An outsider sees nothing of it, as in the API.
    let mut eve = Web::new(&server);
    eve.register("eve");
    assert_eq!(eve.get(&format!("/envs/{env}/")).status, 404);
}

#[test]
fn a_large_environment_is_shown_500_variables_a_page() {
    let server = TestServer::start();
    let (user, _, env) = server.user_with_env("ann");
    let data: String = (0..501).map(|i| format!("KEY_{i:04}=v{i}\n")).collect();
    server
        .post(
            &format!("/api/environments/{env}/import/"),
            Some(&user.token),
            serde_json::json!({"data": data, "format": "env"}),
        )
        .expect(200);
    let mut web = Web::new(&server);
    web.post(
        "/login/",
        &[
            ("email", &user.email),
            ("password", "correct horse battery"),
        ],
        &[],
    );
    let rows = |text: &str| text.matches("<tr data-key=").count();
    let first = web.get(&format!("/envs/{env}/"));
    assert_eq!(rows(&first.text), 500);
    assert!(first.text.contains("key_0000") && !first.text.contains("key_0500"));
    assert!(first.text.contains("Page 1 of 2"));
    let second = web.get(&format!("/envs/{env}/?page=2"));
    assert_eq!(rows(&second.text), 1);
    assert!(second.text.contains("key_0500"));
    assert_eq!(rows(&web.get(&format!("/envs/{env}/?page=3")).text), 0);
}

#[test]
fn the_sessions_page_signs_out_the_others_or_everywhere() {
    let server = TestServer::start();
    let user = server.register("ann");
    let mut web = Web::new(&server);
    let login = [
        ("email", user.email.as_str()),
        ("password", "correct horse battery"),
    ];
    web.post("/login/", &login, &[]);
    let page = web.get("/sessions/");
    assert_eq!(
        page.text.matches("/end/\"").count(),
        2,
        "both sessions listed"
    );
    let csrf = web.csrf();
    let res = web.post("/sessions/end-others/", &[("csrf", &csrf)], &[]);
    assert_eq!(res.header("location"), Some("/sessions/"));
    server
        .get("/api/auth/profile/", Some(&user.token))
        .expect_error(401, "not_authenticated");
    assert_eq!(web.get("/sessions/").status, 200, "this one kept");

    let mut other = Web::new(&server);
    other.post("/login/", &login, &[]);
    let csrf = web.csrf();
    let res = web.post("/sessions/end-all/", &[("csrf", &csrf)], &[]);
    assert_eq!(res.header("location"), Some("/login/"));
    assert_eq!(web.cookie, None, "the cookie is cleared");
    assert_eq!(other.get("/orgs/").header("location"), Some("/login/"));
}

#[test]
fn a_form_that_is_not_utf8_changes_nothing_and_signing_in_again_ends_the_old_session() {
    let server = TestServer::start();
    let user = server.register("dana");
    let p = server.project(&user, user.org, "web");
    let env = server.env(&user, p, "prod");
    let var = server.var(&user, env, "KEY", "kept");
    let mut web = Web::new(&server);
    let signed_in = [
        ("email", user.email.as_str()),
        ("password", "correct horse battery"),
    ];
    web.post("/login/", &signed_in, &[]);
    let first = web.cookie.clone().expect("cookie");
    let csrf = web.csrf();
    // %ff%fe is not UTF-8: refused whole, never saved as U+FFFD.
    let res = web.post_raw(
        &format!("/vars/{var}/"),
        &format!("csrf={csrf}&value=%ff%fe"),
    );
    assert_eq!(res.status, 400, "{}", res.text);
    let got = server.get(&format!("/api/variables/{var}/"), Some(&user.token));
    assert_eq!(got.expect(200)["decrypted_value"], "kept");
    // The same form in UTF-8 goes through (the refusal was the bytes, not the form).
    let res = web.post_raw(
        &format!("/vars/{var}/"),
        &format!("csrf={csrf}&value=caf%C3%A9+ok"),
    );
    assert_eq!(res.status, 303, "{}", res.text);
    let got = server.get(&format!("/api/variables/{var}/"), Some(&user.token));
    assert_eq!(got.expect(200)["decrypted_value"], "café ok");
    // Signing in again over a live session ends it: no second session left in the old cookie.
    web.post("/login/", &signed_in, &[]);
    let second = web.cookie.clone().expect("cookie");
    assert_ne!(first, second);
    let mut old = Web::new(&server);
    old.cookie = Some(first);
    assert_eq!(
        old.get("/orgs/").status,
        303,
        "the old cookie is signed out"
    );
    assert_eq!(web.get("/orgs/").status, 200);
}

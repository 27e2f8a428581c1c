use crate::helpers::TestServer;
use serde_json::json;

fn reg(name: &str, email: &str, pw: &str, confirm: &str) -> serde_json::Value {
    json!({"username": name, "email": email, "password": pw, "confirm_password": confirm})
}

#[test]
fn register_answers_the_documented_shape_with_a_personal_organization() {
    let s = TestServer::start();
    let body = s
        .post(
            "/api/auth/register/",
            None,
            json!({"username": "newuser", "email": "user@example.com", "password": "securepassword123",
                   "confirm_password": "securepassword123", "first_name": "John", "last_name": "Doe"}),
        )
        .expect(201);
    assert_eq!(body["message"], "User registered successfully");
    let token = body["token"].as_str().expect("token");
    assert_eq!(token.len(), 40);
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    let user = &body["user"];
    assert_eq!(user["username"], "newuser");
    assert_eq!(user["full_name"], "John Doe");
    assert!(user["date_joined"].as_str().expect("date").ends_with('Z'));
    assert_eq!(body["organization"]["name"], "John's Organization");

    let orgs = s.get("/api/organizations/", Some(token)).expect(200);
    assert_eq!(orgs["count"], 1);
    assert_eq!(orgs["results"][0]["user_role"], "admin");
    assert_eq!(orgs["results"][0]["member_count"], 1);

    // Without a first name the organization is named after the username.
    let body = s
        .post(
            "/api/auth/register/",
            None,
            reg("solo", "solo@example.com", "password123", "password123"),
        )
        .expect(201);
    assert_eq!(body["organization"]["name"], "solo's Organization");
}

#[test]
fn register_reports_each_bad_field_under_its_own_name() {
    let s = TestServer::start();
    let cases = [
        (
            "missing everything",
            json!({}),
            vec!["confirm_password", "email", "password", "username"],
        ),
        (
            "bad email",
            reg("a", "not-an-email", "password123", "password123"),
            vec!["email"],
        ),
        (
            "short password",
            reg("a", "a@example.com", "short", "short"),
            vec!["password"],
        ),
        (
            "long password",
            reg("a", "a@example.com", &"p".repeat(129), &"p".repeat(129)),
            vec!["password"],
        ),
        (
            "mismatch",
            reg("a", "a@example.com", "password123", "password124"),
            vec!["confirm_password"],
        ),
        (
            "wrong type",
            json!({"username": 1, "email": "a@example.com", "password": "password123",
                              "confirm_password": "password123"}),
            vec!["username"],
        ),
    ];
    for (what, body, fields) in cases {
        let err = s
            .post("/api/auth/register/", None, body)
            .expect_error(400, "validation_failed");
        let got: Vec<&str> = err["details"]
            .as_object()
            .expect(what)
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(got, fields, "{what}");
    }
}

#[test]
fn emails_are_unique_case_insensitively() {
    let s = TestServer::start();
    s.post(
        "/api/auth/register/",
        None,
        reg("one", "Same@Example.com", "password123", "password123"),
    )
    .expect(201);
    let err = s
        .post(
            "/api/auth/register/",
            None,
            reg("two", "same@example.COM", "password123", "password123"),
        )
        .expect_error(409, "conflict");
    assert!(err["details"]["email"].is_array(), "{err}");
    // And login finds the account whatever the case.
    s.post(
        "/api/auth/login/",
        None,
        json!({"email": "SAME@example.com", "password": "password123"}),
    )
    .expect(200);
}

#[test]
fn login_issues_a_token_and_sets_last_login() {
    let s = TestServer::start();
    let u = s.register("ann");
    let profile = s.get("/api/auth/profile/", Some(&u.token)).expect(200);
    assert!(profile["last_login"].is_null());
    assert_eq!(profile["is_active"], true);
    let body = s
        .post(
            "/api/auth/login/",
            None,
            json!({"email": u.email, "password": "correct horse battery"}),
        )
        .expect(200);
    let token = body["token"].as_str().expect("token");
    assert_ne!(token, u.token);
    assert_eq!(body["user"]["id"], u.id);
    let profile = s.get("/api/auth/profile/", Some(token)).expect(200);
    for field in [
        "id",
        "username",
        "email",
        "first_name",
        "last_name",
        "full_name",
        "date_joined",
        "is_active",
    ] {
        assert!(profile.get(field).is_some(), "profile lacks {field}");
    }
    assert!(profile["last_login"].is_string());
}

#[test]
fn wrong_password_and_unknown_email_get_the_same_answer() {
    let s = TestServer::start();
    let u = s.register("bob");
    let wrong = s
        .post(
            "/api/auth/login/",
            None,
            json!({"email": u.email, "password": "wrong password"}),
        )
        .expect_error(401, "not_authenticated");
    let unknown = s
        .post(
            "/api/auth/login/",
            None,
            json!({"email": "nobody@example.com", "password": "wrong password"}),
        )
        .expect_error(401, "not_authenticated");
    assert_eq!(wrong["details"], unknown["details"]);
    assert_eq!(wrong["error"], unknown["error"]);
}

#[test]
fn logout_revokes_the_token_that_made_the_call_only() {
    let s = TestServer::start();
    let u = s.register("cat");
    let second = s
        .post(
            "/api/auth/login/",
            None,
            json!({"email": u.email, "password": "correct horse battery"}),
        )
        .expect(200)["token"]
        .as_str()
        .expect("token")
        .to_string();
    let body = s
        .post("/api/auth/logout/", Some(&u.token), json!({}))
        .expect(200);
    assert_eq!(body["message"], "Successfully logged out");
    s.get("/api/auth/profile/", Some(&u.token))
        .expect_error(401, "not_authenticated");
    s.get("/api/auth/profile/", Some(&second)).expect(200);
}

#[test]
fn anything_but_a_valid_token_header_is_401() {
    let s = TestServer::start();
    let u = s.register("dan");
    let unknown = "0".repeat(40);
    let cases = [
        ("no header", None),
        ("bearer scheme", Some(format!("Bearer {}", u.token))),
        ("no scheme", Some(u.token.clone())),
        ("short token", Some("Token abc".to_string())),
        (
            "upper-case hex",
            Some(format!("Token {}", u.token.to_uppercase())),
        ),
        ("unknown token", Some(format!("Token {unknown}"))),
    ];
    for (what, header) in cases {
        let headers: Vec<(&str, &str)> = header
            .iter()
            .map(|h| ("Authorization", h.as_str()))
            .collect();
        let r = s.get_with("/api/projects/", &headers);
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_eq!(r.body["code"], "not_authenticated", "{what}");
    }
}

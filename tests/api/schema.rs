//! `/api/schema/`: the OpenAPI 3.1 document, checked against the server that serves it. Every
//! route the API document promises is in it; every documented operation is served (never 405,
//! never the no-route 404), and every other method on a documented path is 405 with `Allow`
//! naming exactly the documented ones.

use crate::helpers::{Resp, TestServer};
use serde_json::Value;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The routes of the API contract (`keynest-api.md`) and of the README, as patterns.
const PROMISED: [&str; 37] = [
    "/health/",
    "/api/",
    "/api/schema/",
    "/api/auth/register/",
    "/api/auth/login/",
    "/api/auth/logout/",
    "/api/auth/logout-all/",
    "/api/auth/profile/",
    "/api/auth/sessions/",
    "/api/auth/sessions/{id}/",
    "/api/organizations/",
    "/api/organizations/{id}/",
    "/api/organizations/{id}/rotate-key/",
    "/api/organizations/{id}/members/",
    "/api/organizations/{id}/members/{user_id}/",
    "/api/organizations/{id}/invitations/",
    "/api/organizations/{id}/invitations/{invitation_id}/",
    "/api/invitations/",
    "/api/invitations/{id}/accept/",
    "/api/invitations/{id}/decline/",
    "/api/projects/",
    "/api/projects/{id}/",
    "/api/projects/{id}/environments/",
    "/api/projects/{id}/compare/",
    "/api/environments/",
    "/api/environments/{id}/",
    "/api/environments/{id}/variables/",
    "/api/environments/{id}/export/",
    "/api/environments/{id}/import/",
    "/api/environments/{id}/watch/",
    "/api/environments/{id}/service-tokens/",
    "/api/environments/{id}/service-tokens/{token_id}/",
    "/api/variables/",
    "/api/variables/{id}/",
    "/api/variables/{id}/versions/",
    "/api/variables/{id}/rollback/",
    "/api/audit-logs/",
];

fn document(s: &TestServer) -> Value {
    let r = s.get("/api/schema/", None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.body
}

/// The documented methods of a path item, upper case.
fn documented(item: &Value) -> Vec<&'static str> {
    METHODS
        .into_iter()
        .filter(|m| item.get(m.to_lowercase()).is_some())
        .collect()
}

fn call(s: &TestServer, method: &str, path: &str) -> Resp {
    match method {
        "GET" => s.get(path, None),
        "DELETE" => s.delete(path, None),
        _ => s.send(method, path, None, b"{}"),
    }
}

#[test]
fn schema_is_openapi_3_1_with_every_route_and_the_token_scheme() {
    let s = TestServer::start();
    let doc = document(&s);
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi is {version:?}");
    assert_eq!(doc["info"]["title"], "KeyNest API");
    let paths = doc["paths"].as_object().expect("paths");
    for route in PROMISED {
        assert!(paths.contains_key(route), "{route} is not in the document");
    }
    assert_eq!(paths.len(), PROMISED.len(), "{:?}", paths.keys());

    let scheme = &doc["components"]["securitySchemes"]["token"];
    assert_eq!(scheme["type"], "apiKey", "{scheme}");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "Authorization");
    // Public operations say so; every other one asks for the token.
    let public = [
        "/health/",
        "/api/",
        "/api/schema/",
        "/api/auth/register/",
        "/api/auth/login/",
    ];
    for (path, item) in paths {
        for m in documented(item) {
            let op = &item[m.to_lowercase()];
            let security = op["security"].as_array().expect("security");
            let wants_token = security.iter().any(|s| s.get("token").is_some());
            assert_eq!(wants_token, !public.contains(&path.as_str()), "{m} {path}");
            if wants_token {
                assert!(op["responses"].get("401").is_some(), "{m} {path} lacks 401");
            }
            assert!(op["responses"].get("503").is_some(), "{m} {path} lacks 503");
        }
    }
}

#[test]
fn every_documented_operation_is_served_and_other_methods_are_405() {
    let s = TestServer::start();
    let doc = document(&s);
    for (pattern, item) in doc["paths"].as_object().expect("paths") {
        let path = pattern
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let allowed = documented(item);
        assert!(!allowed.is_empty(), "{pattern} has no operation");
        for method in METHODS {
            let r = call(&s, method, &path);
            if allowed.contains(&method) {
                // Unauthenticated, so mostly 401; never "no such method" or "no such route".
                assert_ne!(r.status, 405, "{method} {path}: {}", r.text);
                assert_ne!(r.body["details"], "No such endpoint.", "{method} {path}");
                assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.text);
            } else {
                assert_eq!(
                    r.status, 405,
                    "{method} {path} is not documented: {}",
                    r.text
                );
                assert_eq!(r.body["code"], "method_not_allowed");
                assert_eq!(
                    r.header("allow"),
                    Some(allowed.join(", ").as_str()),
                    "{method} {path}"
                );
            }
        }
    }
}

#[test]
fn lists_are_documented_as_pages_and_errors_as_the_envelope() {
    let s = TestServer::start();
    let doc = document(&s);
    let list = &doc["paths"]["/api/projects/"]["get"];
    let params: Vec<&str> = list["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for p in ["page", "page_size", "organization", "search"] {
        assert!(params.contains(&p), "list_projects lacks {p}: {params:?}");
    }
    let page = list["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .expect("a page schema")
        .trim_start_matches("#/components/schemas/");
    let page = &doc["components"]["schemas"][page];
    for field in ["count", "next", "previous", "results"] {
        assert!(
            page["properties"].get(field).is_some(),
            "page lacks {field}: {page}"
        );
    }
    let headers = &doc["components"]["responses"]["TooManyRequests"]["headers"];
    for h in [
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    ] {
        assert!(headers.get(h).is_some(), "429 lacks {h}");
    }
    let variables = &doc["paths"]["/api/environments/{id}/variables/"]["get"];
    assert!(
        variables["responses"].get("304").is_some(),
        "no 304: {variables}"
    );
    let post = &doc["paths"]["/api/variables/"]["post"]["parameters"];
    assert!(
        post.as_array()
            .expect("parameters")
            .iter()
            .any(|p| p["name"] == "Idempotency-Key"),
        "{post}"
    );

    // A real error has every field the envelope's schema requires, and a documented code.
    let envelope = &doc["components"]["schemas"]["ErrorBody"];
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    let r = s.get("/api/projects/1/", None);
    assert_eq!(r.status, 401);
    for field in envelope["required"].as_array().expect("required") {
        let field = field.as_str().expect("a name");
        assert!(
            r.body.get(field).is_some(),
            "the error lacks {field}: {}",
            r.text
        );
    }
    assert!(
        codes.as_array().expect("codes").contains(&r.body["code"]),
        "{} not in {codes}",
        r.body["code"]
    );
    for code in [
        "validation_failed",
        "not_found",
        "rate_limited",
        "storage_unavailable",
    ] {
        assert!(
            codes.as_array().expect("codes").iter().any(|c| c == code),
            "{code}"
        );
    }
}

#[test]
fn yaml_is_the_same_document() {
    let s = TestServer::start();
    let json = document(&s);
    let r = s.get("/api/schema/?format=yaml", None);
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/yaml"),
        "{:?}",
        r.header("content-type")
    );
    let docs = yaml_rust2::YamlLoader::load_from_str(&r.text).expect("YAML");
    let yaml = &docs[0];
    assert_eq!(yaml["openapi"].as_str(), json["openapi"].as_str());
    let yaml_paths: Vec<&str> = yaml["paths"]
        .as_hash()
        .expect("paths")
        .keys()
        .filter_map(|k| k.as_str())
        .collect();
    let json_paths: Vec<&str> = json["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(yaml_paths, json_paths);

    s.get("/api/schema/?format=xml", None)
        .expect_error(400, "bad_request");
}

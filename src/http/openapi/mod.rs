//! The OpenAPI 3.1 document of the API, served at `/api/schema/` (JSON; `?format=yaml` for
//! YAML). It is built from the code: every route is registered through `routes!`, which reads
//! its path and methods from the handler's `#[utoipa::path]`, and answers are described by the
//! types the handlers serialize. `finish` then adds what every operation shares, once: the
//! security scheme (`Authorization: Token ...`, login and service tokens alike), the error
//! responses in the one envelope, the rate-limit and request-id headers, and `Idempotency-Key`.
//! The document is rendered once per worker at start; serving it costs a copy of bytes.

pub mod bodies;
pub mod routes;

use crate::http::error::ErrorBody;
use crate::http::health::VERSION;
use actix_web::http::header;
use actix_web::ResponseError;
use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::BTreeMap;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Required};
use utoipa::{OpenApi as _, ToSchema};

use routes::routes;

/// The name of the security scheme in the document.
pub const TOKEN: &str = "token";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "KeyNest API",
        version = VERSION,
        description = "Self-hosted secrets manager: organizations, projects, environments and \
            their encrypted, versioned, audited variables. Every error is the `ErrorBody` \
            envelope; every list is paginated (`count`, `next`, `previous`, `results`).",
        license(name = "MIT"),
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Accounts, login tokens and sessions"),
        (name = "organizations"), (name = "members"), (name = "invitations"),
        (name = "projects"), (name = "environments"), (name = "variables"),
        (name = "import-export", description = "Whole environments in and out"),
        (name = "service-tokens", description = "Tokens for machines, one environment each"),
        (name = "audit"),
        (name = "meta", description = "Health, the API root and this document"),
    )
)]
struct ApiDoc;

/// The document's frame: info, tags, the envelope schema. Paths are added by `configure`.
pub fn frame() -> OpenApi {
    ApiDoc::openapi()
}

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![get_schema]);
}

/// The document as served, and which methods each path has (for the `Allow` header of a 405).
pub struct Schema {
    json: web::Bytes,
    yaml: web::Bytes,
    allow: BTreeMap<String, String>,
}

impl Schema {
    /// Finishes the document `configure` collected and renders it.
    pub fn new(mut api: OpenApi) -> Result<Schema, String> {
        finish(&mut api);
        let allow = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| (path.clone(), methods(item).join(", ")))
            .collect();
        let json = api.to_json().map_err(|e| format!("OpenAPI: {e}"))?;
        let yaml = api.to_yaml().map_err(|e| format!("OpenAPI: {e}"))?;
        Ok(Schema {
            json: json.into(),
            yaml: yaml.into(),
            allow,
        })
    }

    /// `GET, POST` for a route pattern such as `/api/projects/`.
    pub fn allow(&self, pattern: &str) -> Option<&str> {
        self.allow.get(pattern).map(String::as_str)
    }
}

/// The methods of a path item, in the order HTTP lists them.
fn methods(item: &PathItem) -> Vec<&'static str> {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ]
    .into_iter()
    .filter(|(_, op)| op.is_some())
    .map(|(m, _)| m)
    .collect()
}

/// This document. JSON by default; `?format=yaml` for YAML.
#[utoipa::path(
    get,
    path = "/api/schema/",
    tag = "meta",
    security(()),
    params(("format" = Option<String>, Query, description = "`json` (the default) or `yaml`",
        pattern = "^(json|yaml)$")),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of the whole API",
            content((Object = "application/json"), (String = "application/yaml"))),
    )
)]
async fn get_schema(req: HttpRequest) -> HttpResponse {
    let q =
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string()).unwrap_or_default();
    let format = q
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.as_str());
    let Some(schema) = req.app_data::<web::Data<Schema>>() else {
        return crate::http::error::ApiError::not_found("No such endpoint.").error_response();
    };
    match format {
        None | Some("" | "json") => HttpResponse::Ok()
            .content_type("application/json")
            .body(schema.json.clone()),
        Some("yaml") => HttpResponse::Ok()
            .content_type("application/yaml; charset=utf-8")
            .insert_header((header::VARY, "Accept"))
            .body(schema.yaml.clone()),
        Some(_) => {
            crate::http::error::ApiError::bad_request("Unknown schema format; use json or yaml.")
                .error_response()
        }
    }
}

/// The error responses, by status: each the envelope, with the `code`s it may carry.
const ERRORS: [(&str, &str, &str); 10] = [
    (
        "400",
        "BadRequest",
        "`validation_failed` (`details` maps each field to its messages) or `bad_request`",
    ),
    (
        "401",
        "Unauthorized",
        "`not_authenticated`: no token, or an unknown, ended, revoked or expired one",
    ),
    (
        "403",
        "Forbidden",
        "`permission_denied` (the role or the service token does not allow it) or `quota_exceeded`",
    ),
    (
        "404",
        "NotFound",
        "`not_found`: no such id, not a member, or a page past the end",
    ),
    (
        "408",
        "RequestTimeout",
        "`request_timeout`: the body did not arrive in time",
    ),
    (
        "409",
        "Conflict",
        "`conflict`: a duplicate name, key or email, or the last admin",
    ),
    (
        "413",
        "PayloadTooLarge",
        "`payload_too_large`: a JSON body over 1 MiB, an import over 10 MiB",
    ),
    (
        "429",
        "TooManyRequests",
        "`rate_limited`: a rate limit was hit; `Retry-After` says when to retry",
    ),
    (
        "500",
        "InternalError",
        "`internal_error`: a bug or a disk error (the cause is in the log only)",
    ),
    (
        "503",
        "ServiceUnavailable",
        "`actor_unavailable` or `storage_unavailable`; `Retry-After` is set",
    ),
];

fn string_header(description: &str) -> Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
        .build()
}

fn integer_header(description: &str) -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .description(Some(description))
        .build()
}

/// Headers every answer may carry: the request id always, the rate-limit headers on every
/// route that is limited (all but `/health/`, and none when limiting is off).
fn add_common_headers(res: &mut Response) {
    let h = &mut res.headers;
    h.entry("X-Request-Id".into()).or_insert_with(|| {
        string_header("The request's id: the client's `X-Request-Id` if valid, else made up")
    });
    h.entry("X-RateLimit-Limit".into())
        .or_insert_with(|| integer_header("Requests allowed per period (the hourly limit)"));
    h.entry("X-RateLimit-Remaining".into())
        .or_insert_with(|| integer_header("Requests left in the period"));
    h.entry("X-RateLimit-Reset".into())
        .or_insert_with(|| integer_header("When the allowance is whole again, in epoch seconds"));
}

fn error_response(status: &str, description: &str) -> Response {
    let mut res = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(RefOr::Ref(Ref::from_schema_name(ErrorBody::name())))),
        )
        .build();
    if status == "429" || status == "503" {
        res.headers.insert(
            "Retry-After".into(),
            integer_header("Seconds to wait before retrying"),
        );
    }
    add_common_headers(&mut res);
    res
}

/// Adds to the collected document what every operation shares.
fn finish(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    components.security_schemes.insert(
        TOKEN.into(),
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "`Token <40 hex characters>` from register or login (a session), or `Token kns_...` \
             (a service token: one environment, read or read_write).",
        ))),
    );
    for (status, name, description) in ERRORS {
        components
            .responses
            .insert(name.into(), RefOr::T(error_response(status, description)));
    }
    for (path, item) in api.paths.paths.iter_mut() {
        for (method, op) in [
            ("GET", &mut item.get),
            ("POST", &mut item.post),
            ("PUT", &mut item.put),
            ("PATCH", &mut item.patch),
            ("DELETE", &mut item.delete),
        ] {
            if let Some(op) = op {
                finish_operation(path, method, op);
            }
        }
    }
}

/// Security, the errors an operation can answer, and headers. An operation marked public
/// (`security(())`) keeps that; its own error responses (login's 401) are kept.
fn finish_operation(path: &str, method: &str, op: &mut Operation) {
    let secured = op.security.is_none();
    if secured {
        op.security = Some(vec![SecurityRequirement::new(TOKEN, Vec::<String>::new())]);
    }
    let params = op.parameters.get_or_insert_with(Vec::new);
    let write = method != "GET";
    if write {
        params.push(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Retrying with the same key within 24 hours answers the first outcome \
                     again without applying anything twice (1 to 255 visible ASCII characters; \
                     checked but not replayed on register, login and logout)",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[!-~]+$")),
                ))
                .build(),
        );
    }
    // The server reads a query parameter given empty (`?page=`) as not given, as HTML forms
    // send them; `allowEmptyValue` says so. utoipa has no field for it, so it goes in through
    // the parameter's extensions, which are written flat into the parameter object.
    for p in params.iter_mut() {
        if p.parameter_in == ParameterIn::Query {
            p.extensions
                .get_or_insert_with(Default::default)
                .insert("allowEmptyValue".into(), true.into());
        }
    }
    let has_path_id = path.contains('{');
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let paged = params.iter().any(|p| p.name == "page");
    let has_body = op.request_body.is_some();
    let limited = path.starts_with("/api/");
    let mut statuses = vec!["500", "503"];
    if has_query || has_body || write {
        statuses.push("400");
    }
    if secured {
        statuses.extend(["401", "403"]);
    }
    // A write names its parent (a project's organization, a variable's environment).
    if has_path_id || paged || (write && secured) {
        statuses.push("404");
    }
    if has_body {
        statuses.extend(["408", "413"]);
    }
    if write && secured {
        statuses.push("409");
    }
    if limited {
        statuses.push("429");
    }
    for (status, name, _) in ERRORS {
        if statuses.contains(&status) {
            op.responses
                .responses
                .entry(status.into())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
    for res in op.responses.responses.values_mut() {
        if let RefOr::T(res) = res {
            add_common_headers(res);
        }
    }
}

//! The dashboard at `/`: server-rendered HTML (maud) over the same facade calls the JSON API
//! makes. Handlers here parse a form, authenticate the cookie (`session`), call `Keynest`, and
//! render a page or redirect (POST/redirect/GET); they never call the server's own HTTP API.
//! One small script (`assets/app.js`) adds reveal, copy, confirm and the key filter; every page
//! works without it except revealing a value.
//!
//! Every dashboard response carries a strict Content-Security-Policy (no inline script or style),
//! `X-Frame-Options: DENY`, `nosniff` and `Referrer-Policy: same-origin` (not `no-referrer`:
//! with it Chromium sends `Origin: null` on our own forms, which the sign-in's cross-site check
//! must refuse); see `headers`.

pub mod account;
pub mod assets;
pub mod audit;
pub mod envs;
pub mod layout;
pub mod members;
pub mod orgs;
pub mod projects;
pub mod session;
pub mod tokens;
pub mod vars;

use crate::http::error::ApiError;
use actix_web::dev::{HttpServiceFactory, Payload};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use keynest_actors::page::{PageRequest, Paged, MAX_PAGE_SIZE};
use serde_json::{Map, Value};
pub use session::WebUser;

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

/// The headers every dashboard answer carries.
pub fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
}

/// A dashboard route: its headers, and gzip (pages of names compress ~5x; no page carries a value
/// or an unmasked token, see `session`).
pub fn page(r: actix_web::Resource) -> impl HttpServiceFactory {
    pages_errors(r)
        .wrap(actix_web::middleware::Compress::default())
        .wrap(headers())
}

/// A dashboard route whose answer holds a value or a token: not compressed.
pub fn secret(r: actix_web::Resource) -> impl HttpServiceFactory {
    pages_errors(r).wrap(headers())
}

/// A path that names nothing (`/envs/abc/`) or a form that cannot be read (or is over 1 MiB)
/// answers a page, as everything else in the dashboard does, not the API's JSON.
fn pages_errors(r: actix_web::Resource) -> actix_web::Resource {
    r.app_data(
        web::PathConfig::default().error_handler(|_, _| {
            WebError::Api(ApiError::not_found("There is no such page.")).into()
        }),
    )
    .app_data(web::QueryConfig::default().error_handler(|_, _| {
        WebError::Api(ApiError::bad_request(
            "The address's query could not be read.",
        ))
        .into()
    }))
    // A value may be 64 KiB and a bulk edit several of them (actix's default is 256 KiB for a
    // body read whole; forms are read as bytes by `Fields`).
    .app_data(web::PayloadConfig::new(crate::http::JSON_LIMIT))
}

/// A submitted form's fields, in order, decoded strictly: a field that is not UTF-8 once
/// percent-decoded refuses the form (actix's `Form` would replace the bytes with U+FFFD and the
/// value would be saved altered). Only `application/x-www-form-urlencoded`, at most
/// `JSON_LIMIT` bytes.
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Option<Fields> {
        let decode = |part: &[u8]| {
            let spaced: Vec<u8> = part
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect();
            percent_encoding::percent_decode(&spaced)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        };
        body.split(|&b| b == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (k, v) = match pair.iter().position(|&b| b == b'=') {
                    Some(i) => (&pair[..i], &pair[i + 1..]),
                    None => (pair, &b""[..]),
                };
                Some((decode(k)?, decode(v)?))
            })
            .collect::<Option<Vec<_>>>()
            .map(Fields)
    }
}

impl std::ops::Deref for Fields {
    type Target = [(String, String)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRequest for Fields {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let unreadable = || WebError::Api(ApiError::bad_request("The form could not be read."));
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_form {
                return Err(unreadable());
            }
            let body = body.await.map_err(|_| unreadable())?;
            Fields::parse(&body).ok_or_else(unreadable)
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(assets::configure)
        .configure(account::configure)
        .configure(orgs::configure)
        .configure(members::configure)
        .configure(projects::configure)
        .configure(envs::configure)
        .configure(tokens::configure)
        .configure(vars::configure)
        .configure(audit::configure);
}

/// What a dashboard handler answers when it fails: a page, never JSON.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in: to the sign-in page.
    SignIn,
    /// A POST without this session's CSRF token.
    Csrf,
    /// Anything else, shown as a page with its status.
    Api(ApiError),
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Api(e)
    }
}

impl From<keynest_actors::error::DomainError> for WebError {
    fn from(e: keynest_actors::error::DomainError) -> Self {
        WebError::Api(e.into())
    }
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebError::SignIn => f.write_str("sign in"),
            WebError::Csrf => f.write_str("csrf"),
            WebError::Api(e) => e.fmt(f),
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::SignIn => StatusCode::SEE_OTHER,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::SignIn => redirect("/login/"),
            WebError::Csrf => layout::error_page(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form's security token is missing or does not belong to your session. \
                 Go back, reload the page and try again.",
            ),
            WebError::Api(e) => {
                layout::error_page(e.status_code(), e.code.headline(), &message(&e.details))
            }
        }
    }
}

pub type WebResult<T = HttpResponse> = Result<T, WebError>;

/// An error's details as one line: `text`, or `field: message; field: message`.
pub fn message(details: &Value) -> String {
    match details {
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                let msgs = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|m| m.as_str().unwrap_or_default().to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                    other => other.as_str().unwrap_or_default().to_string(),
                };
                if k == "non_field_errors" {
                    msgs
                } else {
                    format!("{}: {msgs}", k.replace('_', " "))
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// 303 to `to` (a path of ours).
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// After a form: back to `to` with a notice, or with the error that refused it. The notice
/// travels in a short-lived cookie (`layout::flash_name`), never in the URL.
pub fn done(to: &str, outcome: Result<String, ApiError>) -> HttpResponse {
    let (kind, text) = match outcome {
        Ok(text) => ("ok", text),
        Err(e) => ("error", message(&e.details)),
    };
    let mut res = redirect(to);
    let _ = res.add_cookie(&layout::flash_cookie(kind, &text));
    res
}

/// A signed-in user for a page (GET): else to the sign-in page.
impl FromRequest for WebUser {
    type Error = WebError;
    type Future = std::future::Ready<Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(session::identify(req).ok_or(WebError::SignIn))
    }
}

/// A form posted by a signed-in user with this session's CSRF token: the fields, as the JSON
/// object the API's parsers take (`fields_json`).
pub struct Posted {
    pub user: WebUser,
    pub form: Vec<(String, String)>,
}

impl Posted {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The fields as a JSON object for the API's input parsers (`NewProject::parse`, ...).
    pub fn json(&self) -> Map<String, Value> {
        fields_json(&self.form)
    }
}

/// Form fields as JSON: ids and numbers as numbers, `true`/`false` as booleans, empty fields
/// left out (an optional field not given) but for `value` and `description`, the CSRF token
/// dropped.
pub fn fields_json(form: &[(String, String)]) -> Map<String, Value> {
    const NUMBERS: [&str; 5] = [
        "organization",
        "project",
        "environment",
        "version",
        "expires_in_days",
    ];
    let mut map = Map::new();
    for (k, v) in form {
        // An empty value or description is a value ("", which clears a description); any other
        // empty field is one not given.
        if k == "csrf" || (v.is_empty() && k != "value" && k != "description") {
            continue;
        }
        let value = if NUMBERS.contains(&k.as_str()) {
            match serde_json::from_str::<serde_json::Number>(v.trim()) {
                Ok(n) => Value::Number(n),
                Err(_) => Value::String(v.clone()),
            }
        } else if k == "overwrite" || k == "keep_current" {
            Value::Bool(v == "true" || v == "on")
        } else {
            Value::String(v.clone())
        };
        map.insert(k.clone(), value);
    }
    map
}

impl FromRequest for Posted {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = session::identify(req);
        let form = Fields::from_request(req, payload);
        Box::pin(async move {
            let user = user.ok_or(WebError::SignIn)?;
            let form = form.await?.0;
            let token = form
                .iter()
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.as_str());
            if !token.is_some_and(|t| user.csrf_ok(t)) {
                return Err(WebError::Csrf);
            }
            Ok(Posted { user, form })
        })
    }
}

/// A signed-in user whose request carries this session's CSRF token in the `X-CSRF-Token`
/// header (the script's fetches) or the `csrf` query parameter (the multipart import form).
pub struct Checked(pub WebUser);

impl FromRequest for Checked {
    type Error = WebError;
    type Future = std::future::Ready<Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            let user = session::identify(req).ok_or(WebError::SignIn)?;
            let header = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
                .ok()
                .and_then(|q| q.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.clone()));
            match header.or(query) {
                Some(t) if user.csrf_ok(&t) => Ok(Checked(user)),
                _ => Err(WebError::Csrf),
            }
        })())
    }
}

/// Every item of a paged list, page after page (the facade pages at most 100 at a time).
pub async fn all<T, F, Fut>(fetch: F) -> Result<Vec<T>, WebError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = keynest_actors::error::DomainResult<Paged<T>>>,
{
    Ok(window(fetch, 1, usize::MAX).await?.items)
}

/// `count` facade pages of 100 from page `first` on (fewer at the end of the list), and the
/// list's whole count. Each facade page skips the ones before it, so a dashboard page of 500
/// starting at 5,000 costs 5,500 reads, not the whole list.
pub async fn window<T, F, Fut>(
    mut fetch: F,
    first: usize,
    count: usize,
) -> Result<Paged<T>, WebError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = keynest_actors::error::DomainResult<Paged<T>>>,
{
    let mut out = Paged {
        count: 0,
        items: Vec::new(),
    };
    for n in first..first.saturating_add(count) {
        let Some(p) = PageRequest::new(n, MAX_PAGE_SIZE) else {
            break;
        };
        if !p.exists(out.count) && n > first {
            break;
        }
        let page = fetch(p).await?;
        out.count = page.count;
        let got = page.items.len();
        out.items.extend(page.items);
        if got < MAX_PAGE_SIZE || p.end() >= page.count {
            break;
        }
    }
    Ok(out)
}

/// The `page` query parameter of a paged dashboard list (1 if absent or unreadable).
pub fn page_number(req: &HttpRequest) -> usize {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .ok()
        .and_then(|q| {
            q.iter()
                .find(|(k, _)| k == "page")
                .and_then(|(_, v)| v.parse().ok())
        })
        .filter(|n: &usize| *n >= 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forms_decode_strictly() {
        let got = Fields::parse(b"a=1+2&b=%2B%26&c&&d=caf%C3%A9").expect("valid");
        assert_eq!(
            got.0,
            form(&[("a", "1 2"), ("b", "+&"), ("c", ""), ("d", "café")])
        );
        assert!(Fields::parse(b"value=%ff%fe").is_none());
        assert!(
            Fields::parse(b"%c3=1").is_none(),
            "a cut sequence in a name"
        );
        assert_eq!(Fields::parse(b"").expect("empty").0, form(&[]));
    }

    #[test]
    fn form_fields_become_the_json_the_api_parsers_take() {
        let got = fields_json(&form(&[
            ("csrf", "00"),
            ("name", "web"),
            ("description", ""),
            ("role", ""),
            ("organization", "3"),
            ("expires_in_days", "0.5"),
            ("version", "x"),
            ("overwrite", "false"),
            ("value", ""),
        ]));
        assert_eq!(
            Value::Object(got),
            json!({"name": "web", "description": "", "organization": 3, "expires_in_days": 0.5,
                   "version": "x", "overwrite": false, "value": ""}),
            "no csrf, empty optional fields left out, an empty value or description kept, \
             numbers as numbers, a non-number left for the parser to refuse"
        );
    }

    #[test]
    fn error_details_read_as_one_line() {
        let cases = [
            (json!("Not found."), "Not found."),
            (
                json!({"key": ["Too long.", "Bad."], "non_field_errors": ["Both."]}),
                "key: Too long. Bad.; Both.",
            ),
            (
                json!({"expires_in_days": ["Too many."]}),
                "expires in days: Too many.",
            ),
        ];
        for (details, want) in cases {
            assert_eq!(message(&details), want, "{details}");
        }
    }
}

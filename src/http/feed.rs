//! The change feed over HTTP: `ETag`/`If-None-Match` on an environment's listing and export (a
//! poller pays a revision read, not a listing, when nothing changed), and
//! `GET /api/environments/{id}/watch/?revision=N` that answers as soon as the environment's
//! revision is past N (or after `timeout` seconds, 30 by default) with `{"revision",
//! "changed"}`. Same permissions as reading the environment; service tokens can watch theirs.

use crate::http::auth::AnyCaller;
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::openapi::bodies::WatchParams;
use crate::http::openapi::routes::routes;
use crate::http::pagination::ListQuery;
use crate::http::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use dashmap::DashMap;
use keynest_actors::error::FieldErrors;
use keynest_actors::model::{Caller, EnvId};
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;
use std::time::Duration;

/// Watches one caller may hold open at once.
pub const MAX_WATCHES_PER_CALLER: u32 = 16;

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![watch_environment]);
}

/// A watch's answer: the environment's current revision, and whether it is past the one asked.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Watched {
    revision: u64,
    changed: bool,
}

fn caller_key(c: &Caller) -> (bool, u64) {
    match &c.service {
        Some(g) => (true, g.token.0),
        None => (false, c.user.0),
    }
}

/// The `ETag` of one caller's view of an environment at `revision`: the revision, and a hash of
/// who asks and what (path and query: the page, the format), since those change the body.
pub fn etag(req: &HttpRequest, caller: &Caller, revision: u64) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    caller_key(caller).hash(&mut h);
    req.path().hash(&mut h);
    req.query_string().hash(&mut h);
    format!("\"{revision}-{:016x}\"", h.finish())
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
pub fn unchanged(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// 304 with the `ETag`, when the client already has this revision.
pub fn not_modified(etag: String) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, etag))
        .finish()
}

/// One open watch of a caller; the count goes down when it is dropped.
struct Watching((bool, u64));

fn watching() -> &'static DashMap<(bool, u64), u32> {
    static OPEN: OnceLock<DashMap<(bool, u64), u32>> = OnceLock::new();
    OPEN.get_or_init(DashMap::new)
}

impl Watching {
    fn start(caller: &Caller) -> ApiResult<Watching> {
        let key = caller_key(caller);
        let mut n = watching().entry(key).or_insert(0);
        if *n >= MAX_WATCHES_PER_CALLER {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("At most {MAX_WATCHES_PER_CALLER} watches may be open at once."),
            ));
        }
        *n += 1;
        Ok(Watching(key))
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        watching().remove_if_mut(&self.0, |_, n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

/// Waits for a change of the environment (a long poll); at most 16 open per caller.
#[utoipa::path(
    get,
    path = "/api/environments/{id}/watch/",
    tag = "variables",
    params(WatchParams),
    responses((status = 200, description = "As soon as the revision is past `revision`, or after `timeout` seconds unchanged", body = Watched))
)]
async fn watch_environment(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let q = ListQuery::from_request(&req)?;
    let mut errors = FieldErrors::default();
    let mut number = |name: &str, default: u64, max: u64| match q.get(name) {
        None => Some(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n <= max => Some(n),
            _ => {
                errors.add(name, format!("Must be a whole number up to {max}."));
                None
            }
        },
    };
    let since = number("revision", 0, u64::MAX);
    let timeout = number("timeout", 30, 60);
    errors.into_result()?;
    let (since, timeout) = (since.unwrap_or(0), timeout.unwrap_or(30).max(1));
    let _open = Watching::start(&caller)?;
    let (revision, changed) = state
        .kn
        .watch(&caller, EnvId(*id), since, Duration::from_secs(timeout))
        .await?;
    Ok(HttpResponse::Ok().json(Watched { revision, changed }))
}

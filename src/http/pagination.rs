//! Reading `page`/`page_size` from a query and rendering a page as the documented
//! `{count, next, previous, results}` with absolute `next`/`previous` URLs. The arithmetic is
//! `keynest_actors::page`'s.

use crate::http::error::{ApiError, ApiResult};
use crate::http::secret_body;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use keynest_actors::error::FieldErrors;
use keynest_actors::page::{PageRequest, Paged, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use serde::Serialize;
use std::collections::HashMap;

/// A list request's query parameters, read once.
pub struct ListQuery(pub HashMap<String, String>);

impl ListQuery {
    pub fn from_request(req: &HttpRequest) -> ApiResult<Self> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .map(|pairs| ListQuery(pairs.into_iter().collect()))
            .map_err(|_| ApiError::bad_request("The query string could not be parsed."))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// An optional numeric id filter; anything else is a field error. Ids are counted from 1, so
    /// none is past `i64::MAX`, which is where the OpenAPI document's `int64` ends.
    pub fn id(&self, name: &str, errors: &mut FieldErrors) -> Option<u64> {
        let v = self.get(name)?;
        v.parse::<i64>()
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .or_else(|| {
                errors.add(name, "Must be a valid id (a positive integer).");
                None
            })
    }

    /// The query and its page, or a 400 naming the bad page parameters: for lists that filter
    /// on nothing, or on values they check themselves.
    pub fn with_page(req: &HttpRequest) -> ApiResult<(Self, PageRequest)> {
        let q = Self::from_request(req)?;
        let mut errors = FieldErrors::default();
        let page = q.page(&mut errors);
        errors.into_result()?;
        Ok((q, page.unwrap_or_default()))
    }

    pub fn page(&self, errors: &mut FieldErrors) -> Option<PageRequest> {
        let mut num = |name: &str, default: usize| match self.get(name) {
            None => Some(default),
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| errors.add(name, "Must be a positive integer."))
                .ok(),
        };
        let (page, size) = (num("page", 1), num("page_size", DEFAULT_PAGE_SIZE));
        let (page, size) = (page?, size?);
        let p = PageRequest::new(page, size);
        if p.is_none() {
            if page == 0 {
                errors.add("page", "Must be a positive integer.");
            } else {
                errors.add(
                    "page_size",
                    format!("Must be between 1 and {MAX_PAGE_SIZE}."),
                );
            }
        }
        p
    }
}

/// Links point at the configured public URL, else at the address this server was reached on as
/// the socket sees it: never at a client's `Host` or `X-Forwarded-Host`, which anyone can set
/// (a link built from them sends the next page, and its token, wherever they like).
fn page_url(req: &HttpRequest, page: usize) -> String {
    let base = req
        .app_data::<actix_web::web::Data<crate::http::AppState>>()
        .and_then(|s| s.public_url.clone())
        .unwrap_or_else(|| format!("http://{}", req.app_config().local_addr()));
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    pairs.retain(|(k, _)| k != "page");
    if page > 1 {
        pairs.push(("page".into(), page.to_string()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let sep = if query.is_empty() { "" } else { "?" };
    format!("{}{}{sep}{query}", base.trim_end_matches('/'), req.path())
}

/// The documented list body, or 404 for a page past the end.
pub fn render<T: Serialize>(
    req: &HttpRequest,
    page: PageRequest,
    paged: Paged<T>,
) -> ApiResult<HttpResponse> {
    if !page.exists(paged.count) {
        return Err(ApiError::not_found("Invalid page."));
    }
    let next = page
        .has_next(paged.count)
        .then(|| page_url(req, page.page() + 1));
    let previous = page.has_previous().then(|| page_url(req, page.page() - 1));
    // Serialized straight from the items, with no intermediate JSON tree, into a buffer that is
    // zeroized once sent: pages of variables and versions carry values.
    let body = PageBody {
        count: paged.count,
        next,
        previous,
        results: paged.items,
    };
    secret_body::json(StatusCode::OK, &body)
}

/// A page of a list: how many items there are in all, links to the pages around this one
/// (absolute URLs, `null` at either end), and this page's items.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PageBody<T> {
    count: usize,
    #[schema(required = true)]
    next: Option<String>,
    #[schema(required = true)]
    previous: Option<String>,
    results: Vec<T>,
}

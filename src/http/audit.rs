//! `/api/audit-logs/`: newest first, with the documented filters.

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::openapi::bodies::{AuditFilter, PageParams};
use crate::http::openapi::routes::routes;
use crate::http::pagination::PageBody;
use crate::http::pagination::{render, ListQuery};
use crate::http::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::audit::QueryAudit;
use keynest_actors::model::AuditView;

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![list_audit_logs]);
}

#[utoipa::path(
    get,
    path = "/api/audit-logs/",
    tag = "audit",
    params(AuditFilter, PageParams),
    responses((status = 200, description = "A page of entries, newest first: the organizations the caller administers, and the caller's own account events", body = PageBody<AuditView>))
)]
async fn list_audit_logs(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (q, page) = ListQuery::with_page(&req)?;
    let filter = keynest_actors::audit::AuditFilter::parse(
        q.get("user"),
        q.get("action"),
        q.get("target_type"),
        q.get("date_from"),
        q.get("date_to"),
    )?;
    let msg = QueryAudit {
        caller: auth.user(),
        filter,
        page,
    };
    render(&req, page, state.kn.query_audit(msg).await?)
}

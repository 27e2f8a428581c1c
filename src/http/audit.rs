//! `/api/audit-logs/`: newest first, with the documented filters.

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::pagination::{render, ListQuery};
use crate::http::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::audit::{AuditFilter, QueryAudit};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/audit-logs/", web::get().to(list_audit_logs));
}

async fn list_audit_logs(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (q, page) = ListQuery::with_page(&req)?;
    let filter = AuditFilter::parse(
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

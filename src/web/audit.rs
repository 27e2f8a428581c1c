//! The audit log, as `GET /api/audit-logs/` shows it to the caller: the entries of the
//! organizations they administer and their own account events, with the same filters, paged.

use crate::http::AppState;
use crate::web::layout::{self, pager, when, Crumb};
use crate::web::{page, page_number, WebResult, WebUser};
use actix_web::{web, HttpRequest};
use keynest_actors::audit::{AuditFilter, QueryAudit};
use keynest_actors::page::PageRequest;
use maud::html;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page(
        web::resource("/audit/").route(web::get().to(audit_page)),
    ));
}

const PAGE: usize = 50;
const FILTERS: [(&str, &str, &str); 5] = [
    ("action", "Action", "text"),
    ("target_type", "Target type", "text"),
    ("user", "User id", "number"),
    ("date_from", "From", "date"),
    ("date_to", "To", "date"),
];

async fn audit_page(
    state: web::Data<AppState>,
    user: WebUser,
    req: HttpRequest,
    q: web::Query<Vec<(String, String)>>,
) -> WebResult {
    let get = |n: &str| {
        q.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let n = page_number(&req);
    let filter = AuditFilter::parse(
        get("user"),
        get("action"),
        get("target_type"),
        get("date_from"),
        get("date_to"),
    );
    let (entries, error) = match filter {
        Ok(filter) => {
            let msg = QueryAudit {
                caller: user.id(),
                filter,
                page: PageRequest::new(n, PAGE).unwrap_or_default(),
            };
            (Some(state.kn.query_audit(msg).await?), None)
        }
        Err(e) => (
            None,
            Some(crate::web::message(
                &crate::http::error::ApiError::from(e).details,
            )),
        ),
    };
    // The filters, kept in the pager's links.
    let kept: Vec<(&str, &str)> = FILTERS
        .iter()
        .filter_map(|(name, ..)| get(name).map(|v| (*name, v)))
        .collect();
    let base = format!(
        "/audit/?{}",
        serde_urlencoded::to_string(&kept).unwrap_or_default()
    );
    let body = html! {
        h1 { "Audit log" }
        form.row-form.filters method="get" action="/audit/" {
            @for (name, label, kind) in FILTERS {
                label { span { (label) } input type=(kind) name=(name) value=(get(name).unwrap_or_default()); }
            }
            button.secondary type="submit" { "Filter" }
            a.button.link href="/audit/" { "Clear" }
        }
        @if let Some(e) = &error { div.flash.error role="alert" { (e) } }
        @if let Some(entries) = &entries {
            div.table-wrap {
                table #audit {
                    thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Target" } th { "Details" } th { "From" } } }
                    tbody {
                        @for a in &entries.items {
                            tr {
                                td.nowrap { (when(&a.timestamp)) }
                                td { (a.user_name) br; span.muted { (a.user_email) } }
                                td { code { (a.action) } }
                                td { (a.target_type) @if let Some(id) = a.target_id { " #" (id) } }
                                td.details {
                                    @for (k, v) in &a.details { span.kv { span.muted { (k) ": " } (v) } " " }
                                }
                                td { (a.ip_address.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            @if entries.items.is_empty() { p.muted { "No entries." } }
            (pager(&base, n, PAGE, entries.count))
        }
    };
    Ok(layout::render(
        &req,
        Some(&user),
        "Audit log",
        &[Crumb("Audit log".into(), None)],
        body,
    ))
}

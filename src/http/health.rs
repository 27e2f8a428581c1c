//! `/health/` and `/api/`: unauthenticated, exactly as documented.

use crate::http::openapi::routes::routes;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

pub const VERSION: &str = "1.0.0";

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![health]).service(routes![api_root]);
}

/// `/health/`'s answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `healthy`, or `unhealthy` once the storage failed.
    #[schema(pattern = "^(healthy|unhealthy)$")]
    status: &'static str,
    service: &'static str,
    version: &'static str,
    /// `failed` (this node's store failed) or `unreachable` (etcd: no current read) when
    /// unhealthy; absent while healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'static str>,
}

/// 200 while the store is sound; 503 with `"storage": "failed"` once it has failed (the server
/// is then stopping, to be started again by its supervisor), or `"unreachable"` on etcd.
#[utoipa::path(
    get,
    path = "/health/",
    tag = "meta",
    security(()),
    responses(
        (status = 200, description = "The store is sound", body = Health),
        (status = 503, description = "The store failed (the server is stopping), or etcd gives this node no current read", body = Health,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
async fn health(state: web::Data<crate::http::AppState>) -> HttpResponse {
    let healthy = Health {
        status: "healthy",
        service: "KeyNest API",
        version: VERSION,
        storage: None,
        details: None,
    };
    // Several nodes (etcd): a node that cannot get a current read from etcd serves nothing, so a
    // load balancer should send its clients elsewhere.
    if state.kn.is_shared() && state.kn.barrier().await.is_err() {
        return HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "5"))
            .json(Health {
                status: "unhealthy",
                storage: Some("unreachable"),
                details: Some(
                    "This node cannot get a current read from etcd (no quorum, or none of its endpoints answers).",
                ),
                ..healthy
            });
    }
    match state.kn.storage_failure() {
        // Exactly the documented body while healthy.
        None => HttpResponse::Ok().json(healthy),
        Some(_) => HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "5"))
            .json(Health {
                status: "unhealthy",
                storage: Some("failed"),
                details: Some(
                    "The storage failed (see the log); the server is stopping and takes no reads or writes.",
                ),
                ..healthy
            }),
    }
}

/// `/api/`'s answer.
#[derive(Serialize, ToSchema)]
pub struct ApiRoot {
    message: &'static str,
    version: &'static str,
    endpoints: Endpoints,
}

#[derive(Serialize, ToSchema)]
pub struct Endpoints {
    authentication: &'static str,
    projects: &'static str,
    health: &'static str,
    admin: &'static str,
}

#[utoipa::path(
    get,
    path = "/api/",
    tag = "meta",
    security(()),
    responses((status = 200, description = "Welcome, and where things are", body = ApiRoot))
)]
async fn api_root() -> web::Json<ApiRoot> {
    web::Json(ApiRoot {
        message: "Welcome to KeyNest API",
        version: VERSION,
        endpoints: Endpoints {
            authentication: "/api/auth/",
            projects: "/api/projects/",
            health: "/health/",
            admin: "/admin/",
        },
    })
}

//! `/health/` and `/api/`: unauthenticated, exactly as documented.

use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub const VERSION: &str = "1.0.0";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/", web::get().to(health))
        .route("/api/", web::get().to(api_root));
}

/// 200 while the store is sound; 503 with `"storage": "failed"` once it has failed (the server
/// is then stopping, to be started again by its supervisor).
async fn health(state: web::Data<AppState>) -> HttpResponse {
    // Several nodes (etcd): a node that cannot get a current read from etcd serves nothing, so a
    // load balancer should send its clients elsewhere.
    if state.kn.is_shared() && state.kn.barrier().await.is_err() {
        return HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "5"))
            .json(json!({
                "status": "unhealthy", "service": "KeyNest API", "version": VERSION,
                "storage": "unreachable",
                "details": "This node cannot get a current read from etcd (no quorum, or none of its endpoints answers)."
            }));
    }
    match state.kn.storage_failure() {
        // Exactly the documented body while healthy.
        None => HttpResponse::Ok()
            .json(json!({"status": "healthy", "service": "KeyNest API", "version": VERSION})),
        Some(_) => HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "5"))
            .json(json!({
                "status": "unhealthy", "service": "KeyNest API", "version": VERSION,
                "storage": "failed",
                "details": "The storage failed (see the log); the server is stopping and takes no reads or writes."
            })),
    }
}

async fn api_root() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": "Welcome to KeyNest API",
        "version": VERSION,
        "endpoints": {
            "authentication": "/api/auth/",
            "projects": "/api/projects/",
            "health": "/health/",
            "admin": "/admin/"
        }
    }))
}

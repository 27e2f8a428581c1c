//! `/health/` and `/api/`: unauthenticated, exactly as documented.

use actix_web::{web, HttpResponse};
use serde_json::json;

pub const VERSION: &str = "1.0.0";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/", web::get().to(health))
        .route("/api/", web::get().to(api_root));
}

async fn health() -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({"status": "healthy", "service": "KeyNest API", "version": VERSION}))
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

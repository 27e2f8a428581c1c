//! The dashboard's one script and one stylesheet, compiled into the binary (nothing is fetched
//! from anywhere else). Each is served under a name carrying a hash of its content, cached for a
//! year and `immutable`, with an `ETag`: a new build changes the name, so no stale copy is used.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const JS: &str = include_str!("assets/app.js");
const CSS: &str = include_str!("assets/app.css");

struct Asset {
    path: String,
    etag: String,
    body: &'static str,
    content_type: &'static str,
}

fn asset(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let hash = hex::encode(&Sha256::digest(body.as_bytes())[..6]);
    Asset {
        path: format!("/assets/{stem}-{hash}.{ext}"),
        etag: format!("\"{hash}\""),
        body,
        content_type,
    }
}

fn assets() -> &'static [Asset; 2] {
    static ASSETS: OnceLock<[Asset; 2]> = OnceLock::new();
    ASSETS.get_or_init(|| {
        [
            asset("app", "js", JS, "text/javascript; charset=utf-8"),
            asset("app", "css", CSS, "text/css; charset=utf-8"),
        ]
    })
}

pub fn js_path() -> &'static str {
    &assets()[0].path
}

pub fn css_path() -> &'static str {
    &assets()[1].path
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(crate::web::page(
        web::resource("/assets/{name}/").route(web::get().to(get_asset)),
    ));
}

async fn get_asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let wanted = format!("/assets/{name}");
    let Some(a) = assets().iter().find(|a| a.path == wanted) else {
        return HttpResponse::NotFound().finish();
    };
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag));
    let mut res = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::ETAG, a.etag.clone()));
    if cached {
        return res.finish();
    }
    res.content_type(a.content_type).body(a.body)
}

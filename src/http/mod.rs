//! The HTTP face: one module per resource, each with `configure`. Handlers parse and
//! authenticate, send one message (through `Keynest`) and render the answer; they never touch the
//! store or the keyring.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod environments;
pub mod error;
pub mod feed;
pub mod guard;
pub mod health;
pub mod idempotency;
pub mod invitations;
pub mod members;
pub mod metrics;
pub mod openapi;
pub mod organizations;
pub mod pagination;
pub mod projects;
pub mod ratelimit;
pub mod request_id;
pub mod secret_body;
pub mod service_tokens;
pub mod transfer;
pub mod variables;

use actix_web::web;
use error::{ApiError, ApiResult};
use keynest_actors::error::FieldErrors;
use keynest_actors::Keynest;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// Shared by every worker.
#[derive(Clone)]
pub struct AppState {
    pub kn: Keynest,
    pub trusted_proxies: Vec<IpAddr>,
    /// `None` when rate limiting is off.
    pub limiter: Option<std::sync::Arc<ratelimit::Limiter>>,
    /// Where clients reach the server (`https://keynest.example.com`), for absolute links.
    pub public_url: Option<String>,
}

/// What every module's `configure` registers its routes on: `utoipa_actix_web`'s wrapper of
/// actix's `ServiceConfig`, narrowed to `routes!` resources. The wrapper alone would still take
/// a plain `.route(...)`, which is served but not documented; this one has no way to do that.
pub struct Config<'a, 'b>(&'a mut utoipa_actix_web::service_config::ServiceConfig<'b>);

impl Config<'_, '_> {
    /// One path and its methods, registered and documented together.
    pub fn service(&mut self, routes: openapi::routes::Routes) -> &mut Self {
        self.0.service(routes);
        self
    }

    pub fn configure(&mut self, f: impl FnOnce(&mut Self)) -> &mut Self {
        f(self);
        self
    }

    pub fn app_data<U: 'static>(&mut self, data: U) -> &mut Self {
        self.0.app_data(data);
        self
    }
}

/// A JSON object body, as handlers take it.
pub type JsonObject = web::Json<Map<String, Value>>;

/// Every route of the API: the one route table, and so the OpenAPI document's paths.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    Config(cfg)
        .app_data(
            web::JsonConfig::default()
                .limit(JSON_LIMIT)
                .content_type_required(false)
                .error_handler(error::json_error),
        )
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .configure(health::configure)
        .configure(accounts::configure)
        .configure(organizations::configure)
        .configure(members::configure)
        .configure(invitations::configure)
        .configure(projects::configure)
        .configure(environments::configure)
        .configure(variables::configure)
        .configure(feed::configure)
        .configure(transfer::configure)
        .configure(service_tokens::configure)
        .configure(audit::configure)
        .configure(openapi::configure);
}

/// Turn collected query errors into a 400.
pub fn check(errors: FieldErrors) -> ApiResult<()> {
    errors.into_result().map_err(ApiError::from)
}

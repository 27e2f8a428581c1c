//! Prometheus metrics for the operator, on a listener of their own (`KEYNEST_METRICS_BIND`) that
//! serves `GET /metrics` and nothing else; the API's address never does. Off by default: then no
//! recorder is installed and every `metrics::` call, here and in the domain crate, does nothing.
//!
//! What is counted where: requests, refusals and failed logins are recorded here, called from
//! the middleware in `server.rs`; the flush thread (`keynest_actors::store`) and the messages in
//! flight to actors (`keynest_actors::keynest`) record through the `metrics` facade; state
//! (store size, organizations loaded, storage failed) is read from `Keynest` at each scrape.
//! Labels stay bounded: a route is its pattern (`/api/variables/{id}/`), never the path with its
//! ids; a method outside the standard ones is `other`; status is the number.

use actix_web::http::Method;
use actix_web::{web, App, HttpResponse, HttpServer};
use keynest_actors::keynest::MESSAGES_IN_FLIGHT;
use keynest_actors::store::{FLUSH_SECONDS, FLUSH_WRITERS};
use keynest_actors::Keynest;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

const REQUESTS: &str = "keynest_http_requests_total";
const REQUEST_SECONDS: &str = "keynest_http_request_duration_seconds";
const REFUSALS: &str = "keynest_rate_limit_refusals_total";
const FAILED_LOGINS: &str = "keynest_failed_logins_total";
const STORE_BYTES: &str = "keynest_store_size_bytes";
const ORGS_LOADED: &str = "keynest_organizations_loaded";
const STORAGE_FAILED: &str = "keynest_storage_failed";

/// The route label of a request that matched no route (404s for made-up paths).
pub const UNMATCHED: &str = "unmatched";

/// Which limit refused a request (`keynest_rate_limit_refusals_total{limit}`).
#[derive(Clone, Copy)]
pub enum Limit {
    /// The per-caller limits checked on every request (burst, per user, per address).
    Requests,
    /// Register and login attempts per client address.
    Auth,
    /// Failed logins per target account.
    LoginAccount,
    /// Requests in progress per client address (`KEYNEST_MAX_REQUESTS_PER_CLIENT`).
    InProgress,
}

impl Limit {
    const ALL: [Limit; 4] = [
        Limit::Requests,
        Limit::Auth,
        Limit::LoginAccount,
        Limit::InProgress,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Limit::Requests => "requests",
            Limit::Auth => "auth",
            Limit::LoginAccount => "login_account",
            Limit::InProgress => "in_progress",
        }
    }
}

/// Install the process-wide recorder. Called once, at start, when metrics are on.
pub fn install() -> Result<PrometheusHandle, String> {
    // Requests: from well under a millisecond (a listing is ~25 us of work) to the slowest
    // import; flushes: sled's flush is ~76 us alone, seconds only on a sick disk.
    const REQUEST_BUCKETS: &[f64] = &[
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0,
    ];
    const FLUSH_BUCKETS: &[f64] = &[
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    ];
    const WRITER_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    let buckets = |b: PrometheusBuilder, name: &str, values: &[f64]| {
        b.set_buckets_for_metric(Matcher::Full(name.to_string()), values)
    };
    let builder = PrometheusBuilder::new();
    let builder = buckets(builder, REQUEST_SECONDS, REQUEST_BUCKETS)
        .and_then(|b| buckets(b, FLUSH_SECONDS, FLUSH_BUCKETS))
        .and_then(|b| buckets(b, FLUSH_WRITERS, WRITER_BUCKETS))
        .map_err(|e| format!("metrics: {e}"))?;
    let handle = builder
        .install_recorder()
        .map_err(|e| format!("metrics: {e}"))?;

    describe_counter!(
        REQUESTS,
        "HTTP requests answered, by route pattern, method and status."
    );
    describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "Time from a request's arrival to its response, by route pattern and method."
    );
    describe_histogram!(
        FLUSH_SECONDS,
        metrics::Unit::Seconds,
        "Duration of one group-commit flush of the store."
    );
    describe_histogram!(
        FLUSH_WRITERS,
        "Writers made durable by one group-commit flush."
    );
    describe_gauge!(
        MESSAGES_IN_FLIGHT,
        "Messages sent to the actors of a kind and not yet answered (queued or being handled)."
    );
    describe_counter!(REFUSALS, "Requests refused by a rate limit, by limit.");
    describe_counter!(
        FAILED_LOGINS,
        "Logins refused for a wrong email or password."
    );
    describe_gauge!(
        STORE_BYTES,
        metrics::Unit::Bytes,
        "Size of the store on disk."
    );
    describe_gauge!(ORGS_LOADED, "Organization actors running.");
    describe_gauge!(
        STORAGE_FAILED,
        "1 once the store has failed (the server then stops), else 0."
    );
    // Present from the first scrape, so that a rate() has a starting point.
    for limit in Limit::ALL {
        counter!(REFUSALS, "limit" => limit.as_str()).absolute(0);
    }
    counter!(FAILED_LOGINS).absolute(0);
    for actor in ["organization", "accounts", "audit"] {
        gauge!(MESSAGES_IN_FLIGHT, "actor" => actor).increment(0.0);
    }
    Ok(handle)
}

/// One answered request.
pub fn request(route: &str, method: &Method, status: u16, took: Duration) {
    let method = method_label(method);
    SERIES.with_borrow_mut(|by_route| {
        if !by_route.contains_key(route) {
            by_route.insert(route.to_string(), Vec::new());
        }
        let Some(series) = by_route.get_mut(route) else {
            return;
        };
        let i = match series
            .iter()
            .position(|s| s.method == method && s.status == status)
        {
            Some(i) => i,
            None => {
                series.push(Series::new(route, method, status));
                series.len() - 1
            }
        };
        series[i].requests.increment(1);
        series[i].seconds.record(took.as_secs_f64());
    });
}

thread_local! {
    /// Each worker's handles, by route: looking a labelled series up in the recorder builds and
    /// hashes its key (and allocates its labels) every time. With the handles kept, a listing
    /// under load measured ~0.7 us more server CPU per request with metrics on than off (of
    /// ~47 us), against ~1.6 us without them. As many as routes x methods x statuses seen.
    static SERIES: RefCell<HashMap<String, Vec<Series>>> = RefCell::default();
}

/// The handles of one (route, method, status).
struct Series {
    method: &'static str,
    status: u16,
    requests: metrics::Counter,
    seconds: metrics::Histogram,
}

impl Series {
    fn new(route: &str, method: &'static str, status: u16) -> Series {
        let route = route.to_string();
        Series {
            method,
            status,
            seconds: histogram!(REQUEST_SECONDS, "route" => route.clone(), "method" => method),
            requests: counter!(
                REQUESTS, "route" => route, "method" => method, "status" => status.to_string()
            ),
        }
    }
}

pub fn refused(limit: Limit) {
    counter!(REFUSALS, "limit" => limit.as_str()).increment(1);
}

pub fn failed_login() {
    counter!(FAILED_LOGINS).increment(1);
}

/// Standard methods by name; anything else a client makes up is one label.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

#[derive(Clone)]
struct Scrape {
    kn: Keynest,
    handle: PrometheusHandle,
}

/// The operator's listener on `bind`: `GET /metrics`, everything else 404. Returned unstarted,
/// with the addresses it is bound to; it handles no signals (the API server's stop stops it).
pub fn listener(
    bind: &str,
    kn: Keynest,
    handle: PrometheusHandle,
) -> Result<(actix_web::dev::Server, Vec<SocketAddr>), String> {
    // Histogram samples wait in a buffer until drained: drain them even when nobody scrapes,
    // so memory stays bounded.
    let upkeep = handle.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let scrape = Scrape { kn, handle };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(scrape.clone()))
            .route("/metrics", web::get().to(render))
            .default_service(web::to(|| async { HttpResponse::NotFound().finish() }))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(bind)
    .map_err(|e| format!("cannot listen on {bind} for metrics: {e}"))?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}

/// The gauges read from the domain now, then everything in the text format.
async fn render(scrape: web::Data<Scrape>) -> HttpResponse {
    let kn = &scrape.kn;
    match kn.store_size_on_disk() {
        Ok(bytes) => gauge!(STORE_BYTES).set(bytes as f64),
        Err(e) => log::warn!("metrics: {e}"),
    }
    gauge!(ORGS_LOADED).set(kn.organizations_loaded() as f64);
    gauge!(STORAGE_FAILED).set(if kn.storage_failure().is_some() {
        1.0
    } else {
        0.0
    });
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(scrape.handle.render())
}

//! Start-up in one place: open the domain, build the app, bind, serve until SIGTERM/Ctrl-C, then
//! let in-flight requests finish and flush the store. `keynest serve` is the only way the server
//! is started, by people, by the tests and by the load test.

use crate::config::{prepare_data_dir, ServeArgs};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::metrics::{self, Limit};
use crate::http::request_id::{self, RequestId};
use crate::http::{self, guard, ratelimit, AppState};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::{
    DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, NormalizePath, TrailingSlash,
};
use actix_web::{web, App, HttpMessage, HttpResponse, HttpServer, ResponseError};
use keynest_actors::Keynest;
use std::sync::Arc;
use std::time::Instant;
use utoipa_actix_web::AppExt;

pub async fn serve(args: ServeArgs) -> Result<(), String> {
    prepare_data_dir(&args.data_dir)?;
    // Installed before the domain starts, so that its first flush is counted.
    let exporter = match args.metrics_bind() {
        Some(bind) => Some((bind, metrics::install()?)),
        None => None,
    };
    let master = args.master_key()?;
    let workers = args.workers();
    let location = args.store_location();
    let store = keynest_actors::store::Store::open_at(&location, &args.data_dir)
        .map_err(|e| e.to_string())?;
    if let keynest_actors::store::Location::Etcd { endpoints, prefix } = &location {
        log::info!("store: etcd at {} under {prefix:?}", endpoints.join(","));
    }
    let kn = Keynest::open_on(
        store,
        &args.data_dir,
        &master,
        workers,
        args.quotas(),
        args.session_policy(),
    )?;
    drop(master);
    if let Some(every) = kn.session_sweep_every() {
        // An expired session is refused on its next use; this deletes the ones never used again.
        let kn = kn.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(every);
            loop {
                tick.tick().await;
                match kn.sweep_sessions().await {
                    Ok(0) => {}
                    Ok(n) => log::info!("ended {n} expired login sessions"),
                    Err(e) => log::warn!("session sweep: {e}"),
                }
            }
        });
    }
    let limiter = args
        .rate_settings()
        .map(|r| Arc::new(ratelimit::Limiter::new(r)));
    if let Some(l) = &limiter {
        // Drop callers whose allowance is whole again, so idle addresses cost no memory.
        let l = l.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(10));
            loop {
                tick.tick().await;
                l.sweep();
            }
        });
    } else {
        log::warn!("rate limiting is off (KEYNEST_RATE_LIMIT=off)");
    }
    match guard::raise_fd_limit() {
        Some(n) => log::info!("open-file limit: {n}"),
        None => log::warn!("could not read the open-file limit"),
    }
    let slots = guard::ClientSlots::new(args.max_requests_per_client);
    let body_timeout = std::time::Duration::from_secs(args.body_timeout.max(1));
    let state = AppState {
        kn: kn.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        limiter,
        public_url: args.public_url.clone(),
    };
    crate::web::session::init_secure(args.public_url.as_deref());
    let cors_origins = cors_origins(&args.cors_origins)?;
    let metrics_on = exporter.is_some();
    // Finding the route pattern is only paid for when something reads it.
    let by_route = metrics_on || args.json_log();
    // The document is checked once here, so that a server that could not render it never starts.
    let schema = web::Data::new(http::openapi::Schema::new(api_document())?);
    let server = HttpServer::new(move || {
        App::new()
            .into_utoipa_app()
            .configure(http::configure)
            .into_app()
            // The dashboard is HTML, not API: outside the document.
            .configure(crate::web::configure)
            .app_data(web::Data::new(state.clone()))
            .app_data(schema.clone())
            .default_service(web::to(no_route))
            // Innermost: on etcd, a request reads only once this node has every write another
            // node acknowledged before it arrived (see `store::etcd`).
            .wrap(actix_web::middleware::from_fn(read_barrier))
            .wrap(ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, method_not_allowed))
            // Innermost of the request's checks: only a request past the connection guard and
            // the rate limits gets its body read for an Idempotency-Key.
            .wrap(actix_web::middleware::from_fn(
                http::idempotency::middleware,
            ))
            .wrap_fn(|req, srv| {
                let decision = ratelimit::decide(req.request());
                let call = match decision.filter(|d| !d.allowed) {
                    None => Ok(srv.call(req)),
                    Some(refused) => {
                        metrics::refused(Limit::Requests);
                        Err((req, refused))
                    }
                };
                async move {
                    match call {
                        Ok(fut) => {
                            let mut res = fut.await?;
                            // A limit the handler checked (login) speaks for the response.
                            let own = res
                                .request()
                                .extensions()
                                .get::<ratelimit::HandlerDecision>()
                                .map(|h| h.0);
                            match own {
                                Some(d) if !d.allowed => metrics::refused(Limit::Auth),
                                // Past the address limit, register and login refuse only for
                                // login's per-account limit.
                                Some(_) if res.status() == StatusCode::TOO_MANY_REQUESTS => {
                                    metrics::refused(Limit::LoginAccount)
                                }
                                _ => {}
                            }
                            if let Some(d) = own.or(decision) {
                                d.write_headers(res.headers_mut());
                            }
                            Ok(res.map_into_left_body())
                        }
                        Err((req, d)) => {
                            let mut resp = d.refusal().error_response();
                            d.write_headers(resp.headers_mut());
                            Ok(req.into_response(resp).map_into_right_body())
                        }
                    }
                }
            })
            .wrap_fn({
                let slots = slots.clone();
                move |mut req, srv| {
                    // Health stays answerable whatever one address does; it reads no body.
                    let slot = if req.path().starts_with("/health") {
                        None
                    } else {
                        let state = req.app_data::<web::Data<AppState>>().cloned();
                        let addr = state
                            .and_then(|s| http::auth::client_ip(req.request(), &s.trusted_proxies))
                            .and_then(|ip| ip.parse().ok());
                        match addr.map(|a| slots.take(a)) {
                            Some(Err(refused)) => {
                                metrics::refused(Limit::InProgress);
                                let mut resp = refused.error_response();
                                resp.head_mut()
                                    .set_connection_type(actix_web::http::ConnectionType::Close);
                                let res = req.into_response(resp).map_into_right_body();
                                return futures_util::future::Either::Left(
                                    futures_util::future::ready(Ok(res)),
                                );
                            }
                            Some(Ok(slot)) => Some(slot),
                            None => None,
                        }
                    };
                    let payload = req.take_payload();
                    req.set_payload(guard::with_deadline(payload, body_timeout));
                    let fut = srv.call(req);
                    futures_util::future::Either::Right(async move {
                        let res = fut.await;
                        drop(slot);
                        res.map(|r| r.map_into_left_body())
                    })
                }
            })
            // Answers carry values and tokens: no cache, shared or private, keeps any of them.
            // Nothing is framed or sniffed, whatever answered (a 404, a 405, a refusal); the
            // dashboard's pages set their own, stricter CSP, which these defaults leave alone.
            .wrap(
                DefaultHeaders::new()
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::X_FRAME_OPTIONS, "DENY"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::REFERRER_POLICY, "same-origin"))
                    .add((
                        header::CONTENT_SECURITY_POLICY,
                        "default-src 'none'; frame-ancestors 'none'",
                    )),
            )
            .wrap(NormalizePath::new(TrailingSlash::Always))
            .wrap(actix_web::middleware::Condition::new(
                !cors_origins.is_empty(),
                cors(&cors_origins),
            ))
            // Outermost: every answer, refusals included, gets its request id, its log line and
            // its count. The log names the path, never the query, a header value or a body.
            .wrap_fn(move |req, srv| {
                let start = Instant::now();
                let id = RequestId::of(req.request());
                let method = req.method().clone();
                let path = req.path().to_string();
                let fut = srv.call(req);
                async move {
                    let res = fut.await?;
                    let took = start.elapsed();
                    let status = res.status().as_u16();
                    // The pattern, not the path: ids would make every variable its own series.
                    let pattern = by_route.then(|| res.request().match_pattern()).flatten();
                    let route = pattern.as_deref().unwrap_or(metrics::UNMATCHED);
                    let us = took.as_micros() as u64;
                    log::info!(
                        method:% = method, route, path:% = path, status, duration_us = us,
                        request_id = id.as_str();
                        "{method} {path} {status} {us}us request_id={}", id.as_str()
                    );
                    if metrics_on {
                        metrics::request(route, &method, status, took);
                    }
                    Ok(request_id::stamp(res, &id))
                }
            })
    })
    .workers(workers)
    .client_request_timeout(std::time::Duration::from_secs(args.header_timeout.max(1)))
    .shutdown_timeout(10)
    // Our own handlers (below), installed before "listening on" is logged: actix installs its
    // own only once the server is first polled, and a SIGTERM before that (a supervisor or a
    // test that took the log line for "ready", on a busy machine) killed the process with no
    // drain and no final flush.
    .disable_signals()
    .bind(&args.bind)
    .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let signals = Signals::install()?;
    // The admin socket first: once the server says it listens, everything is ready.
    let admin = admin_channel(&args, kn.clone())?;
    for addr in server.addrs() {
        log::info!(
            "listening on http://{addr} (data in {})",
            args.data_dir.display()
        );
    }
    let operator = match exporter {
        Some((bind, handle)) => {
            let (listener, addrs) = metrics::listener(bind, kn.clone(), handle)?;
            for addr in addrs {
                log::info!("serving metrics on http://{addr}/metrics");
            }
            let stop = listener.handle();
            actix_web::rt::spawn(listener);
            Some(stop)
        }
        None => None,
    };
    let running = server.run();
    // Fail-stop: once the store fails, drain the requests in flight (they are answered 503) and
    // exit, so that a supervisor starts the server again on what is durable.
    let handle = running.handle();
    let watch = kn.clone();
    actix_web::rt::spawn(async move {
        watch.storage_failed().await;
        // A moment of answering 503 (and /health/ unhealthy) first, so that a load balancer's
        // health check sees why the server goes away.
        actix_web::rt::time::sleep(std::time::Duration::from_secs(1)).await;
        handle.stop(true).await;
    });
    let stopper = running.handle();
    actix_web::rt::spawn(signals.stop(stopper));
    let result = running.await;
    if let Some(admin) = admin {
        admin.stop(true).await;
    }
    if let Some(operator) = operator {
        operator.stop(false).await;
    }
    if let Some(cause) = kn.storage_failure() {
        kn.stop();
        return Err(format!(
            "stopped after a storage failure ({cause}); every write that was acknowledged is on \
             disk. Free space or fix the disk, then start again."
        ));
    }
    log::info!("shutting down: flushing the store");
    kn.flush().map_err(|e| format!("final flush failed: {e}"))?;
    kn.stop();
    result.map_err(|e| format!("server error: {e}"))
}

/// SIGTERM stops gracefully (no new connections, requests in flight finish, up to 10 s); SIGINT
/// (Ctrl-C) and SIGQUIT stop at once, as actix's own handlers did. Either way `serve` then makes
/// the store durable before the process exits.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

impl Signals {
    /// Registered now: a signal from here on is kept until `stop` reads it.
    fn install() -> Result<Signals, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let on = |kind: SignalKind| signal(kind).map_err(|e| format!("cannot handle signals: {e}"));
        Ok(Signals {
            term: on(SignalKind::terminate())?,
            int: on(SignalKind::interrupt())?,
            quit: on(SignalKind::quit())?,
        })
    }

    async fn stop(mut self, server: actix_web::dev::ServerHandle) {
        let graceful = tokio::select! {
            _ = self.term.recv() => true,
            _ = self.int.recv() => false,
            _ = self.quit.recv() => false,
        };
        log::info!(
            "{} received: stopping",
            if graceful {
                "SIGTERM"
            } else {
                "SIGINT/SIGQUIT"
            }
        );
        server.stop(graceful).await;
    }
}

/// The operator's channel: `<data-dir>/admin.sock`, mode 0600, serving `operator::configure`
/// only. Whoever can reach the data directory is the operator; no API token opens it.
#[cfg(unix)]
fn admin_channel(
    args: &ServeArgs,
    kn: keynest_actors::Keynest,
) -> Result<Option<actix_web::dev::ServerHandle>, String> {
    use std::os::unix::fs::PermissionsExt;
    let path = crate::operator::socket_path(&args.data_dir);
    // A socket left by a server that did not stop cleanly (the store's lock proves none runs).
    let _ = std::fs::remove_file(&path);
    let keys = web::Data::new(crate::operator::KeySource::of(args));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(kn.clone()))
            .app_data(keys.clone())
            .configure(crate::operator::configure)
    })
    .workers(1)
    .disable_signals()
    .bind_uds(&path)
    .map_err(|e| format!("cannot open the admin socket {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    let running = server.run();
    let handle = running.handle();
    actix_web::rt::spawn(running);
    Ok(Some(handle))
}

#[cfg(not(unix))]
fn admin_channel(
    _: &ServeArgs,
    _: keynest_actors::Keynest,
) -> Result<Option<actix_web::dev::ServerHandle>, String> {
    Ok(None)
}

/// The allowed origins, checked at start: `scheme://host[:port]` each, or `*` alone.
fn cors_origins(given: &[String]) -> Result<Vec<String>, String> {
    let origins: Vec<String> = given
        .iter()
        .map(|o| o.trim().trim_end_matches('/').to_string())
        .filter(|o| !o.is_empty())
        .collect();
    for o in &origins {
        let valid = o == "*"
            || o.split_once("://").is_some_and(|(scheme, host)| {
                matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/')
            });
        if !valid || (o == "*" && origins.len() > 1) {
            return Err(format!(
                "KEYNEST_CORS_ORIGINS: {o:?} is not an origin like https://app.example.com (or * alone)"
            ));
        }
    }
    Ok(origins)
}

/// CORS for the allowed origins: the API's headers in, its rate-limit and caching headers out,
/// preflights cached for an hour. No credentials mode (the API takes a token header, not
/// cookies), so `*` never goes with credentials.
fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "PUT", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("if-none-match"),
        ])
        .expose_headers([
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "retry-after",
            "etag",
            "content-disposition",
        ])
        .max_age(3600);
    for o in origins {
        cors = if o == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(o)
        };
    }
    cors
}

/// The OpenAPI document of the routes `http::configure` registers: the same call that builds
/// every worker's app, run once on an app that is then dropped.
pub fn api_document() -> utoipa::openapi::OpenApi {
    App::new()
        .into_utoipa_app()
        .openapi(http::openapi::frame())
        .configure(http::configure)
        .split_for_parts()
        .1
}

async fn no_route() -> HttpResponse {
    ApiError::not_found("No such endpoint.").error_response()
}

fn method_not_allowed<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, _) = res.into_parts();
    let body = ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed here.", req.method()),
    );
    let mut answer = body.error_response();
    // The methods the route has, as the document states them (RFC 9110: a 405 says which).
    let allow = req.match_pattern().and_then(|pattern| {
        let schema = req.app_data::<web::Data<http::openapi::Schema>>()?;
        header::HeaderValue::from_str(schema.allow(&pattern)?).ok()
    });
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    let res = ServiceResponse::new(req, answer).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

/// Wait for the store's read barrier (etcd: every write acknowledged by any node before this
/// request is visible here; sled: nothing). `/health/` answers without it.
async fn read_barrier(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let kn = req
        .app_data::<web::Data<AppState>>()
        .filter(|s| s.kn.is_shared() && !req.path().starts_with("/health"))
        .map(|s| s.kn.clone());
    if let Some(kn) = kn {
        kn.barrier().await.map_err(ApiError::from)?;
    }
    next.call(req).await
}

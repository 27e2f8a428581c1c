//! Who is calling: the `Authenticated` extractor (a user's `Authorization: Token <40 hex>`,
//! checked against the token cache), `AnyCaller` (a user or a service token `kns_...`), and the
//! client address used for audit entries and rate limits. Handlers take one of them as an
//! argument and never read headers themselves.

use crate::http::error::{ApiError, ErrorCode};
use crate::http::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use keynest_actors::crypto::TokenHash;
use keynest_actors::model::{Caller, UserId};
use keynest_actors::org::service_tokens::{self, Refused};
use std::future::{ready, Ready};
use std::net::IpAddr;

/// A request whose token is valid: the caller and the token's hash (logout revokes that one).
pub struct Authenticated {
    pub caller: Caller,
    pub token: TokenHash,
}

impl Authenticated {
    pub fn user(&self) -> UserId {
        self.caller.user
    }
}

fn state(req: &HttpRequest) -> Result<&web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>().ok_or_else(|| {
        ApiError::from(keynest_actors::error::DomainError::Internal(
            "no app state".into(),
        ))
    })
}

/// The token of an `Authorization: Token <token>` header.
pub fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthenticated("Authentication credentials were not provided.")
        })?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Token "))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthenticated("Use the header 'Authorization: Token <token>'."))
}

/// Who a request's token names, kept in the request once known: the rate limiter identifies the
/// caller first, and the extractor then reuses that instead of checking the token again.
#[derive(Clone)]
struct Identity(Caller, Option<TokenHash>);

/// The caller a request's token names: a user token, or a service token (which gets the caller
/// its grant, not its creator's rights). Checked once per request.
pub fn identify(req: &HttpRequest) -> Result<(Caller, Option<TokenHash>), ApiError> {
    if let Some(Identity(caller, token)) = req.extensions().get::<Identity>().cloned() {
        return Ok((caller, token));
    }
    let (caller, token) = authenticate(req)?;
    req.extensions_mut().insert(Identity(caller.clone(), token));
    Ok((caller, token))
}

fn authenticate(req: &HttpRequest) -> Result<(Caller, Option<TokenHash>), ApiError> {
    let state = state(req)?;
    let token = bearer(req)?;
    let ip = client_ip(req, &state.trusted_proxies);
    if service_tokens::is_service_token(token) {
        return match state.kn.authenticate_service(token)? {
            Ok((grant, creator)) => Ok((
                Caller {
                    user: creator,
                    ip,
                    service: Some(grant),
                },
                None,
            )),
            Err(Refused::Expired) => {
                Err(ApiError::unauthenticated("This service token has expired."))
            }
            Err(Refused::Unknown) => Err(ApiError::unauthenticated("Invalid token.")),
        };
    }
    match state.kn.tokens().authenticate(token)? {
        Some((user, hash)) => Ok((Caller::user(user, ip), Some(hash))),
        None => Err(ApiError::unauthenticated("Invalid token.")),
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(identify(req).and_then(|(caller, token)| match token {
            Some(token) => Ok(Authenticated { caller, token }),
            None => Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "A service token can only read and write the variables of its environment.",
            )),
        }))
    }
}

/// A user or a service token: for the routes a service token may use (its environment's
/// variables, export and import). The organization actor checks what the caller may do.
pub struct AnyCaller(pub Caller);

impl FromRequest for AnyCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(identify(req).map(|(caller, _)| AnyCaller(caller)))
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` hop that is not itself a trusted proxy. A client that is not a
/// trusted proxy cannot choose its address by sending the header.
pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer.to_string());
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter_map(|hop| hop.parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    let client = forwarded
        .iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .copied();
    Some(client.unwrap_or(peer).to_string())
}

/// The client address of a request that needs no token (register, login).
pub struct ClientIp(pub Option<String>);

impl FromRequest for ClientIp {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(state(req).map(|s| ClientIp(client_ip(req, &s.trusted_proxies))))
    }
}

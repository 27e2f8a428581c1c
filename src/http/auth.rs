//! Who is calling: the `Authenticated` extractor (an `Authorization: Token <40 hex>` header,
//! checked against the token cache) and the client address used for audit entries. Handlers take
//! `Authenticated` as an argument and never read headers themselves.

use crate::http::error::ApiError;
use crate::http::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use keynest_actors::accounts::TokenHash;
use keynest_actors::model::{Caller, UserId};
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

fn authenticate(req: &HttpRequest) -> Result<Authenticated, ApiError> {
    let state = state(req)?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthenticated("Authentication credentials were not provided.")
        })?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Token "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthenticated("Use the header 'Authorization: Token <token>'.")
        })?;
    match state.kn.tokens().authenticate(token)? {
        Some((user, hash)) => Ok(Authenticated {
            caller: Caller {
                user,
                ip: client_ip(req, &state.trusted_proxies),
            },
            token: hash,
        }),
        None => Err(ApiError::unauthenticated("Invalid token.")),
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
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

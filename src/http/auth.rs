//! Who is calling: the `Authenticated` extractor (a user's `Authorization: Token <40 hex>`,
//! checked against the token cache), `AnyCaller` (a user or a service token `kns_...`), and the
//! client address used for audit entries and rate limits. Handlers take one of them as an
//! argument and never read headers themselves.

use crate::http::error::{ApiError, ErrorCode};
use crate::http::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use keynest_actors::crypto::TokenHash;
use keynest_actors::model::{Caller, Idempotency, UserId};
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
                    service: Some(grant),
                    ..Caller::user(creator, ip)
                },
                None,
            )),
            Err(Refused::Expired) => {
                Err(ApiError::unauthenticated("This service token has expired."))
            }
            Err(Refused::Unknown) => Err(ApiError::unauthenticated("Invalid token.")),
        };
    }
    match state.kn.tokens().authenticate(token, ip.as_deref())? {
        Some((user, hash)) => Ok((Caller::session(user, ip, hash), Some(hash))),
        None => Err(ApiError::unauthenticated("Invalid token.")),
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(identify(req).and_then(|(caller, token)| match token {
            Some(token) => Ok(Authenticated {
                caller: with_idempotency(req, caller),
                token,
            }),
            None => Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "A service token can only read and write the variables of its environment.",
            )),
        }))
    }
}

/// The caller, with the request's `Idempotency-Key` (see `http::idempotency`), if it had one.
fn with_idempotency(req: &HttpRequest, mut caller: Caller) -> Caller {
    caller.idempotency = req.extensions().get::<Idempotency>().copied();
    caller
}

/// A user or a service token: for the routes a service token may use (its environment's
/// variables, export and import). The organization actor checks what the caller may do.
pub struct AnyCaller(pub Caller);

impl FromRequest for AnyCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(identify(req).map(|(caller, _)| AnyCaller(with_idempotency(req, caller))))
    }
}

/// An address as one caller: an IPv4 address that arrives IPv4-mapped in IPv6 (a dual-stack
/// `[::]` bind) is that IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
/// `X-Forwarded-For` hops are walked from the right, past trusted proxies, to the first one that
/// is not. A hop that does not parse ends the walk at the last address known good (what lies
/// left of it was written by someone we cannot vouch for), so a client that is not a trusted
/// proxy cannot choose its address by sending the header.
pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> Option<String> {
    let trusted = |ip: &IpAddr| trusted.iter().any(|t| canonical(*t) == *ip);
    let peer = canonical(req.peer_addr()?.ip());
    if !trusted(&peer) {
        return Some(peer.to_string());
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>().map(canonical) {
            Ok(ip) if trusted(&ip) => client = ip,
            Ok(ip) => return Some(ip.to_string()),
            Err(_) => break,
        }
    }
    Some(client.to_string())
}

/// A register or login attempt: counted against its client address's limit before anything
/// else is read. Taken by those handlers, so the limit follows the route, however the path was
/// spelled.
pub struct AuthAttempt {
    pub ip: Option<String>,
}

impl FromRequest for AuthAttempt {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(state(req).and_then(|s| {
            let ip = client_ip(req, &s.trusted_proxies);
            let addr = ip.as_deref().and_then(|i| i.parse::<IpAddr>().ok());
            if let (Some(limiter), Some(addr)) = (&s.limiter, addr) {
                let d = limiter.check_auth(addr, crate::http::ratelimit::now_micros());
                crate::http::ratelimit::enforce(req, d)?;
            }
            Ok(AuthAttempt { ip })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn from(peer: &str, forwarded: &str) -> HttpRequest {
        TestRequest::default()
            .peer_addr(peer.parse().expect("socket address"))
            .insert_header(("x-forwarded-for", forwarded))
            .to_http_request()
    }

    #[test]
    fn a_dual_stack_peer_is_matched_against_its_ipv4_proxy() {
        let trusted = ["127.0.0.1".parse().expect("ip")];
        let req = from("[::ffff:127.0.0.1]:4000", "203.0.113.5");
        assert_eq!(client_ip(&req, &trusted).as_deref(), Some("203.0.113.5"));
        let req = from("[::ffff:10.1.1.1]:4000", "203.0.113.5");
        assert_eq!(
            client_ip(&req, &trusted).as_deref(),
            Some("10.1.1.1"),
            "an untrusted peer is itself, in its IPv4 form"
        );
    }

    #[test]
    fn forwarded_hops_are_walked_from_the_right_and_stop_at_garbage() {
        let trusted = [
            "127.0.0.1".parse().expect("ip"),
            "10.0.0.2".parse().expect("ip"),
        ];
        let cases = [
            ("198.51.100.1, 10.0.0.2", "198.51.100.1"),
            ("6.6.6.6, 198.51.100.1", "198.51.100.1"),
            ("6.6.6.6, garbage", "127.0.0.1"),
            ("6.6.6.6, garbage, 10.0.0.2", "10.0.0.2"),
            ("::ffff:198.51.100.3", "198.51.100.3"),
        ];
        for (hops, want) in cases {
            let req = from("127.0.0.1:4000", hops);
            assert_eq!(client_ip(&req, &trusted).as_deref(), Some(want), "{hops}");
        }
    }
}

//! The dashboard's sign-in: the session cookie (it carries a normal login token, so a dashboard
//! sign-in is one of the sessions `/api/auth/sessions/` lists), the `WebUser` extractor that
//! turns it into a `Caller`, and the CSRF token every state-changing request must carry.
//!
//! The cookie is `HttpOnly` and `SameSite=Strict` (`Secure` when `KEYNEST_PUBLIC_URL` is https).
//! Only the dashboard's routes read it: the API's `Authorization: Token` extractor never does,
//! so a page on another site cannot make the browser call the API as its user.
//!
//! CSRF: the session's secret is a domain-separated SHA-256 of its login token (unguessable
//! without the token, which page scripts cannot read), so nothing is stored. Pages carry it
//! masked with a fresh random pad each time (`pad || pad ^ secret`, as Django does), so a
//! compressed page never repeats the same bytes (BREACH).

use crate::http::auth::client_ip;
use crate::http::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpMessage, HttpRequest};
use keynest_actors::crypto::{is_token_hex, TokenHash};
use keynest_actors::model::{Caller, UserId};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The session cookie's name. Over HTTPS it carries the `__Host-` prefix: a browser then takes
/// it only with `Secure`, `Path=/` and no `Domain`, so neither a sibling subdomain nor a
/// plain-HTTP answer can plant one (signing a victim in to the attacker's account).
pub fn cookie_name() -> &'static str {
    if secure() {
        "__Host-keynest_session"
    } else {
        "keynest_session"
    }
}

/// A signed-in dashboard user: the caller (with its session, so a sign-out ends requests in
/// flight) and the session's CSRF secret.
#[derive(Clone)]
pub struct WebUser {
    pub caller: Caller,
    pub token: TokenHash,
    csrf: [u8; 16],
    /// This request's masked token: one per page, so a page of 500 rows with a form each does
    /// not carry 500 incompressible tokens.
    masked: std::sync::OnceLock<String>,
}

impl WebUser {
    pub fn id(&self) -> UserId {
        self.caller.user
    }

    /// This request's masked CSRF token (64 hex characters), the same in every form of a page
    /// and new for every request.
    pub fn csrf_token(&self) -> String {
        self.masked.get_or_init(|| self.mask()).clone()
    }

    fn mask(&self) -> String {
        let mut pad = [0u8; 16];
        if getrandom::fill(&mut pad).is_err() {
            // Unmasked still checks; it only loses the BREACH mitigation.
            pad = [0; 16];
        }
        let mut out = Vec::with_capacity(32);
        out.extend_from_slice(&pad);
        out.extend(pad.iter().zip(self.csrf).map(|(p, s)| p ^ s));
        hex::encode(out)
    }

    /// Whether `given` is a token `csrf_token` made for this session (compared in constant time).
    pub fn csrf_ok(&self, given: &str) -> bool {
        let Ok(bytes) = hex::decode(given.trim()) else {
            return false;
        };
        if bytes.len() != 32 {
            return false;
        }
        let diff = (0..16).fold(0u8, |acc, i| {
            acc | (bytes[i] ^ bytes[16 + i] ^ self.csrf[i])
        });
        diff == 0
    }
}

fn csrf_secret(token: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"keynest dashboard csrf v1\0");
    h.update(token.as_bytes());
    let d = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

/// The session cookie's token, if the request has one that looks like a token.
fn cookie_token(req: &HttpRequest) -> Option<Zeroizing<String>> {
    let c = req.cookie(cookie_name())?;
    let t = c.value();
    is_token_hex(t).then(|| Zeroizing::new(t.to_string()))
}

/// The signed-in user of a dashboard request, checked once and kept in the request.
pub fn identify(req: &HttpRequest) -> Option<WebUser> {
    if let Some(u) = req.extensions().get::<Option<WebUser>>() {
        return u.clone();
    }
    let user = authenticate(req);
    req.extensions_mut().insert(user.clone());
    user
}

fn authenticate(req: &HttpRequest) -> Option<WebUser> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let token = cookie_token(req)?;
    let ip = client_ip(req, &state.trusted_proxies);
    match state.kn.tokens().authenticate(&token, ip.as_deref()) {
        Ok(Some((user, hash))) => Some(WebUser {
            caller: Caller::session(user, ip, hash),
            token: hash,
            csrf: csrf_secret(&token),
            masked: std::sync::OnceLock::new(),
        }),
        _ => None,
    }
}

/// The user the rate limiter counts a dashboard request against (never for `/api/`).
pub fn rate_key(req: &HttpRequest) -> Option<u64> {
    if req.path().starts_with("/api") {
        return None;
    }
    identify(req).map(|u| u.id().0)
}

/// The cookie that signs a browser in with `token`.
pub fn sign_in_cookie(token: &str) -> Cookie<'static> {
    let mut c = Cookie::build(cookie_name(), token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure())
        .finish();
    c.set_max_age(None);
    c
}

/// The cookie that clears it.
pub fn sign_out_cookie() -> Cookie<'static> {
    let mut c = Cookie::build(cookie_name(), "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure())
        .finish();
    c.make_removal();
    c
}

static HTTPS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Said once at start: whether clients reach the server over HTTPS (a proxy in front,
/// `KEYNEST_PUBLIC_URL`). Every dashboard cookie (the session's and the notice's) is then `Secure`.
pub fn init_secure(public_url: Option<&str>) {
    let _ = HTTPS.set(public_url.is_some_and(|u| u.starts_with("https://")));
}

/// Whether the dashboard's cookies are `Secure` (see `init_secure`).
pub fn secure() -> bool {
    HTTPS.get().copied().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(token: &str) -> WebUser {
        WebUser {
            caller: Caller::user(UserId(1), None),
            token: [0; 32],
            csrf: csrf_secret(token),
            masked: std::sync::OnceLock::new(),
        }
    }

    #[test]
    fn a_csrf_token_checks_only_for_its_own_session() {
        let a = user(&"a".repeat(40));
        let b = user(&"b".repeat(40));
        let t = a.csrf_token();
        assert_eq!(t.len(), 64);
        assert!(a.csrf_ok(&t));
        assert!(!b.csrf_ok(&t), "another session's token");
        assert_eq!(a.csrf_token(), t, "one token per request");
        assert_ne!(
            user(&"a".repeat(40)).mask(),
            t,
            "masked afresh for each request"
        );
        assert!(a.csrf_ok(&a.mask()));
        for bad in ["", "zz", &t[..62], &"0".repeat(64)] {
            assert!(!a.csrf_ok(bad), "{bad:?}");
        }
        let mut flipped = t.into_bytes();
        flipped[63] = if flipped[63] == b'0' { b'1' } else { b'0' };
        assert!(!a.csrf_ok(&String::from_utf8(flipped).expect("hex")));
    }
}

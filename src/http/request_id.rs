//! `X-Request-Id`: one id per request, so that a client's report, the response and the log line
//! can be matched. The client's own id is kept when it is 1 to 128 visible ASCII characters (no
//! spaces or control characters, so it cannot break a log line); otherwise one is made up. The
//! id goes back in the response header and in the error envelope as `"request_id"`. Making up
//! the id, not logging it, is this module's business: the log line is in `server.rs`.

use crate::http::error::Envelope;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::HttpRequest;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, as it goes into the header.
#[derive(Clone, Debug)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The client's `X-Request-Id` when it is acceptable, else a new id.
    pub fn of(req: &HttpRequest) -> RequestId {
        match req.headers().get(&HEADER) {
            Some(v) if acceptable(v.as_bytes()) => RequestId(v.clone()),
            _ => RequestId::generate(),
        }
    }

    /// 16 hex characters: a counter hashed (SipHash) with a key drawn at start, so ids do not
    /// repeat in practice and do not reveal how many requests came before, at no system call
    /// per request. The id is a label, not a secret.
    fn generate() -> RequestId {
        static KEY: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = KEY.get_or_init(Default::default).hash_one(n);
        let text = format!("{id:016x}");
        // Hex digits always make a valid header value.
        RequestId(HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("-")))
    }

    pub fn as_str(&self) -> &str {
        // Only visible ASCII gets in (see `acceptable` and `generate`).
        self.0.to_str().unwrap_or_default()
    }
}

/// 1 to 128 visible ASCII characters (`!` to `~`).
fn acceptable(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// The response on its way out: the id in `X-Request-Id`, and in the envelope of an error
/// (re-rendered with `"request_id"` added; the documented fields stay as they were).
pub fn stamp<B: MessageBody>(
    mut res: ServiceResponse<B>,
    id: &RequestId,
) -> ServiceResponse<EitherBody<B>> {
    let envelope = res.response_mut().extensions_mut().remove::<Envelope>();
    let mut res = match envelope {
        None => res.map_into_left_body(),
        Some(Envelope(mut body)) => {
            body["request_id"] = id.as_str().into();
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            res.map_body(|_, _| EitherBody::right(BoxBody::new(bytes)))
        }
    };
    res.headers_mut().insert(HEADER, id.0.clone());
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a_clients_id_is_kept_only_when_it_is_short_visible_ascii() {
        let long = "a".repeat(129);
        let longest = "b".repeat(128);
        let cases = [
            ("abc-123", true, "plain"),
            ("x", true, "one character"),
            (longest.as_str(), true, "128 characters"),
            (long.as_str(), false, "129 characters"),
            ("has space", false, "a space"),
            ("tab\there", false, "a tab"),
            ("caf\u{e9}", false, "not ASCII"),
        ];
        for (given, kept, what) in cases {
            let req = TestRequest::default()
                .insert_header((
                    HEADER,
                    HeaderValue::from_bytes(given.as_bytes()).expect("hv"),
                ))
                .to_http_request();
            let id = RequestId::of(&req);
            assert_eq!(id.as_str() == given, kept, "{what}");
            assert!(
                acceptable(id.as_str().as_bytes()),
                "{what}: {}",
                id.as_str()
            );
        }
    }

    #[test]
    fn made_up_ids_are_16_hex_and_differ() {
        let req = TestRequest::default().to_http_request();
        let a = RequestId::of(&req);
        let b = RequestId::of(&req);
        assert_eq!(a.as_str().len(), 16);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
    }
}

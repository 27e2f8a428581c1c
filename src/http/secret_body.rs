//! Response bodies that carry values or tokens. They are written into one `SecretBuf`, which
//! never leaves a copy behind when it grows and is zeroized when actix drops the body after the
//! last byte has been handed to its connection. What this does not reach (actix's own write
//! buffer, the kernel's socket buffers, the allocator's free lists) is listed in the README,
//! "Security model".
//!
//! Everything else in `src/http` answers with actix's `.json()`, which serializes into a plain
//! `Vec` that is freed as is: fine for names and ids, not for a value.

use crate::http::error::ApiError;
use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use keynest_actors::error::DomainError;
use serde::Serialize;
use std::io;
use zeroize::Zeroizing;

/// A growable byte buffer for plaintext. Growing moves the bytes into a larger buffer and zeroizes
/// the old one (a `Vec` would hand it back to the allocator as it is); dropping it zeroizes its
/// whole capacity.
pub struct SecretBuf(Zeroizing<Vec<u8>>);

impl SecretBuf {
    /// Sized for the common answer (a page of variables), so most never grow.
    pub fn new() -> Self {
        Self::with_capacity(4096)
    }

    pub fn with_capacity(n: usize) -> Self {
        SecretBuf(Zeroizing::new(Vec::with_capacity(n)))
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let needed = self.0.len() + bytes.len();
        if needed > self.0.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(2 * self.0.capacity())));
            bigger.extend_from_slice(&self.0);
            // The old buffer is zeroized here, as it is dropped.
            self.0 = bigger;
        }
        self.0.extend_from_slice(bytes);
    }

    /// `s` as a JSON string literal (serde_json's escaping, written straight into the buffer).
    pub fn push_json_str(&mut self, s: &str) -> Result<(), ApiError> {
        serde_json::to_writer(&mut *self, s).map_err(serialize_failed)
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The body for actix: the same allocation, no copy; zeroized when actix drops the body.
    pub fn into_bytes(self) -> Bytes {
        Bytes::from_owner(self.0)
    }
}

impl Default for SecretBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl io::Write for SecretBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push(buf);
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.push(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn serialize_failed(e: serde_json::Error) -> ApiError {
    ApiError::from(DomainError::internal("serializing a response", e))
}

/// `value` as a JSON answer with `status`, serialized straight into a `SecretBuf`.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<HttpResponse, ApiError> {
    let mut buf = SecretBuf::new();
    serde_json::to_writer(&mut buf, value).map_err(serialize_failed)?;
    Ok(respond(status, "application/json", buf))
}

/// A `SecretBuf` as the body of an answer; `Cache-Control: no-store` like every answer.
pub fn respond(status: StatusCode, content_type: &str, body: SecretBuf) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn growing_keeps_every_byte_in_order() {
        let mut buf = SecretBuf::with_capacity(1);
        let mut want = Vec::new();
        for i in 0..2000u32 {
            let piece = i.to_string();
            buf.push(piece.as_bytes());
            want.extend_from_slice(piece.as_bytes());
        }
        assert_eq!(buf.as_slice(), want.as_slice());
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "plain",
            "quote \" back \\ slash",
            "line\nbreak\u{1b}",
            "ünï ✓",
        ] {
            let mut buf = SecretBuf::new();
            buf.push_json_str(s).expect("write");
            let want = serde_json::to_string(s).expect("json");
            assert_eq!(buf.as_slice(), want.as_bytes(), "{s:?}");
        }
    }

    #[test]
    fn the_answer_carries_the_buffer_as_its_body() {
        let res = json(StatusCode::CREATED, &serde_json::json!({"token": "abc"})).expect("json");
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(
            res.headers()
                .get(header::CACHE_CONTROL)
                .map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
        let body = res.into_body().try_into_bytes().expect("bytes");
        assert_eq!(&body[..], br#"{"token":"abc"}"#);
    }
}

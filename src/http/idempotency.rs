//! The `Idempotency-Key` header on POST, PATCH, PUT and DELETE: hashed, with a fingerprint of the
//! request it came with (method, path, query, body), and handed to the domain in the caller,
//! which keeps the first outcome with the change and answers a retry with it (see
//! `keynest_actors::idempotency`). The body is read here to fingerprint it and then given back
//! to the handler unchanged.

use crate::http::error::{ApiError, ErrorCode};
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, ResponseError};
use futures_util::StreamExt;
use keynest_actors::crypto::digest;
use keynest_actors::model::Idempotency;

pub const HEADER: &str = "idempotency-key";
/// The largest body fingerprinted: the largest any route accepts (an import in JSON).
const MAX_BODY: usize = 16 * 1024 * 1024;

fn invalid(msg: &str) -> ApiError {
    ApiError::from(keynest_actors::error::DomainError::invalid(
        "Idempotency-Key",
        msg,
    ))
}

/// The hashed key and the request's fingerprint, with the body read and put back.
async fn prepare(req: &mut ServiceRequest) -> Result<Option<Idempotency>, ApiError> {
    let writes = matches!(req.method().as_str(), "POST" | "PATCH" | "PUT" | "DELETE");
    let Some(value) = req.headers().get(HEADER).filter(|_| writes) else {
        return Ok(None);
    };
    let key = value.as_bytes();
    if key.is_empty() || key.len() > 255 || !key.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(invalid(
            "Use 1 to 255 visible ASCII characters, e.g. a UUID, new for each request.",
        ));
    }
    let key = digest(&[b"idempotency-key", key]);
    let mut body = BytesMut::new();
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(crate::http::guard::body_error)?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("The request body is larger than {MAX_BODY} bytes."),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let body: Bytes = body.freeze();
    let fingerprint = digest(&[
        req.method().as_str().as_bytes(),
        b"\0",
        req.path().as_bytes(),
        b"\0",
        req.query_string().as_bytes(),
        b"\0",
        &body,
    ]);
    let again: crate::http::guard::BodyStream =
        Box::pin(futures_util::stream::once(async move { Ok(body) }));
    req.set_payload(Payload::from(again));
    Ok(Some(Idempotency { key, fingerprint }))
}

/// Middleware: fingerprint keyed writes and keep the result in the request for the extractors.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match prepare(&mut req).await {
        Ok(Some(idem)) => {
            req.extensions_mut().insert(idem);
        }
        Ok(None) => {}
        Err(e) => {
            let res = req.into_response(e.error_response());
            return Ok(res.map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

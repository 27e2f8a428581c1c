//! The one mapping from errors to HTTP: status, stable `code`, and the documented envelope
//! `{"error", "details", "code", "timestamp"}`, to which the way out adds `"request_id"`.
//! actix-web's own extractor errors (JSON, path, query) come through here too, so every error a
//! client sees has the same shape.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use keynest_actors::error::{Details, DomainError};
use serde_json::{json, Value};
use std::fmt;

/// Stable, snake_case error codes; this enum and `status` below are the only code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ErrorCode {
    ValidationFailed,
    BadRequest,
    NotAuthenticated,
    PermissionDenied,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    RequestTimeout,
    RateLimited,
    InternalError,
    ActorUnavailable,
    StorageUnavailable,
    QuotaExceeded,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::ActorUnavailable => "actor_unavailable",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::QuotaExceeded => "quota_exceeded",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::ValidationFailed | ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::NotAuthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::PermissionDenied | ErrorCode::QuotaExceeded => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ActorUnavailable | ErrorCode::StorageUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    pub fn headline(self) -> &'static str {
        match self {
            ErrorCode::ValidationFailed => "Validation failed",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::NotAuthenticated => "Authentication required",
            ErrorCode::PermissionDenied => "Permission denied",
            ErrorCode::NotFound => "Not found",
            ErrorCode::MethodNotAllowed => "Method not allowed",
            ErrorCode::Conflict => "Resource already exists",
            ErrorCode::PayloadTooLarge => "Payload too large",
            ErrorCode::RequestTimeout => "Request timeout",
            ErrorCode::RateLimited => "Rate limit exceeded",
            ErrorCode::InternalError => "Internal server error",
            ErrorCode::ActorUnavailable => "Service unavailable",
            ErrorCode::StorageUnavailable => "Storage unavailable",
            ErrorCode::QuotaExceeded => "Quota exceeded",
        }
    }
}

/// The error envelope as the OpenAPI document shows it: what `ApiError::body` writes, plus the
/// `request_id` added on the way out (`error_body_is_the_documented_envelope` holds the two
/// together).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// A headline per code: `Validation failed`, `Not found`, ...
    error: String,
    details: ErrorDetails,
    code: ErrorCode,
    /// When, RFC 3339 in UTC.
    timestamp: String,
    /// The request's id, as in the `X-Request-Id` header and the log line.
    request_id: String,
}

/// Text, or for `validation_failed` (and some conflicts) each field's messages.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ErrorDetails {
    Text(String),
    Fields(std::collections::BTreeMap<String, Vec<String>>),
}

/// The envelope an error response carries, kept in the response's extensions as well: an error
/// is rendered where no request is at hand, so the request id (`request_id::stamp`) is added to
/// it on the way out.
pub struct Envelope(pub Value);

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub details: Value,
}

impl ApiError {
    pub fn new(code: ErrorCode, details: impl Into<String>) -> Self {
        ApiError {
            code,
            details: Value::String(details.into()),
        }
    }

    pub fn bad_request(details: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, details)
    }

    pub fn not_found(details: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, details)
    }

    pub fn unauthenticated(details: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotAuthenticated, details)
    }

    pub fn body(&self) -> Value {
        json!({
            "error": self.code.headline(),
            "details": self.details,
            "code": self.code.as_str(),
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.details)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        if self.code.status() == StatusCode::SERVICE_UNAVAILABLE {
            // The server stops and is started again by its supervisor; a few seconds is typical.
            res.insert_header((actix_web::http::header::RETRY_AFTER, "5"));
        }
        let body = self.body();
        let mut res = res.json(&body);
        res.extensions_mut().insert(Envelope(body));
        res
    }
}

fn details(d: Details) -> Value {
    match d {
        Details::Text(t) => Value::String(t),
        Details::Fields(f) => json!(f.0),
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(what) => {
                let mut what = what.to_string();
                if let Some(first) = what.get_mut(..1) {
                    first.make_ascii_uppercase();
                }
                ApiError::not_found(format!("{what} not found."))
            }
            DomainError::Forbidden(m) => ApiError::new(ErrorCode::PermissionDenied, m),
            DomainError::Conflict(d) => ApiError {
                code: ErrorCode::Conflict,
                details: details(d),
            },
            DomainError::Invalid(f) => ApiError {
                code: ErrorCode::ValidationFailed,
                details: json!(f.0),
            },
            DomainError::Unauthorized(m) => ApiError::unauthenticated(m),
            DomainError::RateLimited { retry_after_secs } => ApiError::new(
                ErrorCode::RateLimited,
                format!("Too many requests. Try again in {retry_after_secs} seconds."),
            ),
            DomainError::QuotaExceeded(m) => ApiError::new(ErrorCode::QuotaExceeded, m),
            DomainError::StorageUnavailable { maybe_applied } => ApiError::new(
                ErrorCode::StorageUnavailable,
                if maybe_applied {
                    "The storage failed while this change was being saved: it may or may not \
                     have been applied. Check before retrying, or retry with the same \
                     Idempotency-Key."
                } else {
                    "The storage is unavailable; nothing was changed. Retry later."
                },
            ),
            DomainError::Contended => ApiError {
                code: ErrorCode::Conflict,
                details: json!(
                    "Other changes to the same records kept being saved first (by other nodes); \
                     nothing was applied. Retry the request."
                ),
            },
            DomainError::Unavailable(cause) => {
                log::error!("actor unavailable: {cause}");
                ApiError::new(
                    ErrorCode::ActorUnavailable,
                    "The service is shutting down or overloaded; try again.",
                )
            }
            DomainError::Internal(cause) => {
                log::error!("internal error: {cause}");
                ApiError::new(ErrorCode::InternalError, "Internal server error")
            }
        }
    }
}

/// JSON bodies: never echo the body back (it may hold a secret), say where it broke.
pub fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("The request body is larger than {limit} bytes."),
        ),
        JsonPayloadError::Payload(e) if crate::http::guard::timed_out(e) => {
            crate::http::guard::body_timeout()
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::bad_request("The request body must be a JSON object.")
        }
        JsonPayloadError::Deserialize(e) => ApiError::bad_request(format!(
            "Malformed JSON at line {}, column {}.",
            e.line(),
            e.column()
        )),
        _ => ApiError::bad_request("The request body could not be read as JSON."),
    };
    api.into()
}

/// A path segment that is not an id names nothing: 404, as for an id that does not exist.
pub fn path_error(_: PathError, req: &HttpRequest) -> actix_web::Error {
    ApiError::not_found(format!("No resource at {}.", req.path())).into()
}

pub fn query_error(_: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("The query string could not be parsed.").into()
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn error_body_is_the_documented_envelope() {
        let schema = serde_json::to_value(ErrorBody::schema()).expect("schema");
        let mut documented: Vec<&str> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        let body = ApiError::not_found("x").body();
        let mut written: Vec<&str> = body
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        // Added on the way out, by `request_id::stamp`.
        written.push("request_id");
        documented.sort_unstable();
        written.sort_unstable();
        assert_eq!(documented, written);
    }

    #[test]
    fn every_error_code_is_documented_as_written() {
        let schema = serde_json::to_value(ErrorCode::schema()).expect("schema");
        let documented = schema["enum"].as_array().expect("an enum");
        let all = [
            ErrorCode::ValidationFailed,
            ErrorCode::BadRequest,
            ErrorCode::NotAuthenticated,
            ErrorCode::PermissionDenied,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::PayloadTooLarge,
            ErrorCode::RequestTimeout,
            ErrorCode::RateLimited,
            ErrorCode::InternalError,
            ErrorCode::ActorUnavailable,
            ErrorCode::StorageUnavailable,
            ErrorCode::QuotaExceeded,
        ];
        assert_eq!(documented.len(), all.len(), "{documented:?}");
        for code in all {
            assert!(documented.iter().any(|d| d == code.as_str()), "{code:?}");
        }
    }
}

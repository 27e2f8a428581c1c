//! The one domain error. Every actor answers `Result<T, DomainError>`; the HTTP crate maps each
//! variant to a status and the documented envelope in exactly one place (`src/http/error.rs`).
//! Messages here are shown to clients, so they name ids and fields, never a value.

use std::collections::BTreeMap;

/// Field name -> messages, rendered as `details: {"field": ["message"]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, msg: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_default()
            .push(msg.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn one(field: &str, msg: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.add(field, msg);
        e
    }

    /// `Ok(())` when nothing was collected, else the collected errors as `Invalid`.
    pub fn into_result(self) -> Result<(), DomainError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self))
        }
    }
}

/// What an error says beyond its headline: a sentence, or errors per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Details {
    Text(String),
    Fields(FieldErrors),
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict")]
    Conflict(Details),
    #[error("validation failed")]
    Invalid(FieldErrors),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// A quota would be exceeded (see `org::quotas`).
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    /// The store has failed (a full disk, an I/O error): nothing more is read or written.
    /// `maybe_applied` when the failure came while this change was being saved.
    #[error("storage unavailable")]
    StorageUnavailable { maybe_applied: bool },
    /// Several nodes (etcd): another node changed the same records first; nothing was applied.
    /// The facade retries such a change on fresh data; a client sees it only if that keeps
    /// happening.
    #[error("contended")]
    Contended,
    /// An actor could not be reached (shutting down, or its mailbox is gone).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The cause goes to the log; the client sees only "Internal server error".
    #[error("internal: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn internal(what: &str, e: impl std::fmt::Display) -> Self {
        DomainError::Internal(format!("{what}: {e}"))
    }

    pub fn conflict(field: &str, msg: impl Into<String>) -> Self {
        DomainError::Conflict(Details::Fields(FieldErrors::one(field, msg)))
    }

    pub fn invalid(field: &str, msg: impl Into<String>) -> Self {
        DomainError::Invalid(FieldErrors::one(field, msg))
    }
}

impl From<actix::MailboxError> for DomainError {
    fn from(e: actix::MailboxError) -> Self {
        DomainError::Unavailable(e.to_string())
    }
}

impl From<sled::Error> for DomainError {
    fn from(e: sled::Error) -> Self {
        DomainError::internal("store", e)
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

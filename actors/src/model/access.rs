//! Who is asking and what they may do: the organization `Role`, a service token's
//! `ServiceAccess` and `ServiceGrant`, and the `Caller` every actor message carries. The role and
//! access enums are also stored (in `Membership` and `ServiceToken`), so their variants are
//! bincode-encoded by position: add new ones at the end.

use super::{EnvId, OrgId, ServiceTokenId, UserId};
use serde::{Deserialize, Serialize};

/// Declared from fewest rights to most: `can_write` relies on the derived order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// Editors and admins write projects, environments and variables, and see values.
    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }

    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

/// Who is asking, and from where (for the audit log). Carried by every message so that the
/// actor, not the handler, decides what the caller may do.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user, or for a service token the user who created it (for `created_by` only: a
    /// service caller never gets that user's rights).
    pub user: UserId,
    pub ip: Option<String>,
    /// Set when the request came with a service token: the one environment it may touch.
    pub service: Option<ServiceGrant>,
    /// The SHA-256 of the login token the request came with, checked again where the change is
    /// made, so a logout ends requests already in flight too. `None` for callers made without a
    /// request (seeding, tests).
    pub session: Option<[u8; 32]>,
    /// The request's `Idempotency-Key`, if it had one: its first outcome is kept with the change
    /// and answered again to a retry.
    pub idempotency: Option<Idempotency>,
}

/// An `Idempotency-Key` (hashed) and a fingerprint of the request that carried it, so that the
/// same key sent with another request is refused rather than answered with the first outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idempotency {
    pub key: [u8; 32],
    pub fingerprint: [u8; 32],
}

impl Caller {
    pub fn user(user: UserId, ip: Option<String>) -> Caller {
        Caller {
            user,
            ip,
            service: None,
            session: None,
            idempotency: None,
        }
    }

    /// A user who came with the login token whose hash is `session`.
    pub fn session(user: UserId, ip: Option<String>, session: [u8; 32]) -> Caller {
        Caller {
            session: Some(session),
            ..Caller::user(user, ip)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ServiceAccess {
    Read,
    ReadWrite,
}

impl ServiceAccess {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "read_write" => Some(Self::ReadWrite),
            _ => None,
        }
    }
}

/// What a valid service token allows: one environment, read or read-write.
#[derive(Debug, Clone)]
pub struct ServiceGrant {
    pub token: ServiceTokenId,
    pub name: String,
    pub org: OrgId,
    pub env: EnvId,
    pub access: ServiceAccess,
}

//! Records as they are stored: bincode behind a format byte (`store.rs`). bincode writes fields
//! and enum variants by position, so their order is part of the on-disk format: add at the end,
//! never reorder. Records hold ids, never names of other records, so a rename shows everywhere at
//! once. Where a record holds a password hash or a sealed value, `Debug` is written by hand (or
//! not derived), so neither is ever printed.

use super::{
    AuditId, EnvId, OrgId, ProjectId, Role, ServiceAccess, ServiceTokenId, Ts, UserId, VarId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentType {
    Development,
    Staging,
    Production,
    Testing,
}

impl EnvironmentType {
    pub const ALL: &'static str = "development, staging, production, testing";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "development" => Some(Self::Development),
            "staging" => Some(Self::Staging),
            "production" => Some(Self::Production),
            "testing" => Some(Self::Testing),
            _ => None,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub date_joined: Ts,
    pub last_login: Option<Ts>,
    pub is_active: bool,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl User {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }

    /// The name shown as `created_by_name` / `user_name`: the full name, else the username.
    pub fn display_name(&self) -> String {
        let full = self.full_name();
        if full.is_empty() {
            self.username.clone()
        } else {
            full
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub user: UserId,
    pub created_at: Ts,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub description: String,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub created_by: UserId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Membership {
    pub role: Role,
    pub joined_at: Ts,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub id: ProjectId,
    pub org: OrgId,
    pub name: String,
    pub description: String,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub created_by: UserId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    pub id: EnvId,
    pub org: OrgId,
    pub project: ProjectId,
    pub name: String,
    pub environment_type: EnvironmentType,
    pub description: String,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub created_by: UserId,
}

/// A variable's current state. `sealed` is the value under the organization's data key, bound to
/// (organization, environment, variable, version) as associated data; see `crypto.rs`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Variable {
    pub id: VarId,
    pub org: OrgId,
    pub env: EnvId,
    pub key: String,
    pub version: u32,
    pub sealed: Vec<u8>,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub created_by: UserId,
    pub updated_by: UserId,
}

impl fmt::Debug for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Variable")
            .field("id", &self.id)
            .field("key", &self.key)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: AuditId,
    /// The organization the change belongs to; `None` for account events.
    pub org: Option<OrgId>,
    pub user: Option<UserId>,
    pub user_name: String,
    pub user_email: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<u64>,
    /// Names and keys only, never a value.
    pub details: BTreeMap<String, String>,
    pub ip_address: Option<String>,
    pub timestamp: Ts,
}

/// One value a variable has had; sealed with its own version in the associated data.
#[derive(Clone, Serialize, Deserialize)]
pub struct VariableVersion {
    pub version: u32,
    pub sealed: Vec<u8>,
    pub created_at: Ts,
    pub created_by: UserId,
}

/// A service token as stored, under the SHA-256 of the token (never the token itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceToken {
    pub id: ServiceTokenId,
    pub org: OrgId,
    pub env: EnvId,
    pub name: String,
    pub access: ServiceAccess,
    pub created_at: Ts,
    pub expires_at: Option<Ts>,
    pub created_by: UserId,
    pub last_used: Option<Ts>,
}

/// An invitation's id, from its own counter: unique across organizations, so the invitee can
/// name it alone (`/api/invitations/{id}/accept/`). Written out here rather than by `ids.rs`'s
/// macro only because that file belongs to another change; it behaves the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvitationId(pub u64);

impl InvitationId {
    pub fn be(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An invitation to join an organization, addressed to an email and not to an account: whoever
/// holds the account with that email when they answer (compared case-insensitively, so also
/// someone who registers after being invited) may accept or decline it. Only accepting makes a
/// membership. Deleted once accepted, declined or revoked (the audit log keeps the story); an
/// expired one stays, refused, until it is revoked or the email is invited again.
#[derive(Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub org: OrgId,
    /// As the admin typed it.
    pub email: String,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: Ts,
    pub expires_at: Ts,
}

impl Invitation {
    /// Whether the invitation can no longer be accepted at `now`.
    pub fn expired(&self, now: Ts) -> bool {
        self.expires_at <= now
    }
}

/// No email in debug output: it names a person who may not have an account, or want one.
impl fmt::Debug for Invitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invitation")
            .field("id", &self.id)
            .field("org", &self.org)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

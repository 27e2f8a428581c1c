//! Records as they are stored (bincode, behind a format byte in `store.rs`) and the views the
//! actors answer with (serde, shaped as the API document shows them). Records hold ids, never
//! names of other records, so a rename shows everywhere at once; views resolve the names.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use zeroize::Zeroizing;

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            pub fn be(self) -> [u8; 8] {
                self.0.to_be_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}
id_type!(
    UserId,
    OrgId,
    ProjectId,
    EnvId,
    VarId,
    AuditId,
    ServiceTokenId
);

/// Microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ts(pub i64);

impl Ts {
    pub fn now() -> Ts {
        Ts(chrono::Utc::now().timestamp_micros())
    }

    /// `2025-08-30T10:30:00Z`, as the API document writes times.
    pub fn rfc3339(self) -> String {
        chrono::DateTime::from_timestamp_micros(self.0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

// ---- stored records ----------------------------------------------------------------------

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

// ---- values ---------------------------------------------------------------------------------

/// A plaintext secret: zeroized on drop, redacted in `Debug`, written out only by `Serialize`
/// (the one place a value is meant to leave: the response body of an authorized read).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    pub fn new(s: String) -> Self {
        SecretValue(Zeroizing::new(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl Serialize for SecretValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

// ---- views: what the actors answer, shaped as the API document ----------------------------

#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    #[serde(flatten)]
    pub user: UserView,
    pub date_joined: String,
    pub last_login: Option<String>,
    pub is_active: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            full_name: u.full_name(),
        }
    }
}

impl From<&User> for ProfileView {
    fn from(u: &User) -> Self {
        ProfileView {
            user: u.into(),
            date_joined: u.date_joined.rfc3339(),
            last_login: u.last_login.map(Ts::rfc3339),
            is_active: u.is_active,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OrgView {
    pub id: OrgId,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub member_count: u64,
    pub project_count: u64,
    pub user_role: Role,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectView {
    pub id: ProjectId,
    pub name: String,
    pub description: String,
    pub organization: OrgId,
    pub organization_name: String,
    pub created_at: String,
    pub updated_at: String,
    pub created_by_name: String,
    pub environment_count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentView {
    pub id: EnvId,
    pub name: String,
    pub project: ProjectId,
    pub project_name: String,
    pub environment_type: EnvironmentType,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub created_by_name: String,
    pub variable_count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariableView {
    pub id: VarId,
    pub key: String,
    /// `None` (JSON null) for callers who may not read values.
    pub decrypted_value: Option<SecretValue>,
    pub environment: EnvId,
    pub environment_name: String,
    pub version: u32,
    pub created_at: String,
    pub updated_at: String,
    pub created_by_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub joined_at: String,
    pub last_login: Option<String>,
}

impl MemberView {
    pub fn new(u: &User, m: &Membership) -> Self {
        MemberView {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            full_name: u.full_name(),
            role: m.role,
            joined_at: m.joined_at.rfc3339(),
            last_login: u.last_login.map(Ts::rfc3339),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub id: AuditId,
    pub user_name: String,
    pub user_email: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<u64>,
    pub details: BTreeMap<String, String>,
    pub ip_address: Option<String>,
    pub timestamp: String,
}

impl From<AuditEntry> for AuditView {
    fn from(a: AuditEntry) -> Self {
        AuditView {
            id: a.id,
            user_name: a.user_name,
            user_email: a.user_email,
            action: a.action,
            target_type: a.target_type,
            target_id: a.target_id,
            details: a.details,
            ip_address: a.ip_address,
            timestamp: a.timestamp.rfc3339(),
        }
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
}

impl Caller {
    pub fn user(user: UserId, ip: Option<String>) -> Caller {
        Caller {
            user,
            ip,
            service: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, Serialize)]
pub struct ServiceTokenView {
    pub id: ServiceTokenId,
    pub name: String,
    pub access: ServiceAccess,
    pub environment: EnvId,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used: Option<String>,
    pub created_by_name: String,
    /// Only in the answer to the creation, the one time the token is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretValue>,
}

/// One value a variable has had; sealed with its own version in the associated data.
#[derive(Clone, Serialize, Deserialize)]
pub struct VariableVersion {
    pub version: u32,
    pub sealed: Vec<u8>,
    pub created_at: Ts,
    pub created_by: UserId,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    pub version: u32,
    pub created_at: String,
    pub created_by_name: String,
    pub decrypted_value: Option<SecretValue>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvRef {
    pub id: EnvId,
    pub name: String,
}

/// Two environments of a project compared by key: no values, only where each key stands.
#[derive(Debug, Clone, Serialize)]
pub struct CompareView {
    pub source: EnvRef,
    pub target: EnvRef,
    pub only_in_source: Vec<String>,
    pub only_in_target: Vec<String>,
    pub different: Vec<String>,
    pub same: Vec<String>,
}

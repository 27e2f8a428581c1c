//! What the actors answer with, shaped as the API document shows them: serde `Serialize` only,
//! never stored, so fields can change with the API. Views resolve the names that records only
//! refer to by id, and carry times as RFC 3339 text. A value appears only as a `SecretValue`, and
//! only in a view built for a caller allowed to read it.

use super::{
    AuditEntry, AuditId, EnvId, EnvironmentType, Invitation, InvitationId, Membership, OrgId,
    ProjectId, Role, SecretValue, ServiceAccess, ServiceTokenId, SessionId, SessionRecord, Ts,
    User, UserId, VarId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileView {
    #[serde(flatten)]
    pub user: UserView,
    pub date_joined: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgView {
    pub id: OrgId,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub member_count: u64,
    pub project_count: u64,
    pub user_role: Role,
    /// The organization's data key: the version new values are sealed with, and the rotation
    /// to it while one runs.
    pub key: KeyView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyView {
    pub version: u32,
    /// `null` when no rotation runs.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub rotation: Option<RotationProgress>,
}

/// Values and versions re-sealed so far, of those there were when the rotation began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotationProgress {
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariableView {
    pub id: VarId,
    pub key: String,
    /// `None` (JSON null) for callers who may not read values.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub decrypted_value: Option<SecretValue>,
    pub environment: EnvId,
    pub environment_name: String,
    pub version: u32,
    pub created_at: String,
    pub updated_at: String,
    pub created_by_name: String,
}

/// A member as the other members see them: who they are in this organization and nothing of
/// their account's activity (no `last_login`, no `date_joined`), which is theirs alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub joined_at: String,
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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    Pending,
    Expired,
}

/// An invitation as its organization's admins see it, and as inviting answers. Built only from
/// what the admin gave and the invitation itself, never from the account (if any) that holds the
/// email, so the answer reads the same whether that account exists or not.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationView {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    pub status: InvitationStatus,
    pub created_at: String,
    pub expires_at: String,
    pub invited_by_name: String,
}

impl InvitationView {
    pub fn new(i: &Invitation, invited_by_name: String, now: Ts) -> Self {
        InvitationView {
            id: i.id,
            email: i.email.clone(),
            role: i.role,
            status: if i.expired(now) {
                InvitationStatus::Expired
            } else {
                InvitationStatus::Pending
            },
            created_at: i.created_at.rfc3339(),
            expires_at: i.expires_at.rfc3339(),
            invited_by_name,
        }
    }
}

/// A pending invitation as its invitee sees it: which organization, who asked, for what role,
/// until when.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceivedInvitationView {
    pub id: InvitationId,
    pub organization: OrgId,
    pub organization_name: String,
    pub invited_by_name: String,
    pub role: Role,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditView {
    pub id: AuditId,
    pub user_name: String,
    pub user_email: String,
    pub action: String,
    pub target_type: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub target_id: Option<u64>,
    pub details: BTreeMap<String, String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceTokenView {
    pub id: ServiceTokenId,
    pub name: String,
    pub access: ServiceAccess,
    pub environment: EnvId,
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expires_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_used: Option<String>,
    pub created_by_name: String,
    /// Only in the answer to the creation, the one time the token is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretValue>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionView {
    pub version: u32,
    pub created_at: String,
    pub created_by_name: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub decrypted_value: Option<SecretValue>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvRef {
    pub id: EnvId,
    pub name: String,
}

/// Two environments of a project compared by key: no values, only where each key stands.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompareView {
    pub source: EnvRef,
    pub target: EnvRef,
    pub only_in_source: Vec<String>,
    pub only_in_target: Vec<String>,
    pub different: Vec<String>,
    pub same: Vec<String>,
}

/// One of the caller's login sessions: when and from where it began and was last used (to the
/// minute), and whether it is the one asking. Never the token or anything derived from it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub id: SessionId,
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub created_ip: Option<String>,
    pub last_used_at: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_used_ip: Option<String>,
    pub current: bool,
}

impl SessionView {
    pub fn new(s: &SessionRecord, current: bool) -> Self {
        SessionView {
            id: s.id,
            created_at: s.created_at.rfc3339(),
            created_ip: s.created_ip.clone(),
            last_used_at: s.last_used_at.rfc3339(),
            last_used_ip: s.last_used_ip.clone(),
            current,
        }
    }
}

//! Records as they are stored: bincode behind a format byte (`store.rs`). bincode writes fields
//! and enum variants by position, so their order is part of the on-disk format: add at the end,
//! never reorder. Records hold ids, never names of other records, so a rename shows everywhere at
//! once. Where a record holds a password hash or a sealed value, `Debug` is written by hand (or
//! not derived), so neither is ever printed.

use super::{
    AuditId, EnvId, InvitationId, OrgId, ProjectId, Role, ServiceAccess, ServiceTokenId, SessionId,
    Ts, UserId, VarId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// A login token as first stored (`t <sha256>`). Kept as it is, beside the `SessionRecord` of the same
/// token, so that the shape a data directory already holds never changes: tokens from before
/// sessions are given one at start (`accounts::sessions::prepare`).
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

/// One login: what register or a login made, stored under the SHA-256 of its token
/// (`T <sha256>`). `last_used_*` is bookkeeping written at most every
/// `SessionPolicy::record_every` and never flushed on its own: a crash may lose the last of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user: UserId,
    pub created_at: Ts,
    pub created_ip: Option<String>,
    pub last_used_at: Ts,
    pub last_used_ip: Option<String>,
}

/// What the server answers when a session has outlived a lifetime.
pub const SESSION_EXPIRED: &str = "Session expired: log in again.";

/// How long a login session may live: unused (`idle_timeout`) and in all (`max_age`). Both off
/// by default, as the API document promises tokens that live until revoked. Stored (`m/sessions`)
/// by the process that serves, so every reader of the store judges sessions by the same rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPolicy {
    pub idle_timeout: Option<Duration>,
    pub max_age: Option<Duration>,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl SessionPolicy {
    pub fn is_off(&self) -> bool {
        self.idle_timeout.is_none() && self.max_age.is_none()
    }

    /// How often a session's `last_used_at` is written (microseconds): once a minute, or a
    /// quarter of a shorter idle timeout, so the stored time is never far behind the idle clock.
    pub fn record_every(&self) -> i64 {
        let minute = 60_000_000;
        self.idle_timeout
            .map_or(minute, |idle| (micros(idle) / 4).clamp(1, minute))
    }

    /// Whether a session created at `created` and last used at `used` has outlived a lifetime at
    /// `now`: unused for longer than the idle timeout, or older than the maximum age.
    pub fn expired(&self, created: Ts, used: Ts, now: Ts) -> bool {
        let past = |since: Ts, limit: Option<Duration>| {
            limit.is_some_and(|l| now.0.saturating_sub(since.0) > micros(l))
        };
        past(created, self.max_age) || past(used, self.idle_timeout)
    }

    /// As `expired`, judged from the stored record alone by someone who has not seen the
    /// session's latest use: its `last_used_at` may be up to `record_every` behind, so the idle
    /// clock is read that much later. (Only the token check, which sees every use, is exact.)
    pub fn expired_as_stored(&self, s: &SessionRecord, now: Ts) -> bool {
        let used = Ts(s.last_used_at.0.saturating_add(self.record_every()));
        self.expired(s.created_at, used, now)
    }

    /// How often expired sessions are swept out: half the shorter lifetime, between a second and
    /// a minute. `None` when sessions never expire.
    pub fn sweep_every(&self) -> Option<Duration> {
        let shortest = match (self.idle_timeout, self.max_age) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some((shortest / 2).clamp(Duration::from_secs(1), Duration::from_secs(60)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Ts {
        Ts(secs * 1_000_000)
    }

    #[test]
    fn sessions_outlive_nothing_unless_a_lifetime_is_set() {
        let off = SessionPolicy::default();
        assert!(off.is_off());
        assert!(!off.expired(at(0), at(0), at(10_000_000)));
        assert_eq!(off.sweep_every(), None);
        assert_eq!(off.record_every(), 60_000_000);
    }

    #[test]
    fn idle_counts_from_the_last_use_and_max_age_from_creation() {
        let p = SessionPolicy {
            idle_timeout: Some(Duration::from_secs(60)),
            max_age: Some(Duration::from_secs(600)),
        };
        let cases = [
            ("used just now", 0, 500, 500, false),
            ("idle exactly the timeout", 0, 100, 160, false),
            ("idle past the timeout", 0, 100, 161, true),
            ("in use but past the maximum age", 0, 600, 601, true),
            ("in use at the maximum age", 0, 600, 600, false),
        ];
        for (what, created, used, now, want) in cases {
            assert_eq!(p.expired(at(created), at(used), at(now)), want, "{what}");
        }
        assert_eq!(
            p.record_every(),
            15_000_000,
            "a quarter of a short idle timeout"
        );
        assert_eq!(p.sweep_every(), Some(Duration::from_secs(30)));
    }

    #[test]
    fn a_stored_last_use_is_given_the_slack_of_its_recording_interval() {
        let p = SessionPolicy {
            idle_timeout: Some(Duration::from_secs(60)),
            max_age: None,
        };
        let s = SessionRecord {
            id: SessionId(1),
            user: UserId(1),
            created_at: at(0),
            created_ip: None,
            last_used_at: at(100),
            last_used_ip: None,
        };
        assert!(p.expired(s.created_at, s.last_used_at, at(170)));
        assert!(
            !p.expired_as_stored(&s, at(170)),
            "may have been used 15 s later"
        );
        assert!(p.expired_as_stored(&s, at(176)));
    }
}

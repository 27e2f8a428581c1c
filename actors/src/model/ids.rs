//! Identifiers and time, the vocabulary every record and view is written in. Ids are newtypes so
//! a project id cannot be passed where an environment id is meant; `be()` gives the big-endian
//! bytes the store's keys are built from, so keys sort in id order.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    ServiceTokenId,
    // From its own counter, unique across organizations, so an invitee can name it alone.
    InvitationId,
    // Sequential, so it says nothing about the token: a listing never shows anything usable.
    SessionId
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

//! The role rules, in one place: who may read, change or administer what in an organization.
//! Viewers read; editors also change projects, environments and variables; admins also change
//! the organization itself, manage members and delete. A service token reaches only the variables
//! of its one environment, and never more than its creator may do there now: a creator who left
//! makes it invalid, one demoted to viewer makes it see keys only.
//! Not being a member looks exactly like the id not existing (`NotFound` naming the record asked
//! for), so ids reveal nothing to outsiders.

use super::OrgReader;
use crate::crypto::token_hash_from;
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::store::{keys, Store};

/// The caller's login session still exists (not logged out or revoked since the request
/// arrived) and, under the stored `SessionPolicy`, has not outlived its lifetimes. Read from the
/// store where a change is made, so a logout ends requests already in flight too; the policy is
/// read there too (one small cached read, as the session is).
pub fn session_alive(store: &Store, caller: &Caller) -> DomainResult<()> {
    let Some(hash) = &caller.session else {
        return Ok(());
    };
    let key = keys::session(hash);
    let policy: SessionPolicy = store.get(keys::SESSION_POLICY)?.unwrap_or_default();
    let alive = if policy.is_off() {
        store.contains(&key)?
    } else {
        match store.get::<SessionRecord>(&key)? {
            Some(s) if policy.expired_as_stored(&s, Ts::now()) => {
                return Err(DomainError::Unauthorized(SESSION_EXPIRED.into()));
            }
            found => found.is_some(),
        }
    };
    if alive {
        Ok(())
    } else {
        Err(DomainError::Unauthorized("Invalid token.".into()))
    }
}

impl OrgReader {
    /// The caller's role here. `what` names the record asked for, so that an outsider's answer
    /// reads the same as for a missing id.
    pub(crate) fn role(&self, caller: &Caller, what: &'static str) -> DomainResult<Role> {
        if caller.service.is_some() {
            return Err(DomainError::Forbidden(
                "A service token can only read and write the variables of its environment.".into(),
            ));
        }
        self.session_alive(caller)?;
        self.store()
            .membership(self.id(), caller.user)?
            .map(|m| m.role)
            .ok_or(DomainError::NotFound(what))
    }

    /// The caller's role, which must allow changes (admin or editor).
    pub(crate) fn writer(&self, caller: &Caller, what: &'static str) -> DomainResult<Role> {
        let role = self.role(caller, what)?;
        if !role.can_write() {
            return Err(DomainError::Forbidden(
                "Viewers cannot change anything in this organization.".into(),
            ));
        }
        Ok(role)
    }

    pub(crate) fn admin(
        &self,
        caller: &Caller,
        what: &'static str,
        action: &str,
    ) -> DomainResult<()> {
        if !self.role(caller, what)?.is_admin() {
            return Err(DomainError::Forbidden(format!("Only admins can {action}.")));
        }
        Ok(())
    }

    fn session_alive(&self, caller: &Caller) -> DomainResult<()> {
        session_alive(self.store(), caller)
    }

    /// The service token behind `g` is still there and unexpired.
    fn grant_alive(&self, g: &ServiceGrant) -> DomainResult<()> {
        let index = self
            .store()
            .get_raw(&keys::env_service_token(g.env, g.token))?;
        let record: Option<ServiceToken> = match index {
            Some(hash) => self
                .store()
                .get(&keys::service_token(&token_hash_from(&hash)?))?,
            None => None,
        };
        match record {
            Some(t) if t.expires_at.is_none_or(|e| e > Ts::now()) => Ok(()),
            _ => Err(DomainError::Unauthorized(
                "This service token has been revoked or has expired.".into(),
            )),
        }
    }

    /// Whether `caller` may read (`write` false) or change the variables of `env`, and whether
    /// they see values. Users go by role; a service token by its one environment and access.
    pub(crate) fn env_access(
        &self,
        caller: &Caller,
        env: EnvId,
        write: bool,
        what: &'static str,
    ) -> DomainResult<bool> {
        if let Some(g) = &caller.service {
            if g.org != self.id() || g.env != env {
                return Err(DomainError::Forbidden(
                    "This service token is for another environment.".into(),
                ));
            }
            // Read at the moment of the change (inside the actor for writes): a token revoked, or
            // a creator removed or demoted, while the request was in flight takes its power away.
            self.grant_alive(g)?;
            let creator = self
                .store()
                .membership(self.id(), caller.user)?
                .map(|m| m.role)
                .ok_or_else(|| {
                    DomainError::Unauthorized(
                        "This service token is no longer valid: its creator left the organization."
                            .into(),
                    )
                })?;
            if write && g.access != ServiceAccess::ReadWrite {
                return Err(DomainError::Forbidden(
                    "This service token is read-only.".into(),
                ));
            }
            if write && !creator.can_write() {
                return Err(DomainError::Forbidden(
                    "This service token's creator is now a viewer: it can no longer write.".into(),
                ));
            }
            return Ok(creator.can_write());
        }
        let role = if write {
            self.writer(caller, what)?
        } else {
            self.role(caller, what)?
        };
        Ok(role.can_write())
    }
}

//! The role rules, in one place: who may read, change or administer what in an organization.
//! Viewers read; editors also change projects, environments and variables; admins also manage
//! members and delete. A service token reaches only the variables of its one environment.
//! Not being a member looks exactly like the id not existing (`NotFound` naming the record asked
//! for), so ids reveal nothing to outsiders.

use super::OrgReader;
use crate::error::{DomainError, DomainResult};
use crate::model::*;

impl OrgReader {
    /// The caller's role here. `what` names the record asked for, so that an outsider's answer
    /// reads the same as for a missing id.
    pub(crate) fn role(&self, caller: &Caller, what: &'static str) -> DomainResult<Role> {
        if caller.service.is_some() {
            return Err(DomainError::Forbidden(
                "A service token can only read and write the variables of its environment.".into(),
            ));
        }
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
            if write && g.access != ServiceAccess::ReadWrite {
                return Err(DomainError::Forbidden(
                    "This service token is read-only.".into(),
                ));
            }
            return Ok(true);
        }
        let role = if write {
            self.writer(caller, what)?
        } else {
            self.role(caller, what)?
        };
        Ok(role.can_write())
    }
}

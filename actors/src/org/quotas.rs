//! Quotas: what one organization (and one user) may hold, so that one tenant cannot fill the
//! disk or make every listing slow for all. Checked by the actor on the change itself, with the
//! counters the change leaves (`Tx::counted`), so a batch import is judged as a whole.

use super::Tx;
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::store::keys;

/// The limits; `u64::MAX` switches one off.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub variables_per_environment: u64,
    pub environments_per_project: u64,
    pub organizations_per_user: u64,
    /// Sealed bytes of every value and version an organization keeps.
    pub bytes_per_organization: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            variables_per_environment: 10_000,
            environments_per_project: 100,
            organizations_per_user: 100,
            bytes_per_organization: 256 * 1024 * 1024,
        }
    }
}

fn exceeded(what: String) -> DomainError {
    DomainError::QuotaExceeded(what)
}

impl Tx<'_> {
    /// After adding or changing values in `env`: still within the variables of the environment
    /// and the bytes of the organization?
    pub(crate) fn within_value_quotas(&self, env: EnvId) -> DomainResult<()> {
        let q = self.r.quotas();
        let vars = self.counted(&keys::vars(env))?;
        if vars > q.variables_per_environment {
            return Err(exceeded(format!(
                "An environment may hold at most {} variables.",
                q.variables_per_environment
            )));
        }
        let bytes = self.counted(&keys::org_bytes(self.r.id()))?;
        if bytes > q.bytes_per_organization {
            return Err(exceeded(format!(
                "An organization may keep at most {} MiB of values and their history; delete \
                 variables it no longer needs.",
                q.bytes_per_organization / (1024 * 1024)
            )));
        }
        Ok(())
    }

    /// Before adding an environment to `project`.
    pub(crate) fn room_for_environment(&self, project: ProjectId) -> DomainResult<()> {
        let max = self.r.quotas().environments_per_project;
        if self.r.store().count(&keys::envs(project))? >= max {
            return Err(exceeded(format!(
                "A project may hold at most {max} environments."
            )));
        }
        Ok(())
    }
}

/// Before `user` joins or creates another organization: the count of their organizations
/// once they have. The change that adds the membership must also write it to `keys::joins`
/// (see there), and be built on a read revision taken before this count (`Store::changes`).
pub fn room_for_organization(
    store: &crate::store::Store,
    quotas: &Quotas,
    user: UserId,
) -> DomainResult<u64> {
    let max = quotas.organizations_per_user;
    let now = store.orgs_of(user)?.len() as u64;
    if now >= max {
        return Err(exceeded(format!(
            "A user may belong to at most {max} organizations."
        )));
    }
    Ok(now + 1)
}

//! An environment's change feed: its revision (a counter every durable change of its variables,
//! or of the environment itself, moves by one: `Tx::touch`) and, in the facade, the watch that
//! answers as soon as it moves. The same permissions as reading the environment.

use super::OrgReader;
use crate::error::DomainResult;
use crate::model::*;
use crate::store::keys;

impl OrgReader {
    /// `env`'s revision, for a caller who may read it (0 before its first change).
    pub fn revision(&self, caller: &Caller, env: EnvId) -> DomainResult<u64> {
        let e = self.environment(env)?;
        self.env_access(caller, e.id, false, "environment")?;
        self.store().counted(&keys::revision(e.id))
    }
}

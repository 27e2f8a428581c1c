//! A variable's history and the comparison of two environments. Every value a variable has had
//! is kept (sealed with its own version in the associated data) until the variable is deleted;
//! a rollback makes a new version holding an old value, so history only ever grows.

use super::views::Names;
use super::{routed, Durable, OrgActor, OrgQuery, OrgReader};
use crate::error::{DomainError, DomainResult};
use crate::input::{Comparison, Rollback};
use crate::model::*;
use crate::page::{PageRequest, Paged, Window};
use crate::store::{self, keys};
use actix::prelude::*;
use std::collections::BTreeMap;

/// A variable's versions, newest first (a query: see `OrgQuery`).
pub struct ListVersions {
    pub caller: Caller,
    pub var: VarId,
    pub page: PageRequest,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<VariableView>")]
pub struct RollbackVariable {
    pub caller: Caller,
    pub var: VarId,
    pub input: Rollback,
}

/// Which keys two environments of a project share, and whether their values agree (a query).
pub struct CompareEnvironments {
    pub caller: Caller,
    pub project: ProjectId,
    pub input: Comparison,
}

routed! {
    ListVersions => Variable(var);
    RollbackVariable => Variable(var);
    CompareEnvironments => Project(project);
}

impl OrgReader {
    /// `old`, a version of `v` read from the store under version number `stored_as`, opened.
    /// It opens only as the version it was sealed as, which its record names; so the record
    /// must be stored under that number, else another version's whole record copied there
    /// (a newer value filed as an older one, or the reverse) would open as this version.
    fn open_version(
        &self,
        v: &Variable,
        stored_as: u32,
        old: &VariableVersion,
    ) -> DomainResult<SecretValue> {
        if old.version != stored_as {
            return Err(super::reader::misplaced(format!(
                "version {stored_as} of variable {}",
                v.id
            )));
        }
        let at = Variable {
            version: old.version,
            sealed: old.sealed.clone(),
            ..v.clone()
        };
        self.open(&at)
    }

    /// Key -> value of an environment, opened.
    fn values_of(&self, env: EnvId) -> DomainResult<BTreeMap<String, SecretValue>> {
        self.variables_in(env)
            .map(|v| {
                let v = v?;
                let value = self.open(&v)?;
                Ok((v.key, value))
            })
            .collect()
    }
}

/// The version number a history key `h <var><version>` ends with.
fn version_in(key: &[u8]) -> DomainResult<u32> {
    key.len()
        .checked_sub(4)
        .and_then(|at| <[u8; 4]>::try_from(&key[at..]).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| DomainError::Internal("a history key without a version".into()))
}

impl OrgQuery for ListVersions {
    type Output = Paged<VersionView>;

    fn run(self, r: &OrgReader) -> DomainResult<Paged<VersionView>> {
        let msg = self;
        let reveal = r.role(&msg.caller, "variable")?.can_write();
        let v = r.variable(msg.var)?;
        let prefix = keys::versions(v.id);
        let count = r.store().count(&prefix)? as usize;
        let entries = r
            .store()
            .scan_raw(&prefix)
            .rev()
            .map(|kv| -> DomainResult<_> {
                let (key, raw) = kv?;
                Ok((version_in(&key)?, store::decode::<VariableVersion>(&raw)?))
            });
        let items = Window::page(msg.page)
            .apply(entries)
            .into_iter()
            .map(|entry| {
                let (stored_as, old) = entry?;
                Ok(VersionView {
                    version: old.version,
                    created_at: old.created_at.rfc3339(),
                    created_by_name: r.name_of(old.created_by)?,
                    decrypted_value: if reveal {
                        Some(r.open_version(&v, stored_as, &old)?)
                    } else {
                        None
                    },
                })
            })
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<RollbackVariable> for OrgActor {
    type Result = Durable<VariableView>;

    fn handle(&mut self, msg: RollbackVariable, _: &mut Self::Context) -> Self::Result {
        let RollbackVariable { caller, var, input } = msg;
        self.write(&caller, |tx| {
            tx.r.role(&caller, "variable")?;
            let mut v = tx.r.variable(var)?;
            tx.r.writer(&caller, "variable")?;
            let old: VariableVersion =
                tx.r.store()
                    .get(&keys::version(v.id, input.version))?
                    .ok_or_else(|| {
                        DomainError::invalid(
                            "version",
                            format!("This variable has no version {}.", input.version),
                        )
                    })?;
            let value = tx.r.open_version(&v, input.version, &old)?;
            let from = v.version;
            let e = tx.r.environment(v.env)?;
            tx.set_value(&mut v, &value, caller.user)?;
            tx.within_value_quotas(v.env)?;
            let ev =
                tx.r.event("variable_rolled_back", "variable", v.id.0)
                    .detail("variable_key", &v.key)
                    .detail("environment_name", &e.name)
                    .detail("from_version", from.to_string())
                    .detail("restored_version", input.version.to_string())
                    .detail("new_version", v.version.to_string());
            let view = tx.r.var_view(&v, &e.name, true, &mut Names::default())?;
            Ok((view, ev))
        })
    }
}

impl OrgQuery for CompareEnvironments {
    type Output = CompareView;

    fn run(self, r: &OrgReader) -> DomainResult<CompareView> {
        let msg = self;
        let project = r.project(msg.project)?;
        // Equal-or-different is derived from values, so only those who may read values compare.
        r.writer(&msg.caller, "project")?;
        let env = |id: EnvId| match r.environment(id) {
            Ok(e) if e.project == project.id => Ok(e),
            _ => Err(DomainError::NotFound("environment")),
        };
        let (source, target) = (env(msg.input.source)?, env(msg.input.target)?);
        let (a, b) = (r.values_of(source.id)?, r.values_of(target.id)?);
        let mut view = CompareView {
            source: EnvRef {
                id: source.id,
                name: source.name,
            },
            target: EnvRef {
                id: target.id,
                name: target.name,
            },
            only_in_source: Vec::new(),
            only_in_target: b.keys().filter(|k| !a.contains_key(*k)).cloned().collect(),
            different: Vec::new(),
            same: Vec::new(),
        };
        for (k, va) in &a {
            match b.get(k) {
                None => view.only_in_source.push(k.clone()),
                Some(vb) if vb == va => view.same.push(k.clone()),
                Some(_) => view.different.push(k.clone()),
            }
        }
        Ok(view)
    }
}

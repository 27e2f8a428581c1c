//! An environment's variables: create, change (key and/or value), delete. Every value a variable
//! takes is kept as a numbered version (see `history`); the reads (one variable, a page of them)
//! run off the actor on `OrgReader`. Keys are unique per environment.

use super::projects::refuse_move;
use super::views::Names;
use super::{routed, Durable, OrgActor, Tx};
use crate::error::{DomainError, DomainResult};
use crate::input::{NewVariable, VariableKey, VariablePatch};
use crate::model::*;
use crate::store::keys;
use actix::prelude::*;

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<VariableView>")]
pub struct CreateVariable {
    pub caller: Caller,
    pub input: NewVariable,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<VariableView>")]
pub struct UpdateVariable {
    pub caller: Caller,
    pub id: VarId,
    pub patch: VariablePatch,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct DeleteVariable {
    pub caller: Caller,
    pub id: VarId,
}

routed! {
    CreateVariable => Environment(input.env);
    UpdateVariable => Variable(id);
    DeleteVariable => Variable(id);
}

fn key_taken() -> DomainError {
    DomainError::conflict(
        "key",
        "A variable with this key already exists in this environment.",
    )
}

impl Tx<'_> {
    /// A new variable holding `value` as version 1, with every record it needs.
    pub(crate) fn add_variable(
        &mut self,
        env: EnvId,
        key: &VariableKey,
        value: &SecretValue,
        by: UserId,
    ) -> DomainResult<Variable> {
        let now = Ts::now();
        let mut v = Variable {
            id: VarId(self.r.store().next_id("variable")?),
            org: self.r.id(),
            env,
            key: key.as_str().to_string(),
            version: 1,
            sealed: Vec::new(),
            created_at: now,
            updated_at: now,
            created_by: by,
            updated_by: by,
        };
        v.sealed = self.r.seal(&v, value)?;
        self.put(keys::var(env, v.id), &v)?;
        self.put_version(&v)?;
        self.put(keys::var_key(env, key.as_str()), &v.id)?;
        self.put_loc(v.id, env)?;
        self.bump(keys::vars(env), 1);
        self.touch(env);
        Ok(v)
    }

    /// `value` as the next version of `v` (the new version kept in its history).
    pub(crate) fn set_value(
        &mut self,
        v: &mut Variable,
        value: &SecretValue,
        by: UserId,
    ) -> DomainResult<()> {
        v.version += 1;
        v.sealed = self.r.seal(v, value)?;
        v.updated_at = Ts::now();
        v.updated_by = by;
        self.put(keys::var(v.env, v.id), &*v)?;
        self.touch(v.env);
        self.put_version(v)
    }

    /// Keep `v`'s current value as version `v.version` in its history.
    fn put_version(&mut self, v: &Variable) -> DomainResult<()> {
        let version = VariableVersion {
            version: v.version,
            sealed: v.sealed.clone(),
            created_at: v.updated_at,
            created_by: v.updated_by,
        };
        self.bump(keys::org_bytes(v.org), v.sealed.len() as i64);
        self.put(keys::version(v.id, v.version), &version)
    }

    /// Remove `v` with its whole history.
    pub(crate) fn remove_variable(&mut self, v: &Variable) -> DomainResult<()> {
        self.del(keys::var(v.env, v.id));
        self.del(keys::var_key(v.env, &v.key));
        self.del(keys::loc(v.id));
        self.bump(keys::vars(v.env), -1);
        self.touch(v.env);
        let prefix = keys::versions(v.id);
        let store = self.r.store().clone();
        for kv in store.scan_entries(&prefix) {
            let (k, raw) = kv?;
            let old: VariableVersion = crate::store::decode(&raw)?;
            self.bump(keys::org_bytes(v.org), -(old.sealed.len() as i64));
            self.del([prefix.as_slice(), &k].concat());
        }
        Ok(())
    }
}

impl Handler<CreateVariable> for OrgActor {
    type Result = Durable<VariableView>;

    fn handle(&mut self, msg: CreateVariable, _: &mut Self::Context) -> Self::Result {
        let CreateVariable { caller, input } = msg;
        self.write(&caller, |tx| {
            let e = tx.r.environment(input.env)?;
            tx.r.env_access(&caller, e.id, true, "environment")?;
            if tx
                .r
                .store()
                .contains(&keys::var_key(e.id, input.key.as_str()))?
            {
                return Err(key_taken());
            }
            let v = tx.add_variable(e.id, &input.key, &input.value, caller.user)?;
            tx.within_value_quotas(e.id)?;
            let ev =
                tx.r.event("variable_created", "variable", v.id.0)
                    .detail("variable_key", &v.key)
                    .detail("environment_name", &e.name);
            let view = tx.r.var_view(&v, &e.name, true, &mut Names::default())?;
            Ok((view, ev))
        })
    }
}

impl Handler<UpdateVariable> for OrgActor {
    type Result = Durable<VariableView>;

    fn handle(&mut self, msg: UpdateVariable, _: &mut Self::Context) -> Self::Result {
        let UpdateVariable { caller, id, patch } = msg;
        self.write(&caller, |tx| {
            if caller.service.is_none() {
                tx.r.role(&caller, "variable")?;
            }
            let mut v = tx.r.variable(id)?;
            tx.r.env_access(&caller, v.env, true, "variable")?;
            if patch.env.is_some_and(|e| e != v.env) {
                return Err(refuse_move("environment", "variable"));
            }
            let e = tx.r.environment(v.env)?;
            let mut changed = Vec::new();
            if let Some(key) = patch.key.filter(|k| k.as_str() != v.key) {
                let new_index = keys::var_key(v.env, key.as_str());
                if tx.r.store().contains(&new_index)? {
                    return Err(key_taken());
                }
                tx.del(keys::var_key(v.env, &v.key));
                tx.put(new_index, &v.id)?;
                tx.touch(v.env);
                v.key = key.as_str().to_string();
                changed.push("key");
            }
            if let Some(value) = &patch.value {
                tx.set_value(&mut v, value, caller.user)?;
                tx.within_value_quotas(v.env)?;
                changed.push("value");
            } else {
                v.updated_at = Ts::now();
                v.updated_by = caller.user;
                tx.put(keys::var(v.env, v.id), &v)?;
            }
            let ev =
                tx.r.event("variable_updated", "variable", v.id.0)
                    .detail("variable_key", &v.key)
                    .detail("environment_name", &e.name)
                    .detail("changed", changed.join(","));
            let view = tx.r.var_view(&v, &e.name, true, &mut Names::default())?;
            Ok((view, ev))
        })
    }
}

impl Handler<DeleteVariable> for OrgActor {
    type Result = Durable<()>;

    fn handle(&mut self, msg: DeleteVariable, _: &mut Self::Context) -> Self::Result {
        let DeleteVariable { caller, id } = msg;
        self.write(&caller, |tx| {
            if caller.service.is_none() {
                tx.r.role(&caller, "variable")?;
            }
            let v = tx.r.variable(id)?;
            tx.r.env_access(&caller, v.env, true, "variable")?;
            let e = tx.r.environment(v.env)?;
            tx.remove_variable(&v)?;
            let ev =
                tx.r.event("variable_deleted", "variable", v.id.0)
                    .detail("variable_key", &v.key)
                    .detail("environment_name", &e.name);
            Ok(((), ev))
        })
    }
}

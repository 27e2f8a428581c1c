//! An organization's read side: role checks, record look-ups, opening values and building views.
//! The organization actor holds one (and so does every write), and the hot reads (a variable,
//! an environment's variables) run on it directly from the HTTP worker that asks, so reads of one
//! organization spread over every core instead of queueing behind its actor. Only the actor writes.
//! Each record read is one sled read, so a reader sees every record whole; a listing that runs
//! beside a write may see the write's records but a count from just before it.

use crate::crypto::{key_version, DataKey, ValueSlot};
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::page::{PageRequest, Paged, Window};
use crate::store::{self, keys, Store, LOC_ENV, LOC_PROJECT, LOC_VAR};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Cheap to clone: the store handle and the organization's opened data keys.
#[derive(Clone)]
pub struct OrgReader {
    pub(crate) id: OrgId,
    pub(crate) store: Store,
    /// Data keys by version; new values are sealed with the newest.
    pub(crate) keys: Arc<BTreeMap<u32, DataKey>>,
}

/// Display names looked up once per message: a listing's variables mostly share a creator.
#[derive(Default)]
pub(crate) struct Names(HashMap<UserId, String>);

impl Names {
    pub(crate) fn get(&mut self, reader: &OrgReader, user: UserId) -> DomainResult<String> {
        if let Some(n) = self.0.get(&user) {
            return Ok(n.clone());
        }
        let name = reader.name_of(user)?;
        self.0.insert(user, name.clone());
        Ok(name)
    }
}

impl OrgReader {
    pub fn new(id: OrgId, store: Store, deks: Vec<DataKey>) -> Self {
        OrgReader {
            id,
            store,
            keys: Arc::new(deks.into_iter().map(|k| (k.version(), k)).collect()),
        }
    }

    pub(crate) fn id(&self) -> OrgId {
        self.id
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// One page of an environment's variables, values opened for those who may read them.
    pub fn list_variables(
        &self,
        caller: &Caller,
        env: EnvId,
        page: PageRequest,
    ) -> DomainResult<Paged<VariableView>> {
        let e = self.environment(env)?;
        let reveal = self.env_access(caller, e.id, false, "environment")?;
        // One pass: every record is counted, only the page's are decoded and opened.
        let window = Window::page(page);
        let mut names = Names::default();
        let mut count = 0;
        let mut items = Vec::with_capacity(window.take);
        for entry in self.store.scan_entries(&keys::vars(e.id)) {
            let (_, raw) = entry?;
            if count >= window.skip && items.len() < window.take {
                let v: Variable = store::decode(&raw)?;
                items.push(self.var_view(&v, &e.name, reveal, &mut names)?);
            }
            count += 1;
        }
        Ok(Paged { count, items })
    }

    /// One variable, its value opened for those who may read it.
    pub fn get_variable(&self, caller: &Caller, id: VarId) -> DomainResult<VariableView> {
        if caller.service.is_none() {
            self.role(caller, "variable")?;
        }
        let v = self.variable(id)?;
        let reveal = self.env_access(caller, v.env, false, "variable")?;
        let e = self.environment(v.env)?;
        self.var_view(&v, &e.name, reveal, &mut Names::default())
    }

    /// The caller's role here. Not being a member looks exactly like the id not existing.
    /// `what` names the record asked for, so the answer reads the same as for a missing id.
    pub(crate) fn role(&self, caller: &Caller, what: &'static str) -> DomainResult<Role> {
        if caller.service.is_some() {
            return Err(DomainError::Forbidden(
                "A service token can only read and write the variables of its environment.".into(),
            ));
        }
        self.store
            .membership(self.id, caller.user)?
            .map(|m| m.role)
            .ok_or(DomainError::NotFound(what))
    }

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
    /// `what` names the record asked for, as in `role`.
    pub(crate) fn env_access(
        &self,
        caller: &Caller,
        env: EnvId,
        write: bool,
        what: &'static str,
    ) -> DomainResult<bool> {
        if let Some(g) = &caller.service {
            if g.org != self.id || g.env != env {
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

    pub(crate) fn name_of(&self, user: UserId) -> DomainResult<String> {
        Ok(self
            .store
            .user(user)?
            .map(|u| u.display_name())
            .unwrap_or_default())
    }

    pub(crate) fn owned(&self, kind: u8, id: u64, what: &'static str) -> DomainResult<store::Loc> {
        match self.store.locate(kind, id)? {
            Some(loc) if loc.org == self.id => Ok(loc),
            _ => Err(DomainError::NotFound(what)),
        }
    }

    pub(crate) fn project(&self, id: ProjectId) -> DomainResult<Project> {
        self.owned(LOC_PROJECT, id.0, "project")?;
        self.store
            .get(&keys::project(self.id, id))?
            .ok_or(DomainError::NotFound("project"))
    }

    pub(crate) fn environment(&self, id: EnvId) -> DomainResult<Environment> {
        let loc = self.owned(LOC_ENV, id.0, "environment")?;
        self.store
            .get(&keys::env(ProjectId(loc.parent), id))?
            .ok_or(DomainError::NotFound("environment"))
    }

    pub(crate) fn variable(&self, id: VarId) -> DomainResult<Variable> {
        let loc = self.owned(LOC_VAR, id.0, "variable")?;
        self.store
            .get(&keys::var(EnvId(loc.parent), id))?
            .ok_or(DomainError::NotFound("variable"))
    }

    pub(crate) fn org_view(&self, org: &Organization, role: Role) -> DomainResult<OrgView> {
        Ok(OrgView {
            id: org.id,
            name: org.name.clone(),
            description: org.description.clone(),
            created_at: org.created_at.rfc3339(),
            updated_at: org.updated_at.rfc3339(),
            member_count: self.store.count(&keys::members(self.id))?,
            project_count: self.store.count(&keys::projects(self.id))?,
            user_role: role,
        })
    }

    pub(crate) fn project_view(
        &self,
        org: &Organization,
        p: &Project,
    ) -> DomainResult<ProjectView> {
        Ok(ProjectView {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            organization: org.id,
            organization_name: org.name.clone(),
            created_at: p.created_at.rfc3339(),
            updated_at: p.updated_at.rfc3339(),
            created_by_name: self.name_of(p.created_by)?,
            environment_count: self.store.count(&keys::envs(p.id))?,
        })
    }

    pub(crate) fn env_view(
        &self,
        e: &Environment,
        project_name: &str,
    ) -> DomainResult<EnvironmentView> {
        Ok(EnvironmentView {
            id: e.id,
            name: e.name.clone(),
            project: e.project,
            project_name: project_name.to_string(),
            environment_type: e.environment_type,
            description: e.description.clone(),
            created_at: e.created_at.rfc3339(),
            updated_at: e.updated_at.rfc3339(),
            created_by_name: self.name_of(e.created_by)?,
            variable_count: self.store.count(&keys::vars(e.id))?,
        })
    }

    pub(crate) fn slot(v: &Variable) -> ValueSlot {
        ValueSlot {
            org: v.org,
            env: v.env,
            var: v.id,
            version: v.version,
        }
    }

    pub(crate) fn open(&self, v: &Variable) -> DomainResult<SecretValue> {
        let version = key_version(&v.sealed)?;
        let key = self.keys.get(&version).ok_or_else(|| {
            DomainError::Internal(format!("org {} has no data key v{version}", self.id))
        })?;
        key.open(Self::slot(v), &v.sealed)
    }

    pub(crate) fn seal(&self, v: &Variable, value: &SecretValue) -> DomainResult<Vec<u8>> {
        let key = self
            .keys
            .values()
            .next_back()
            .ok_or_else(|| DomainError::Internal(format!("org {} has no data key", self.id)))?;
        key.seal(Self::slot(v), value.expose())
    }

    pub(crate) fn var_view(
        &self,
        v: &Variable,
        env_name: &str,
        reveal: bool,
        names: &mut Names,
    ) -> DomainResult<VariableView> {
        Ok(VariableView {
            id: v.id,
            key: v.key.clone(),
            decrypted_value: if reveal { Some(self.open(v)?) } else { None },
            environment: v.env,
            environment_name: env_name.to_string(),
            version: v.version,
            created_at: v.created_at.rfc3339(),
            updated_at: v.updated_at.rfc3339(),
            created_by_name: names.get(self, v.created_by)?,
        })
    }
}

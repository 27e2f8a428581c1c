//! The organization actor: one per organization, the only writer of everything the organization
//! owns (its record, projects, environments, variables and their values). It checks the caller's
//! role on every message, seals and opens values with the organization's data key, and writes
//! each change together with its audit entry as one atomic batch, answering only once the batch
//! is durable. Two writes to one organization never race; different organizations run on
//! different arbiters in parallel.

use crate::audit::{self, Event};
use crate::error::{DomainError, DomainResult};
use crate::input::*;
use crate::model::*;
use crate::page::{Paged, Window};
use crate::reader::{Names, OrgReader};
use crate::store::{self, keys, Changes, LOC_ENV, LOC_PROJECT, LOC_VAR};
use actix::prelude::*;

pub struct OrgActor {
    reader: OrgReader,
    deleted: bool,
}

impl std::ops::Deref for OrgActor {
    type Target = OrgReader;

    fn deref(&self) -> &OrgReader {
        &self.reader
    }
}

impl Actor for OrgActor {
    type Context = Context<Self>;
}

pub(crate) type Write<T> = ResponseFuture<DomainResult<T>>;

impl OrgActor {
    pub fn new(reader: OrgReader) -> Self {
        OrgActor {
            reader,
            deleted: false,
        }
    }

    pub(crate) fn org(&self) -> DomainResult<Organization> {
        if self.deleted {
            return Err(DomainError::NotFound("organization"));
        }
        self.store
            .org(self.id)?
            .ok_or(DomainError::NotFound("organization"))
    }

    /// A new variable holding `value` as version 1, with every record it needs, added to `c`.
    pub(crate) fn add_variable(
        &self,
        c: &mut Changes,
        env: EnvId,
        key: &VariableKey,
        value: &SecretValue,
        by: UserId,
    ) -> DomainResult<Variable> {
        let now = Ts::now();
        let mut v = Variable {
            id: VarId(self.store.next_id("variable")?),
            org: self.id,
            env,
            key: key.as_str().to_string(),
            version: 1,
            sealed: Vec::new(),
            created_at: now,
            updated_at: now,
            created_by: by,
            updated_by: by,
        };
        v.sealed = self.seal(&v, value)?;
        c.put(keys::var(env, v.id), &v)?;
        self.put_version(c, &v)?;
        c.put(keys::var_key(env, key.as_str()), &v.id)?;
        let loc = store::Loc {
            org: self.id,
            parent: env.0,
        };
        c.put(keys::loc(LOC_VAR, v.id.0), &loc)?;
        Ok(v)
    }

    /// `value` as the next version of `v` (the new version kept in its history), added to `c`.
    pub(crate) fn set_value(
        &self,
        c: &mut Changes,
        v: &mut Variable,
        value: &SecretValue,
        by: UserId,
    ) -> DomainResult<()> {
        v.version += 1;
        v.sealed = self.seal(v, value)?;
        v.updated_at = Ts::now();
        v.updated_by = by;
        c.put(keys::var(v.env, v.id), &*v)?;
        self.put_version(c, v)
    }

    /// Keep `v`'s current value as version `v.version` in its history.
    fn put_version(&self, c: &mut Changes, v: &Variable) -> DomainResult<()> {
        let version = VariableVersion {
            version: v.version,
            sealed: v.sealed.clone(),
            created_at: v.updated_at,
            created_by: v.updated_by,
        };
        c.put(keys::version(v.id, v.version), &version)
    }

    pub(crate) fn record(
        &self,
        changes: &mut Changes,
        caller: &Caller,
        event: Event,
    ) -> DomainResult<()> {
        if let Some(grant) = &caller.service {
            let who = audit::Who::Service(grant);
            return audit::record(&self.store, changes, who, caller.ip.clone(), event);
        }
        let who = self.store.user(caller.user)?;
        audit::record(&self.store, changes, who.as_ref(), caller.ip.clone(), event)
    }

    pub(crate) fn event(&self, action: &'static str, target_type: &'static str, id: u64) -> Event {
        Event::new(Some(self.id), action, target_type, id)
    }

    /// Apply a change atomically and answer once it is durable. The flush runs on sled's pool
    /// and is shared by concurrent writers, so the actor moves on to its next message at once.
    pub(crate) fn commit<T: Send + 'static>(&self, change: DomainResult<(Changes, T)>) -> Write<T> {
        let store = self.store.clone();
        let applied = change.and_then(|(changes, out)| store.apply(changes).map(|_| out));
        Box::pin(async move {
            let out = applied?;
            store.flush().await?;
            Ok(out)
        })
    }

    fn remove_variable(&self, c: &mut Changes, v: &Variable) -> DomainResult<()> {
        c.del(keys::var(v.env, v.id));
        c.del(keys::var_key(v.env, &v.key));
        c.del(keys::loc(LOC_VAR, v.id.0));
        let prefix = keys::versions(v.id);
        for k in self.store.scan_keys(&prefix) {
            c.del([prefix.as_slice(), &k?].concat());
        }
        Ok(())
    }

    fn remove_environment(&self, c: &mut Changes, e: &Environment) -> DomainResult<usize> {
        let mut n = 0;
        for v in self.store.scan::<Variable>(&keys::vars(e.id)) {
            self.remove_variable(c, &v?)?;
            n += 1;
        }
        let tokens = keys::env_service_tokens(e.id);
        for kv in self.store.scan_entries(&tokens) {
            let (id, hash) = kv?;
            let hash: [u8; 32] = hash
                .as_ref()
                .try_into()
                .map_err(|_| DomainError::Internal("bad token index".into()))?;
            c.del(keys::service_token(&hash));
            c.del([tokens.as_slice(), &id].concat());
        }
        c.del(keys::env(e.project, e.id));
        c.del(keys::env_name(e.project, &e.name.to_lowercase()));
        c.del(keys::loc(LOC_ENV, e.id.0));
        Ok(n)
    }

    fn remove_project(&self, c: &mut Changes, p: &Project) -> DomainResult<()> {
        for e in self.store.scan::<Environment>(&keys::envs(p.id)) {
            self.remove_environment(c, &e?)?;
        }
        c.del(keys::project(self.id, p.id));
        c.del(keys::loc(LOC_PROJECT, p.id.0));
        Ok(())
    }
}

fn refuse_move(field: &str, what: &str) -> DomainError {
    DomainError::invalid(
        field,
        format!("A {what} cannot be moved; this field cannot be changed."),
    )
}

fn contains_ci(haystack: &str, needle_lower: &str) -> bool {
    haystack.to_lowercase().contains(needle_lower)
}

// ---- messages ---------------------------------------------------------------------------------

#[derive(Message)]
#[rtype(result = "DomainResult<OrgView>")]
pub struct GetOrganization {
    pub caller: Caller,
}

#[derive(Message)]
#[rtype(result = "DomainResult<OrgView>")]
pub struct UpdateOrganization {
    pub caller: Caller,
    pub patch: NamePatch,
}

#[derive(Message)]
#[rtype(result = "DomainResult<()>")]
pub struct DeleteOrganization {
    pub caller: Caller,
}

#[derive(Message)]
#[rtype(result = "DomainResult<Paged<ProjectView>>")]
pub struct ListProjects {
    pub caller: Caller,
    /// Lower-cased search text, matched against name and description.
    pub search: Option<String>,
    pub window: Window,
}

#[derive(Message)]
#[rtype(result = "DomainResult<ProjectView>")]
pub struct CreateProject {
    pub caller: Caller,
    pub input: NewProject,
}

#[derive(Message)]
#[rtype(result = "DomainResult<ProjectView>")]
pub struct GetProject {
    pub caller: Caller,
    pub id: ProjectId,
}

#[derive(Message)]
#[rtype(result = "DomainResult<ProjectView>")]
pub struct UpdateProject {
    pub caller: Caller,
    pub id: ProjectId,
    pub patch: ProjectPatch,
}

#[derive(Message)]
#[rtype(result = "DomainResult<()>")]
pub struct DeleteProject {
    pub caller: Caller,
    pub id: ProjectId,
}

#[derive(Message)]
#[rtype(result = "DomainResult<Paged<EnvironmentView>>")]
pub struct ListEnvironments {
    pub caller: Caller,
    pub project: Option<ProjectId>,
    pub environment_type: Option<EnvironmentType>,
    pub window: Window,
}

#[derive(Message)]
#[rtype(result = "DomainResult<EnvironmentView>")]
pub struct CreateEnvironment {
    pub caller: Caller,
    pub input: NewEnvironment,
}

#[derive(Message)]
#[rtype(result = "DomainResult<EnvironmentView>")]
pub struct GetEnvironment {
    pub caller: Caller,
    pub id: EnvId,
}

#[derive(Message)]
#[rtype(result = "DomainResult<EnvironmentView>")]
pub struct UpdateEnvironment {
    pub caller: Caller,
    pub id: EnvId,
    pub patch: EnvironmentPatch,
}

#[derive(Message)]
#[rtype(result = "DomainResult<()>")]
pub struct DeleteEnvironment {
    pub caller: Caller,
    pub id: EnvId,
}

#[derive(Message)]
#[rtype(result = "DomainResult<VariableView>")]
pub struct CreateVariable {
    pub caller: Caller,
    pub input: NewVariable,
}

#[derive(Message)]
#[rtype(result = "DomainResult<VariableView>")]
pub struct UpdateVariable {
    pub caller: Caller,
    pub id: VarId,
    pub patch: VariablePatch,
}

#[derive(Message)]
#[rtype(result = "DomainResult<()>")]
pub struct DeleteVariable {
    pub caller: Caller,
    pub id: VarId,
}

// ---- handlers, in the order of the messages -------------------------------------------------

impl Handler<GetOrganization> for OrgActor {
    type Result = DomainResult<OrgView>;

    fn handle(&mut self, msg: GetOrganization, _: &mut Self::Context) -> Self::Result {
        let role = self.role(&msg.caller, "organization")?;
        self.org_view(&self.org()?, role)
    }
}

impl Handler<UpdateOrganization> for OrgActor {
    type Result = Write<OrgView>;

    fn handle(&mut self, msg: UpdateOrganization, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            let role = self.writer(&msg.caller, "organization")?;
            let mut org = self.org()?;
            if let Some(name) = msg.patch.name {
                org.name = name;
            }
            if let Some(d) = msg.patch.description {
                org.description = d;
            }
            org.updated_at = Ts::now();
            let mut c = Changes::new();
            c.put(keys::org(self.id), &org)?;
            let ev = self
                .event("organization_updated", "organization", self.id.0)
                .detail("name", &org.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, self.org_view(&org, role)?))
        })();
        self.commit(change)
    }
}

impl Handler<DeleteOrganization> for OrgActor {
    type Result = Write<()>;

    fn handle(&mut self, msg: DeleteOrganization, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            self.admin(&msg.caller, "organization", "delete the organization")?;
            let org = self.org()?;
            let mut c = Changes::new();
            for p in self.store.scan::<Project>(&keys::projects(self.id)) {
                self.remove_project(&mut c, &p?)?;
            }
            for k in self.store.scan_keys(&keys::members(self.id)) {
                let user = UserId(store::id_from(&k?)?);
                c.del(keys::member(self.id, user));
                c.del(keys::user_org(user, self.id));
            }
            for k in self.store.scan_keys(&keys::deks(self.id)) {
                c.del([keys::deks(self.id), k?.to_vec()].concat());
            }
            c.del(keys::org(self.id));
            let ev = self
                .event("organization_deleted", "organization", self.id.0)
                .detail("name", &org.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, ()))
        })();
        if change.is_ok() {
            self.deleted = true;
        }
        self.commit(change)
    }
}

impl Handler<ListProjects> for OrgActor {
    type Result = DomainResult<Paged<ProjectView>>;

    fn handle(&mut self, msg: ListProjects, _: &mut Self::Context) -> Self::Result {
        self.role(&msg.caller, "organization")?;
        let org = self.org()?;
        let mut count = 0;
        let mut matching = Vec::new();
        for p in self.store.scan::<Project>(&keys::projects(self.id)) {
            let p = p?;
            let hit = msg
                .search
                .as_deref()
                .is_none_or(|s| contains_ci(&p.name, s) || contains_ci(&p.description, s));
            if hit {
                count += 1;
                matching.push(p);
            }
        }
        let items = msg
            .window
            .apply(matching.iter())
            .into_iter()
            .map(|p| self.project_view(&org, p))
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<CreateProject> for OrgActor {
    type Result = Write<ProjectView>;

    fn handle(&mut self, msg: CreateProject, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            self.writer(&msg.caller, "organization")?;
            let org = self.org()?;
            let now = Ts::now();
            let p = Project {
                id: ProjectId(self.store.next_id("project")?),
                org: self.id,
                name: msg.input.name,
                description: msg.input.description,
                created_at: now,
                updated_at: now,
                created_by: msg.caller.user,
            };
            let mut c = Changes::new();
            c.put(keys::project(self.id, p.id), &p)?;
            c.put(
                keys::loc(LOC_PROJECT, p.id.0),
                &store::Loc {
                    org: self.id,
                    parent: 0,
                },
            )?;
            let ev = self
                .event("project_created", "project", p.id.0)
                .detail("project_name", &p.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, self.project_view(&org, &p)?))
        })();
        self.commit(change)
    }
}

impl Handler<GetProject> for OrgActor {
    type Result = DomainResult<ProjectView>;

    fn handle(&mut self, msg: GetProject, _: &mut Self::Context) -> Self::Result {
        self.role(&msg.caller, "project")?;
        self.project_view(&self.org()?, &self.project(msg.id)?)
    }
}

impl Handler<UpdateProject> for OrgActor {
    type Result = Write<ProjectView>;

    fn handle(&mut self, msg: UpdateProject, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            self.writer(&msg.caller, "project")?;
            let mut p = self.project(msg.id)?;
            if msg.patch.org.is_some_and(|o| o != p.org) {
                return Err(refuse_move("organization", "project"));
            }
            if let Some(name) = msg.patch.fields.name {
                p.name = name;
            }
            if let Some(d) = msg.patch.fields.description {
                p.description = d;
            }
            p.updated_at = Ts::now();
            let mut c = Changes::new();
            c.put(keys::project(self.id, p.id), &p)?;
            let ev = self
                .event("project_updated", "project", p.id.0)
                .detail("project_name", &p.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, self.project_view(&self.org()?, &p)?))
        })();
        self.commit(change)
    }
}

impl Handler<DeleteProject> for OrgActor {
    type Result = Write<()>;

    fn handle(&mut self, msg: DeleteProject, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            let p = self.project(msg.id)?;
            self.admin(&msg.caller, "project", "delete projects")?;
            let mut c = Changes::new();
            self.remove_project(&mut c, &p)?;
            let ev = self
                .event("project_deleted", "project", p.id.0)
                .detail("project_name", &p.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, ()))
        })();
        self.commit(change)
    }
}

impl Handler<ListEnvironments> for OrgActor {
    type Result = DomainResult<Paged<EnvironmentView>>;

    fn handle(&mut self, msg: ListEnvironments, _: &mut Self::Context) -> Self::Result {
        self.role(&msg.caller, "project")?;
        let projects: Vec<Project> = match msg.project {
            Some(id) => vec![self.project(id)?],
            None => self
                .store
                .scan(&keys::projects(self.id))
                .collect::<DomainResult<_>>()?,
        };
        let mut envs = Vec::new();
        for p in &projects {
            for e in self.store.scan::<Environment>(&keys::envs(p.id)) {
                let e = e?;
                if msg.environment_type.is_none_or(|t| t == e.environment_type) {
                    envs.push((e, p.name.as_str()));
                }
            }
        }
        envs.sort_by_key(|(e, _)| e.id);
        let count = envs.len();
        let items = msg
            .window
            .apply(envs.iter())
            .into_iter()
            .map(|(e, pname)| self.env_view(e, pname))
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<CreateEnvironment> for OrgActor {
    type Result = Write<EnvironmentView>;

    fn handle(&mut self, msg: CreateEnvironment, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            let project = self.project(msg.input.project)?;
            self.writer(&msg.caller, "project")?;
            let name_key = keys::env_name(project.id, &msg.input.name.to_lowercase());
            if self.store.contains(&name_key)? {
                return Err(DomainError::conflict(
                    "name",
                    "An environment with this name already exists in this project.",
                ));
            }
            let now = Ts::now();
            let e = Environment {
                id: EnvId(self.store.next_id("environment")?),
                org: self.id,
                project: project.id,
                name: msg.input.name,
                environment_type: msg.input.environment_type,
                description: msg.input.description,
                created_at: now,
                updated_at: now,
                created_by: msg.caller.user,
            };
            let mut c = Changes::new();
            c.put(keys::env(project.id, e.id), &e)?;
            c.put(name_key, &e.id)?;
            c.put(
                keys::loc(LOC_ENV, e.id.0),
                &store::Loc {
                    org: self.id,
                    parent: project.id.0,
                },
            )?;
            let ev = self
                .event("environment_created", "environment", e.id.0)
                .detail("environment_name", &e.name)
                .detail("project_name", &project.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, self.env_view(&e, &project.name)?))
        })();
        self.commit(change)
    }
}

impl Handler<GetEnvironment> for OrgActor {
    type Result = DomainResult<EnvironmentView>;

    fn handle(&mut self, msg: GetEnvironment, _: &mut Self::Context) -> Self::Result {
        self.role(&msg.caller, "environment")?;
        let e = self.environment(msg.id)?;
        self.env_view(&e, &self.project(e.project)?.name)
    }
}

impl Handler<UpdateEnvironment> for OrgActor {
    type Result = Write<EnvironmentView>;

    fn handle(&mut self, msg: UpdateEnvironment, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            let mut e = self.environment(msg.id)?;
            self.writer(&msg.caller, "environment")?;
            if msg.patch.project.is_some_and(|p| p != e.project) {
                return Err(refuse_move("project", "environment"));
            }
            let mut c = Changes::new();
            if let Some(name) = msg.patch.fields.name {
                let (old, new) = (e.name.to_lowercase(), name.to_lowercase());
                if old != new {
                    let new_key = keys::env_name(e.project, &new);
                    if self.store.contains(&new_key)? {
                        return Err(DomainError::conflict(
                            "name",
                            "An environment with this name already exists in this project.",
                        ));
                    }
                    c.del(keys::env_name(e.project, &old));
                    c.put(new_key, &e.id)?;
                }
                e.name = name;
            }
            if let Some(d) = msg.patch.fields.description {
                e.description = d;
            }
            if let Some(t) = msg.patch.environment_type {
                e.environment_type = t;
            }
            e.updated_at = Ts::now();
            c.put(keys::env(e.project, e.id), &e)?;
            let project = self.project(e.project)?;
            let ev = self
                .event("environment_updated", "environment", e.id.0)
                .detail("environment_name", &e.name)
                .detail("project_name", &project.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, self.env_view(&e, &project.name)?))
        })();
        self.commit(change)
    }
}

impl Handler<DeleteEnvironment> for OrgActor {
    type Result = Write<()>;

    fn handle(&mut self, msg: DeleteEnvironment, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            let e = self.environment(msg.id)?;
            self.admin(&msg.caller, "environment", "delete environments")?;
            let mut c = Changes::new();
            let removed = self.remove_environment(&mut c, &e)?;
            let ev = self
                .event("environment_deleted", "environment", e.id.0)
                .detail("environment_name", &e.name)
                .detail("variables_removed", removed.to_string());
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, ()))
        })();
        self.commit(change)
    }
}

impl Handler<CreateVariable> for OrgActor {
    type Result = Write<VariableView>;

    fn handle(&mut self, msg: CreateVariable, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            let e = self.environment(msg.input.env)?;
            self.env_access(&msg.caller, e.id, true, "environment")?;
            if self
                .store
                .contains(&keys::var_key(e.id, msg.input.key.as_str()))?
            {
                return Err(DomainError::conflict(
                    "key",
                    "A variable with this key already exists in this environment.",
                ));
            }
            let mut c = Changes::new();
            let (key, value) = (&msg.input.key, &msg.input.value);
            let v = self.add_variable(&mut c, e.id, key, value, msg.caller.user)?;
            let ev = self
                .event("variable_created", "variable", v.id.0)
                .detail("variable_key", &v.key)
                .detail("environment_name", &e.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, self.var_view(&v, &e.name, true, &mut Names::default())?))
        })();
        self.commit(change)
    }
}

impl Handler<UpdateVariable> for OrgActor {
    type Result = Write<VariableView>;

    fn handle(&mut self, msg: UpdateVariable, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            if msg.caller.service.is_none() {
                self.role(&msg.caller, "variable")?;
            }
            let mut v = self.variable(msg.id)?;
            self.env_access(&msg.caller, v.env, true, "variable")?;
            if msg.patch.env.is_some_and(|e| e != v.env) {
                return Err(refuse_move("environment", "variable"));
            }
            let e = self.environment(v.env)?;
            let mut c = Changes::new();
            let mut changed = Vec::new();
            if let Some(key) = msg.patch.key.filter(|k| k.as_str() != v.key) {
                let new_index = keys::var_key(v.env, key.as_str());
                if self.store.contains(&new_index)? {
                    return Err(DomainError::conflict(
                        "key",
                        "A variable with this key already exists in this environment.",
                    ));
                }
                c.del(keys::var_key(v.env, &v.key));
                c.put(new_index, &v.id)?;
                v.key = key.as_str().to_string();
                changed.push("key");
            }
            if let Some(value) = &msg.patch.value {
                self.set_value(&mut c, &mut v, value, msg.caller.user)?;
                changed.push("value");
            } else {
                v.updated_at = Ts::now();
                v.updated_by = msg.caller.user;
                c.put(keys::var(v.env, v.id), &v)?;
            }
            let ev = self
                .event("variable_updated", "variable", v.id.0)
                .detail("variable_key", &v.key)
                .detail("environment_name", &e.name)
                .detail("changed", changed.join(","));
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, self.var_view(&v, &e.name, true, &mut Names::default())?))
        })();
        self.commit(change)
    }
}

impl Handler<DeleteVariable> for OrgActor {
    type Result = Write<()>;

    fn handle(&mut self, msg: DeleteVariable, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            if msg.caller.service.is_none() {
                self.role(&msg.caller, "variable")?;
            }
            let v = self.variable(msg.id)?;
            self.env_access(&msg.caller, v.env, true, "variable")?;
            let e = self.environment(v.env)?;
            let mut c = Changes::new();
            self.remove_variable(&mut c, &v)?;
            let ev = self
                .event("variable_deleted", "variable", v.id.0)
                .detail("variable_key", &v.key)
                .detail("environment_name", &e.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, ()))
        })();
        self.commit(change)
    }
}

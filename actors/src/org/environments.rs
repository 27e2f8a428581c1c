//! A project's environments: list (one project's, or every project's of the organization),
//! create, read, rename or retype, delete (with their variables and service tokens). Names are
//! unique per project, case-insensitively; an environment never moves to another project.

use super::projects::refuse_move;
use super::{routed, Durable, OrgActor, Tx};
use crate::crypto::token_hash_from;
use crate::error::{DomainError, DomainResult};
use crate::input::{EnvironmentPatch, NewEnvironment};
use crate::model::*;
use crate::page::{Paged, Window};
use crate::store::keys;
use actix::prelude::*;

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Paged<EnvironmentView>>")]
pub struct ListEnvironments {
    pub caller: Caller,
    pub org: OrgId,
    /// One project's environments, or (`None`) every project's.
    pub project: Option<ProjectId>,
    pub environment_type: Option<EnvironmentType>,
    pub window: Window,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<EnvironmentView>")]
pub struct CreateEnvironment {
    pub caller: Caller,
    pub input: NewEnvironment,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<EnvironmentView>")]
pub struct GetEnvironment {
    pub caller: Caller,
    pub id: EnvId,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<EnvironmentView>")]
pub struct UpdateEnvironment {
    pub caller: Caller,
    pub id: EnvId,
    pub patch: EnvironmentPatch,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct DeleteEnvironment {
    pub caller: Caller,
    pub id: EnvId,
}

routed! {
    ListEnvironments => Org(org);
    CreateEnvironment => Project(input.project);
    GetEnvironment => Environment(id);
    UpdateEnvironment => Environment(id);
    DeleteEnvironment => Environment(id);
}

fn name_taken() -> DomainError {
    DomainError::conflict(
        "name",
        "An environment with this name already exists in this project.",
    )
}

impl Tx<'_> {
    /// Remove `e` with its variables and service tokens; answers how many variables went.
    pub(crate) fn remove_environment(&mut self, e: &Environment) -> DomainResult<usize> {
        let store = self.r.store().clone();
        let mut n = 0;
        for v in store.scan::<Variable>(&keys::vars(e.id)) {
            self.remove_variable(&v?)?;
            n += 1;
        }
        let tokens = keys::env_service_tokens(e.id);
        for kv in store.scan_entries(&tokens) {
            let (id, hash) = kv?;
            self.del(keys::service_token(&token_hash_from(&hash)?));
            self.del([tokens.as_slice(), &id].concat());
        }
        self.del(keys::env(e.project, e.id));
        self.del(keys::env_name(e.project, &e.name.to_lowercase()));
        self.del(keys::loc(e.id));
        self.drop_counter(keys::vars(e.id));
        self.drop_counter(keys::revision(e.id));
        // Its watchers are woken, and find it gone.
        self.touch(e.id);
        Ok(n)
    }
}

impl Handler<ListEnvironments> for OrgActor {
    type Result = DomainResult<Paged<EnvironmentView>>;

    fn handle(&mut self, msg: ListEnvironments, _: &mut Self::Context) -> Self::Result {
        let r = self.read()?;
        r.role(&msg.caller, "project")?;
        let projects: Vec<Project> = match msg.project {
            Some(id) => vec![r.project(id)?],
            None => r
                .store()
                .scan(&keys::projects(r.id()))
                .collect::<DomainResult<_>>()?,
        };
        let mut envs = Vec::new();
        for p in &projects {
            for e in r.store().scan::<Environment>(&keys::envs(p.id)) {
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
            .map(|(e, pname)| r.env_view(e, pname))
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<CreateEnvironment> for OrgActor {
    type Result = Durable<EnvironmentView>;

    fn handle(&mut self, msg: CreateEnvironment, _: &mut Self::Context) -> Self::Result {
        let CreateEnvironment { caller, input } = msg;
        self.write(&caller, |tx| {
            let project = tx.r.project(input.project)?;
            tx.r.writer(&caller, "project")?;
            tx.room_for_environment(project.id)?;
            let name_key = keys::env_name(project.id, &input.name.to_lowercase());
            if tx.r.store().contains(&name_key)? {
                return Err(name_taken());
            }
            let now = Ts::now();
            let e = Environment {
                id: EnvId(tx.r.store().next_id("environment")?),
                org: project.org,
                project: project.id,
                name: input.name,
                environment_type: input.environment_type,
                description: input.description,
                created_at: now,
                updated_at: now,
                created_by: caller.user,
            };
            tx.put(keys::env(project.id, e.id), &e)?;
            tx.put(name_key, &e.id)?;
            tx.put_loc(e.id, project.id)?;
            let ev =
                tx.r.event("environment_created", "environment", e.id.0)
                    .detail("environment_name", &e.name)
                    .detail("project_name", &project.name);
            Ok((tx.r.env_view(&e, &project.name)?, ev))
        })
    }
}

impl Handler<GetEnvironment> for OrgActor {
    type Result = DomainResult<EnvironmentView>;

    fn handle(&mut self, msg: GetEnvironment, _: &mut Self::Context) -> Self::Result {
        let r = self.read()?;
        r.role(&msg.caller, "environment")?;
        let e = r.environment(msg.id)?;
        r.env_view(&e, &r.project(e.project)?.name)
    }
}

impl Handler<UpdateEnvironment> for OrgActor {
    type Result = Durable<EnvironmentView>;

    fn handle(&mut self, msg: UpdateEnvironment, _: &mut Self::Context) -> Self::Result {
        let UpdateEnvironment { caller, id, patch } = msg;
        self.write(&caller, |tx| {
            let mut e = tx.r.environment(id)?;
            tx.r.writer(&caller, "environment")?;
            if patch.project.is_some_and(|p| p != e.project) {
                return Err(refuse_move("project", "environment"));
            }
            if let Some(name) = patch.fields.name {
                let (old, new) = (e.name.to_lowercase(), name.to_lowercase());
                if old != new {
                    let new_key = keys::env_name(e.project, &new);
                    if tx.r.store().contains(&new_key)? {
                        return Err(name_taken());
                    }
                    tx.del(keys::env_name(e.project, &old));
                    tx.put(new_key, &e.id)?;
                }
                e.name = name;
            }
            if let Some(d) = patch.fields.description {
                e.description = d;
            }
            if let Some(t) = patch.environment_type {
                e.environment_type = t;
            }
            e.updated_at = Ts::now();
            tx.put(keys::env(e.project, e.id), &e)?;
            tx.touch(e.id);
            let project = tx.r.project(e.project)?;
            let ev =
                tx.r.event("environment_updated", "environment", e.id.0)
                    .detail("environment_name", &e.name)
                    .detail("project_name", &project.name);
            Ok((tx.r.env_view(&e, &project.name)?, ev))
        })
    }
}

impl Handler<DeleteEnvironment> for OrgActor {
    type Result = Durable<()>;

    fn handle(&mut self, msg: DeleteEnvironment, _: &mut Self::Context) -> Self::Result {
        self.write(&msg.caller, |tx| {
            let e = tx.r.environment(msg.id)?;
            tx.r.admin(&msg.caller, "environment", "delete environments")?;
            let removed = tx.remove_environment(&e)?;
            let ev =
                tx.r.event("environment_deleted", "environment", e.id.0)
                    .detail("environment_name", &e.name)
                    .detail("variables_removed", removed.to_string());
            Ok(((), ev))
        })
    }
}

//! An organization's projects: list (with search), create, read, rename, delete (with their
//! environments). A project never moves to another organization.

use super::{routed, Durable, OrgActor, Tx};
use crate::error::{DomainError, DomainResult};
use crate::input::{NewProject, ProjectPatch};
use crate::model::*;
use crate::page::{Paged, Window};
use crate::store::keys;
use actix::prelude::*;

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Paged<ProjectView>>")]
pub struct ListProjects {
    pub caller: Caller,
    pub org: OrgId,
    /// Lower-cased search text, matched against name and description.
    pub search: Option<String>,
    pub window: Window,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<ProjectView>")]
pub struct CreateProject {
    pub caller: Caller,
    pub input: NewProject,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<ProjectView>")]
pub struct GetProject {
    pub caller: Caller,
    pub id: ProjectId,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<ProjectView>")]
pub struct UpdateProject {
    pub caller: Caller,
    pub id: ProjectId,
    pub patch: ProjectPatch,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct DeleteProject {
    pub caller: Caller,
    pub id: ProjectId,
}

routed! {
    ListProjects => Org(org);
    CreateProject => Org(input.org);
    GetProject => Project(id);
    UpdateProject => Project(id);
    DeleteProject => Project(id);
}

/// Refusal of a patch that names another parent.
pub(crate) fn refuse_move(field: &str, what: &str) -> DomainError {
    DomainError::invalid(
        field,
        format!("A {what} cannot be moved; this field cannot be changed."),
    )
}

fn contains_ci(haystack: &str, needle_lower: &str) -> bool {
    haystack.to_lowercase().contains(needle_lower)
}

impl Tx<'_> {
    /// Remove `p` with its environments and their variables.
    pub(crate) fn remove_project(&mut self, p: &Project) -> DomainResult<()> {
        let store = self.r.store().clone();
        for e in store.scan::<Environment>(&keys::envs(p.id)) {
            self.remove_environment(&e?)?;
        }
        self.del(keys::project(p.org, p.id));
        self.del(keys::loc(p.id));
        Ok(())
    }
}

impl Handler<ListProjects> for OrgActor {
    type Result = DomainResult<Paged<ProjectView>>;

    fn handle(&mut self, msg: ListProjects, _: &mut Self::Context) -> Self::Result {
        let r = self.read()?;
        r.role(&msg.caller, "organization")?;
        let org = r.org()?;
        let mut count = 0;
        let mut matching = Vec::new();
        for p in r.store().scan::<Project>(&keys::projects(org.id)) {
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
            .map(|p| r.project_view(&org, p))
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<CreateProject> for OrgActor {
    type Result = Durable<ProjectView>;

    fn handle(&mut self, msg: CreateProject, _: &mut Self::Context) -> Self::Result {
        let CreateProject { caller, input } = msg;
        self.write(&caller, |tx| {
            tx.r.writer(&caller, "organization")?;
            let org = tx.r.org()?;
            let now = Ts::now();
            let p = Project {
                id: ProjectId(tx.r.store().next_id("project")?),
                org: org.id,
                name: input.name,
                description: input.description,
                created_at: now,
                updated_at: now,
                created_by: caller.user,
            };
            tx.put(keys::project(org.id, p.id), &p)?;
            tx.put_loc(p.id, ())?;
            let ev =
                tx.r.event("project_created", "project", p.id.0)
                    .detail("project_name", &p.name);
            Ok((tx.r.project_view(&org, &p)?, ev))
        })
    }
}

impl Handler<GetProject> for OrgActor {
    type Result = DomainResult<ProjectView>;

    fn handle(&mut self, msg: GetProject, _: &mut Self::Context) -> Self::Result {
        let r = self.read()?;
        r.role(&msg.caller, "project")?;
        r.project_view(&r.org()?, &r.project(msg.id)?)
    }
}

impl Handler<UpdateProject> for OrgActor {
    type Result = Durable<ProjectView>;

    fn handle(&mut self, msg: UpdateProject, _: &mut Self::Context) -> Self::Result {
        let UpdateProject { caller, id, patch } = msg;
        self.write(&caller, |tx| {
            tx.r.writer(&caller, "project")?;
            let mut p = tx.r.project(id)?;
            if patch.org.is_some_and(|o| o != p.org) {
                return Err(refuse_move("organization", "project"));
            }
            if let Some(name) = patch.fields.name {
                p.name = name;
            }
            if let Some(d) = patch.fields.description {
                p.description = d;
            }
            p.updated_at = Ts::now();
            tx.put(keys::project(p.org, p.id), &p)?;
            let ev =
                tx.r.event("project_updated", "project", p.id.0)
                    .detail("project_name", &p.name);
            Ok((tx.r.project_view(&tx.r.org()?, &p)?, ev))
        })
    }
}

impl Handler<DeleteProject> for OrgActor {
    type Result = Durable<()>;

    fn handle(&mut self, msg: DeleteProject, _: &mut Self::Context) -> Self::Result {
        self.write(&msg.caller, |tx| {
            let p = tx.r.project(msg.id)?;
            tx.r.admin(&msg.caller, "project", "delete projects")?;
            tx.remove_project(&p)?;
            let ev =
                tx.r.event("project_deleted", "project", p.id.0)
                    .detail("project_name", &p.name);
            Ok(((), ev))
        })
    }
}

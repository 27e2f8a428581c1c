//! KeyNest's domain: the organization actors, accounts, audit, the store and the keyring.
//! This crate knows nothing of HTTP; `Keynest` is what the server (and tests, and benches) hold.
//! It routes a request to the actor that owns the data, and fans lists that span several
//! organizations out to each of them and merges the answers in id order.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod crypto;
pub mod dotenv;
pub mod error;
pub mod history;
pub mod input;
pub mod members;
pub mod model;
pub mod org;
pub mod page;
pub mod reader;
pub mod registry;
pub mod service_tokens;
pub mod store;
pub mod transfer;

use accounts::{AccountsActor, Tokens};
use actix::prelude::*;
use audit::AuditActor;
use crypto::{Keyring, MasterKey};
use error::{DomainError, DomainResult};
use model::*;
use org::OrgActor;
use page::{PageRequest, Paged, Window};
use registry::Registry;
use std::path::Path;
use std::sync::Arc;
use store::{keys, Changes, Store};

/// Everything a request needs, cheap to clone.
#[derive(Clone)]
pub struct Keynest {
    store: Store,
    keyring: Arc<Keyring>,
    tokens: Arc<Tokens>,
    registry: Arc<Registry>,
    accounts: Addr<AccountsActor>,
    audit: Addr<AuditActor>,
}

/// What a by-id route names, to find the organization that owns it.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Project(ProjectId),
    Environment(EnvId),
    Variable(VarId),
}

impl Keynest {
    /// Open the store under `data_dir`, check the master key against it (a wrong key stops the
    /// start here, before anything is served) and start the actors. Must run inside an actix
    /// System; `workers` is the number of arbiters the organization actors are spread over.
    pub fn open(data_dir: &Path, master: &MasterKey, workers: usize) -> Result<Keynest, String> {
        let store = Store::open(data_dir).map_err(|e| e.to_string())?;
        let keyring = Arc::new(Keyring::new(master));
        match store.get_raw(keys::CHECK).map_err(|e| e.to_string())? {
            Some(check) if !keyring.verify_check_value(&check) => {
                return Err(format!(
                    "the master key does not match the data in {}: refusing to start \
                     (give the key this data directory was created with)",
                    data_dir.display()
                ))
            }
            Some(_) => {}
            None => {
                let mut c = Changes::new();
                c.put_raw(
                    keys::CHECK.to_vec(),
                    keyring.check_value().map_err(|e| e.to_string())?,
                );
                store.apply(c).map_err(|e| e.to_string())?;
                store.flush_blocking().map_err(|e| e.to_string())?;
            }
        }
        let tokens = Arc::new(Tokens::new(store.clone()));
        let registry = Arc::new(Registry::new(store.clone(), keyring.clone(), workers));
        let accounts_actor = AccountsActor::new(store.clone(), keyring.clone(), tokens.clone())
            .map_err(|e| e.to_string())?;
        let accounts =
            AccountsActor::start_in_arbiter(&Arbiter::new().handle(), |_| accounts_actor);
        let audit_store = store.clone();
        let audit = AuditActor::start_in_arbiter(&Arbiter::new().handle(), |_| {
            AuditActor::new(audit_store)
        });
        Ok(Keynest {
            store,
            keyring,
            tokens,
            registry,
            accounts,
            audit,
        })
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// A service token's grant and creator, or why it is refused.
    pub fn authenticate_service(
        &self,
        token: &str,
    ) -> DomainResult<Result<(ServiceGrant, UserId), service_tokens::Refused>> {
        service_tokens::authenticate(&self.store, token)
    }

    /// Send `msg` to the accounts actor and wait for its answer.
    pub async fn account<M, R>(&self, msg: M) -> DomainResult<R>
    where
        M: Message<Result = DomainResult<R>> + Send + 'static,
        R: Send + 'static,
        AccountsActor: Handler<M>,
    {
        self.accounts.send(msg).await?
    }

    pub async fn query_audit(&self, msg: audit::QueryAudit) -> DomainResult<Paged<AuditView>> {
        self.audit.send(msg).await?
    }

    /// Make everything durable; called once at shutdown.
    pub fn flush(&self) -> DomainResult<()> {
        self.store.flush_blocking()
    }

    pub fn stop(&self) {
        self.registry.stop();
    }

    /// The organization that owns a record, or `NotFound` naming the record.
    pub fn owner(&self, target: Target) -> DomainResult<OrgId> {
        let (kind, id, what) = match target {
            Target::Project(p) => (store::LOC_PROJECT, p.0, "project"),
            Target::Environment(e) => (store::LOC_ENV, e.0, "environment"),
            Target::Variable(v) => (store::LOC_VAR, v.0, "variable"),
        };
        self.store
            .locate(kind, id)?
            .map(|l| l.org)
            .ok_or(DomainError::NotFound(what))
    }

    /// Send `msg` to the actor of `org` and wait for its answer.
    pub async fn ask<M, R>(&self, org: OrgId, msg: M) -> DomainResult<R>
    where
        M: Message<Result = DomainResult<R>> + Send + 'static,
        R: Send + 'static,
        OrgActor: Handler<M>,
    {
        self.registry.get(org)?.send(msg).await?
    }

    /// Send `msg` to the actor of the organization that owns `target`.
    pub async fn ask_owner<M, R>(&self, target: Target, msg: M) -> DomainResult<R>
    where
        M: Message<Result = DomainResult<R>> + Send + 'static,
        R: Send + 'static,
        OrgActor: Handler<M>,
    {
        let org = self.owner(target)?;
        self.ask(org, msg).await
    }

    /// One page of an environment's variables, read on the calling thread (see `reader`).
    pub fn list_variables(
        &self,
        caller: &Caller,
        env: EnvId,
        page: PageRequest,
    ) -> DomainResult<Paged<VariableView>> {
        let org = self.owner(Target::Environment(env))?;
        self.registry.reader(org)?.list_variables(caller, env, page)
    }

    /// One variable, read on the calling thread (see `reader`).
    pub fn get_variable(&self, caller: &Caller, id: VarId) -> DomainResult<VariableView> {
        let org = self.owner(Target::Variable(id))?;
        self.registry.reader(org)?.get_variable(caller, id)
    }

    pub fn profile(&self, user: UserId) -> DomainResult<ProfileView> {
        self.store
            .user(user)?
            .map(|u| ProfileView::from(&u))
            .ok_or(DomainError::Unauthorized("Invalid token.".into()))
    }

    pub async fn create_org(&self, caller: Caller, input: input::NewOrg) -> DomainResult<OrgView> {
        let user = self
            .store
            .user(caller.user)?
            .ok_or(DomainError::Unauthorized("Invalid token.".into()))?;
        let mut c = Changes::new();
        let org = registry::new_org_changes(
            &self.store,
            &self.keyring,
            &mut c,
            &user,
            input.name,
            input.description,
            caller.ip.clone(),
        )?;
        self.store.apply(c)?;
        self.store.flush().await?;
        self.ask(org.id, org::GetOrganization { caller }).await
    }

    pub async fn delete_org(&self, caller: Caller, org: OrgId) -> DomainResult<()> {
        self.ask(org, org::DeleteOrganization { caller }).await?;
        self.registry.forget(org);
        Ok(())
    }

    /// The caller's organizations, in id order.
    pub async fn list_orgs(
        &self,
        caller: Caller,
        page: PageRequest,
    ) -> DomainResult<Paged<OrgView>> {
        let ids: Vec<OrgId> = self
            .store
            .orgs_of(caller.user)?
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        let count = ids.len();
        let mut items = Vec::new();
        for org in Window::page(page).apply(ids.into_iter()) {
            let msg = org::GetOrganization {
                caller: caller.clone(),
            };
            match self.ask(org, msg).await {
                Ok(v) => items.push(v),
                // Deleted or left between the index read and the ask.
                Err(DomainError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Paged { count, items })
    }

    /// Projects of one organization, or of all the caller's organizations merged in id order.
    pub async fn list_projects(
        &self,
        caller: Caller,
        org: Option<OrgId>,
        search: Option<String>,
        page: PageRequest,
    ) -> DomainResult<Paged<ProjectView>> {
        let search = search.map(|s| s.to_lowercase());
        let orgs = self.orgs_for(&caller, org)?;
        let window = Self::window_for(orgs.len(), page);
        let mut parts = Vec::new();
        for o in orgs {
            let msg = org::ListProjects {
                caller: caller.clone(),
                search: search.clone(),
                window,
            };
            parts.push(self.ask(o, msg).await?);
        }
        Ok(Self::merge(parts, page, |p| p.id.0))
    }

    /// Environments of one project, or of every project the caller can see, in id order.
    pub async fn list_environments(
        &self,
        caller: Caller,
        project: Option<ProjectId>,
        environment_type: Option<EnvironmentType>,
        page: PageRequest,
    ) -> DomainResult<Paged<EnvironmentView>> {
        let orgs = match project {
            Some(p) => vec![self.owner(Target::Project(p))?],
            None => self.orgs_for(&caller, None)?,
        };
        let window = Self::window_for(orgs.len(), page);
        let mut parts = Vec::new();
        for o in orgs {
            let msg = org::ListEnvironments {
                caller: caller.clone(),
                project,
                environment_type,
                window,
            };
            parts.push(self.ask(o, msg).await?);
        }
        Ok(Self::merge(parts, page, |e| e.id.0))
    }

    fn orgs_for(&self, caller: &Caller, org: Option<OrgId>) -> DomainResult<Vec<OrgId>> {
        Ok(match org {
            Some(o) => vec![o],
            None => self
                .store
                .orgs_of(caller.user)?
                .into_iter()
                .map(|(o, _)| o)
                .collect(),
        })
    }

    /// One source gives exactly the page; several each give everything up to the page's end.
    fn window_for(sources: usize, page: PageRequest) -> Window {
        if sources == 1 {
            Window::page(page)
        } else {
            Window::up_to_end_of(page)
        }
    }

    fn merge<T>(parts: Vec<Paged<T>>, page: PageRequest, id: impl Fn(&T) -> u64) -> Paged<T> {
        if parts.len() == 1 {
            return parts.into_iter().next().unwrap_or(Paged {
                count: 0,
                items: vec![],
            });
        }
        let count = parts.iter().map(|p| p.count).sum();
        let mut all: Vec<T> = parts.into_iter().flat_map(|p| p.items).collect();
        all.sort_by_key(|t| id(t));
        Paged {
            count,
            items: Window::page(page).apply(all.into_iter()),
        }
    }
}

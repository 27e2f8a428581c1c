//! The organization actor: one per organization, the only writer of everything the organization
//! owns (its record, members, projects, environments, variables, their history and its service
//! tokens). Each file here holds the messages about one of those things and their handlers; the
//! role rules are in `access`, the read side in `reader` and `views`.
//!
//! Every change goes through [`OrgActor::write`]: the change is built on a [`Tx`], must name the
//! audit [`Event`] that describes it (a write without one does not compile), and is applied
//! together with its audit entry as one atomic batch, answered only once durable. Between apply
//! and flush the actor handles nothing else and the organization's read gate is closed, so no
//! read, on the actor or off it, sees a change that a failed flush or a crash could take back.
//! Two writes to one organization never race; different organizations run on different arbiters
//! in parallel, and their flushes are shared (group commit).

mod access;
pub mod environments;
mod feed;
pub mod history;
pub mod invitations;
pub mod members;
pub mod organization;
pub mod projects;
pub mod quotas;
pub mod reader;
pub mod rotation;
pub mod service_tokens;
pub mod transfer;
pub mod variables;
pub mod views;

#[cfg(test)]
mod tests;

pub use access::session_alive;
pub use environments::*;
pub use history::*;
pub use invitations::*;
pub use members::*;
pub use organization::*;
pub use projects::*;
pub use quotas::{room_for_organization, Quotas};
pub(crate) use reader::open_deks;
pub use reader::OrgReader;
pub use rotation::*;
pub use service_tokens::*;
pub use transfer::*;
pub use variables::*;

use crate::audit::{self, Event};
use crate::error::{DomainError, DomainResult};
use crate::idempotency;
use crate::model::*;
use crate::store::{keys, Changes, Loc, Located};
use actix::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub struct OrgActor {
    reader: OrgReader,
    /// Set once the organization is deleted: its actor answers `NotFound` until it is dropped.
    deleted: bool,
    /// When it last handled a message: an actor idle for `IDLE` stops (the registry starts it
    /// again on the next message), so memory follows the organizations in use.
    last_active: std::cell::Cell<std::time::Instant>,
}

/// How long an organization's actor lives without a message.
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Actor for OrgActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(IDLE / 4, |act, ctx| {
            if act.last_active.get().elapsed() >= IDLE {
                ctx.stop();
            }
        });
    }
}

/// What a write handler answers: resolves once the change is durable; the actor takes no other
/// message until then.
pub type Durable<T> = AtomicResponse<OrgActor, DomainResult<T>>;

/// One change being built: reads go through `r`, writes into the batch. Only
/// [`OrgActor::write`] makes one, and it applies the batch together with the change's audit entry.
pub struct Tx<'a> {
    pub r: &'a OrgReader,
    changes: Changes,
    /// Counter changes made so far (`keys::count` prefixes), written once at the end.
    counts: std::collections::BTreeMap<Vec<u8>, i64>,
    /// Environments this change touches: each revision moves once, and their watchers are told
    /// once the change is durable.
    touched: std::collections::BTreeSet<EnvId>,
    /// Counters of what this change deletes: removed rather than written.
    dropped: std::collections::BTreeSet<Vec<u8>>,
    /// This change deletes the organization: once durable, its actor answers nothing more.
    retires: bool,
}

impl Tx<'_> {
    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) -> DomainResult<()> {
        self.changes.put(key, value)
    }

    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.changes.put_raw(key, value)
    }

    pub fn del(&mut self, key: Vec<u8>) {
        self.changes.del(key)
    }

    /// Move the counter of `prefix` by `delta` (written with the change).
    pub fn bump(&mut self, prefix: Vec<u8>, delta: i64) {
        *self.counts.entry(prefix).or_default() += delta;
    }

    /// The counter of `prefix` as this change leaves it so far.
    pub fn counted(&self, prefix: &[u8]) -> DomainResult<u64> {
        let base = self.r.store().counted(prefix)?;
        let delta = self.counts.get(prefix).copied().unwrap_or(0);
        Ok(base.saturating_add_signed(delta))
    }

    /// The counter of `prefix` goes with what it counted (a deleted environment's).
    pub fn drop_counter(&mut self, prefix: Vec<u8>) {
        self.dropped.insert(prefix);
    }

    /// This change deletes the organization itself.
    pub fn retire(&mut self) {
        self.retires = true;
    }

    /// This change alters `env` (its variables or itself): its revision moves.
    pub fn touch(&mut self, env: EnvId) {
        self.touched.insert(env);
    }

    /// The change's batch, with its counters written, and the environments it touches.
    fn finish(mut self) -> DomainResult<(Changes, Vec<EnvId>, bool)> {
        let touched: Vec<EnvId> = std::mem::take(&mut self.touched).into_iter().collect();
        for env in &touched {
            self.bump(keys::revision(*env), 1);
        }
        let mut changes = self.changes;
        for prefix in &self.dropped {
            changes.del(keys::count(prefix));
        }
        for (prefix, delta) in self
            .counts
            .iter()
            .filter(|(p, _)| !self.dropped.contains(*p))
        {
            let base = self.r.store().counted(prefix)?;
            changes.put(keys::count(prefix), &base.saturating_add_signed(*delta))?;
        }
        Ok((changes, touched, self.retires))
    }

    /// Record that `r` belongs to this organization, under `parent`.
    pub fn put_loc<R: Located>(&mut self, r: R, parent: R::Parent) -> DomainResult<()> {
        let loc = Loc {
            org: self.r.id(),
            parent,
        };
        self.changes.put_loc(r, loc)
    }
}

impl OrgActor {
    pub fn new(reader: OrgReader) -> Self {
        OrgActor {
            reader,
            deleted: false,
            last_active: std::cell::Cell::new(std::time::Instant::now()),
        }
    }

    /// The read side, for handlers that only read. `NotFound` once the organization is deleted;
    /// refused once the store has failed (what is applied may not be durable).
    fn read(&self) -> DomainResult<&OrgReader> {
        self.last_active.set(std::time::Instant::now());
        self.reader.store().check()?;
        if self.deleted {
            return Err(DomainError::NotFound("organization"));
        }
        Ok(&self.reader)
    }

    /// The one way to change anything: `build` reads through `tx.r`, adds its writes to `tx`
    /// and returns the answer with the event to audit. The batch and its audit entry are applied
    /// atomically here; the future resolves once they are durable. The flush runs on the store's
    /// flush thread and is shared by concurrent writers, so the actor moves on at once.
    ///
    /// A request with an `Idempotency-Key` already answered is answered again from what was
    /// kept, and nothing is applied; otherwise the answer is kept in the same batch.
    fn write<T, F>(&self, caller: &Caller, build: F) -> Durable<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(&mut Tx) -> DomainResult<(T, Event)>,
    {
        AtomicResponse::new(self.commit(caller, build))
    }

    /// `write`'s future, for a handler that acts on the durable outcome before the actor takes
    /// another message (a key rotation starts using its key, or schedules its next batch).
    fn commit<T, F>(&self, caller: &Caller, build: F) -> ResponseActFuture<Self, DomainResult<T>>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(&mut Tx) -> DomainResult<(T, Event)>,
    {
        let store = self.reader.store().clone();
        // Taken before the replay check: the same request kept by another node after it
        // refuses this change (the kept answer's key is written by both), which is built again
        // and then replays that answer.
        let changes = store.changes();
        let replayed = self
            .read()
            .and_then(|r| idempotency::replay::<T>(r.store(), r.records_key(), caller));
        match replayed {
            Ok(Some(out)) => return Box::pin(fut::ready(Ok(out))),
            Ok(None) => {}
            Err(e) => return Box::pin(fut::ready(Err(e))),
        }
        let built = self.read().and_then(|r| {
            // Several nodes: seal with the data keys as of the revision the change is built on
            // (another node may have rotated them since this message was sent).
            r.refresh_keys()?;
            let mut tx = Tx {
                r,
                changes,
                counts: Default::default(),
                touched: Default::default(),
                dropped: Default::default(),
                retires: false,
            };
            let (out, event) = build(&mut tx)?;
            let (mut changes, touched, retires) = tx.finish()?;
            record(r, &mut changes, caller, event)?;
            idempotency::remember(r.store(), r.records_key(), &mut changes, caller, &out)?;
            if r.store().is_shared() {
                changes.put_raw(keys::head(r.id()), Vec::new());
            }
            Ok((out, changes, touched, retires))
        });
        let retires = matches!(built, Ok((_, _, _, true)));
        let gate = store.gate(self.reader.id());
        let durable = async move {
            let (out, changes, touched, _) = built?;
            // Built on the actor; applied once the readers inside the gate have left. The actor
            // takes no other message meanwhile, so what was built still stands.
            gate.close().await;
            let flushed = store.apply_durable(changes).await;
            gate.open();
            if flushed.is_ok() {
                for env in touched {
                    store.announce(env);
                }
            }
            flushed.map(|()| out)
        };
        Box::pin(durable.into_actor(self).map(move |res, act, _| {
            if retires && res.is_ok() {
                act.deleted = true;
            }
            res
        }))
    }
}

impl OrgReader {
    /// An audit event about a record of this organization.
    pub(crate) fn event(&self, action: &'static str, target_type: &'static str, id: u64) -> Event {
        Event::new(Some(self.id()), action, target_type, id)
    }
}

/// Add the audit entry for `event` by `caller` to `changes`.
fn record(r: &OrgReader, changes: &mut Changes, caller: &Caller, event: Event) -> DomainResult<()> {
    let ip = caller.ip.clone();
    if let Some(grant) = &caller.service {
        return audit::record(r.store(), changes, audit::Who::Service(grant), ip, event);
    }
    let who = r.store().user(caller.user)?;
    audit::record(r.store(), changes, who.as_ref(), ip, event)
}

/// The record a message is about, which decides the organization whose actor handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Org(OrgId),
    Project(ProjectId),
    Environment(EnvId),
    Variable(VarId),
}

impl Route {
    /// What a client is told was not found.
    pub fn what(self) -> &'static str {
        match self {
            Route::Org(_) => "organization",
            Route::Project(_) => "project",
            Route::Environment(_) => "environment",
            Route::Variable(_) => "variable",
        }
    }
}

/// A message that names the record routing it, so a caller cannot send it by another id, and
/// who sends it, so that the facade can turn away outsiders before an actor is even started.
pub trait Routed {
    fn route(&self) -> Route;
    fn caller(&self) -> &Caller;
    /// Whether only members (or the organization's own service tokens) may send it.
    fn members_only(&self) -> bool {
        true
    }
    /// The user it makes a member of one more organization (accepting an invitation): the
    /// facade runs it after that user's other joins and creations (see `Keynest::joining`).
    fn joins(&self) -> Option<UserId> {
        None
    }
}

/// A read that may be heavy (every value of an environment, a whole history): it runs on the
/// organization's reader in the blocking pool, never on the actor, so it holds up neither the
/// organization's writes nor other organizations on the same arbiter.
pub trait OrgQuery: Routed + Send + 'static {
    type Output: Send + 'static;
    fn run(self, r: &OrgReader) -> DomainResult<Self::Output>;
}

/// `routed!(Msg => Route::Kind(field))` for messages routed by one of their fields.
macro_rules! routed {
    ($($msg:ident => $route:ident($($field:ident).+);)+) => {
        $(impl $crate::org::Routed for $msg {
            fn route(&self) -> $crate::org::Route {
                $crate::org::Route::$route(self.$($field).+)
            }
            fn caller(&self) -> &$crate::model::Caller {
                &self.caller
            }
        })+
    };
}
pub(crate) use routed;

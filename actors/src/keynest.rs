//! The facade: `Keynest` is what the server (and tests, and benches) hold. It opens the store
//! and checks the master key, starts the actors, routes each message to the actor of the
//! organization that owns the record the message names (`org::Routed`), and fans lists that
//! span several organizations out to each of them and merges the answers in id order.

use crate::accounts::{sessions, AccountsActor, Tokens};
use crate::audit::{self, AuditActor};
use crate::crypto::{DataKey, KekSealed, KeyFiles, Keyring, KeyringCell, MasterKey};
use crate::error::{DomainError, DomainResult};
use crate::idempotency;
use crate::input::NewOrg;
use crate::model::*;
use crate::org::{self, service_tokens, OrgActor, OrgQuery, Quotas, Route, Routed};
use crate::page::{PageRequest, Paged, Window};
use crate::registry::Registry;
use crate::store;
use crate::store::{keys, Store};
use actix::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// Gauge (`metrics` facade), labelled `actor`: messages sent to the actors of one kind
/// (`organization`, `accounts`, `audit`) and not yet answered.
pub const MESSAGES_IN_FLIGHT: &str = "keynest_actor_messages_in_flight";

/// One message on its way to an actor and back: counted in `MESSAGES_IN_FLIGHT` until dropped,
/// whether answered, failed or abandoned by its request. actix does not expose a mailbox's
/// length; this counts what waits in the mailboxes plus what is being handled, summed over the
/// actors of a kind (a label per organization would grow without bound).
struct InFlight(&'static str);

impl InFlight {
    fn enter(actor: &'static str) -> InFlight {
        metrics::gauge!(MESSAGES_IN_FLIGHT, "actor" => actor).increment(1.0);
        InFlight(actor)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(MESSAGES_IN_FLIGHT, "actor" => self.0).decrement(1.0);
    }
}

/// Everything a request needs, cheap to clone.
#[derive(Clone)]
pub struct Keynest {
    store: Store,
    keyring: Arc<KeyringCell>,
    records: Arc<DataKey>,
    quotas: Quotas,
    /// Permits for heavy queries at once (see `query`).
    heavy: Arc<tokio::sync::Semaphore>,
    tokens: Arc<Tokens>,
    registry: Arc<Registry>,
    accounts: Addr<AccountsActor>,
    audit: Addr<AuditActor>,
    /// Etcd: the session sweep runs on the one node holding its lease.
    sweeper: Option<Arc<store::etcd::Leader>>,
    /// A user's organization creations and joins, one at a time on this node (by user id,
    /// striped): the organizations-per-user quota is a count read before the change, so two
    /// at once would both see room for one. Across nodes (etcd), `keys::joins` does the same.
    joining: Arc<Vec<tokio::sync::Mutex<()>>>,
}

/// Stripes of `Keynest::joining`.
const JOINING_STRIPES: usize = 64;

/// How many times a change refused for a concurrent change on another node is built again.
const CONTENDED_RETRIES: usize = 8;
/// Counter (`metrics` facade): changes built again because another node changed the same
/// records first (etcd).
pub const CONTENDED: &str = "keynest_store_contended_total";

/// A little jitter, so that two nodes retrying the same records do not stay in step.
fn rand_u8() -> u8 {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    b[0]
}

impl Keynest {
    /// Open the store under `data_dir`, check the master key against it (a wrong key stops the
    /// start here, before anything is served) and start the actors. Must run inside an actix
    /// System; `workers` is the number of arbiters the organization actors are spread over.
    /// Login sessions never expire: see `open_with`.
    pub fn open(data_dir: &Path, master: &MasterKey, workers: usize) -> Result<Keynest, String> {
        Self::open_with(
            data_dir,
            master,
            workers,
            Quotas::default(),
            SessionPolicy::default(),
        )
    }

    /// As `open`, with the given quotas, ending login sessions that outlive `sessions`.
    pub fn open_with(
        data_dir: &Path,
        master: &MasterKey,
        workers: usize,
        quotas: Quotas,
        sessions: SessionPolicy,
    ) -> Result<Keynest, String> {
        let store = Store::open(data_dir).map_err(|e| e.to_string())?;
        Self::open_on(store, data_dir, master, workers, quotas, sessions)
    }

    /// As `open_with`, on a store already opened (sled or etcd: see `store::Location`).
    /// `data_dir` still holds the master key file when the key comes from one.
    pub fn open_on(
        store: Store,
        data_dir: &Path,
        master: &MasterKey,
        workers: usize,
        quotas: Quotas,
        sessions: SessionPolicy,
    ) -> Result<Keynest, String> {
        // Several nodes starting at once on an empty prefix: each first-start write is built on
        // a revision taken before its read, so only the first node's applies; the others read
        // what it wrote and go on with it (never overwriting it).
        let written = first_start(&store, || {
            let mut c = store.changes();
            if let Some(check) = store.get_raw(keys::CHECK)? {
                return Ok(Some(check));
            }
            c.put_raw(keys::CHECK.to_vec(), Keyring::new(master).check_value()?);
            store.apply(c)?;
            store.flush_blocking()?;
            Ok(None)
        })
        .map_err(|e| e.to_string())?;
        let keyring = match written {
            Some(check) => Self::settle_master_key(data_dir, master, &check)?,
            None => Keyring::new(master),
        };
        let records = first_start(&store, || Self::records_key(&store, &keyring))
            .map_err(|e| e.to_string())?;
        let records = Arc::new(records);
        first_start(&store, || sessions::prepare(&store, sessions)).map_err(|e| e.to_string())?;
        let tokens = Arc::new(Tokens::new(store.clone(), sessions));
        let keyring = Arc::new(KeyringCell::new(keyring));
        let registry = Arc::new(Registry::new(
            store.clone(),
            keyring.clone(),
            records.clone(),
            quotas,
            workers,
        ));
        // Data-key rotations a restart interrupted go on (their actors pick them up on start).
        for k in store.scan_keys(keys::ROTATIONS) {
            let org = k
                .map_err(|e| e.to_string())
                .and_then(|k| store::id_from(&k).map_err(|e| e.to_string()))?;
            registry.get(OrgId(org)).map_err(|e| e.to_string())?;
        }
        let accounts_actor = AccountsActor::new(store.clone(), keyring.clone(), tokens.clone())
            .map_err(|e| e.to_string())?;
        let accounts =
            AccountsActor::start_in_arbiter(&Arbiter::new().handle(), |_| accounts_actor);
        tokens.record_uses_with(accounts.clone().recipient());
        let sweeper = match sessions.sweep_every() {
            Some(_) => store.leader("session-sweep"),
            None => None,
        };
        let audit_store = store.clone();
        let audit = AuditActor::start_in_arbiter(&Arbiter::new().handle(), |_| {
            AuditActor::new(audit_store)
        });
        Ok(Keynest {
            store,
            keyring,
            records,
            quotas,
            heavy: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            )),
            tokens,
            registry,
            accounts,
            audit,
            sweeper,
            joining: Arc::new(
                (0..JOINING_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
            ),
        })
    }

    /// The keyring that opens the store's check value: `master`, or the key a master-key
    /// rotation left in `<data-dir>/master.key.new` if it committed before a crash (it is then
    /// put in place of `master.key`). A pending key of a rotation that never committed is
    /// deleted. Neither opens: the start is refused.
    fn settle_master_key(
        data_dir: &Path,
        master: &MasterKey,
        check: &[u8],
    ) -> Result<Keyring, String> {
        let given = Keyring::new(master);
        let opens = given.verify_check_value(check);
        let files = KeyFiles::in_dir(data_dir);
        let pending = files.settle(opens, |k| Keyring::new(k).verify_check_value(check))?;
        match pending {
            _ if opens => Ok(given),
            Some(key) => {
                log::warn!(
                    "a master-key rotation committed before the server stopped: now using the new \
                     key, moved to {}",
                    files.current.display()
                );
                Ok(Keyring::new(&key))
            }
            None => Err(format!(
                "the master key does not match the data in {}: refusing to start \
                 (give the key this data directory was created with, or the new one if its \
                 master key was rotated)",
                data_dir.display()
            )),
        }
    }

    /// Replace the master key: every data key, the check value and the records key are sealed
    /// again by `new` in one atomic batch, made durable, and only then is `new` the key in use.
    /// Nothing sealed by the old key is applied meanwhile (sealers hold the keyring, see
    /// `KeyringCell`). Answers how many data keys were re-sealed. The key files are the caller's
    /// (`crypto::KeyFiles`): the new key must be safe on disk before this is called.
    pub async fn rotate_master_key(&self, new: MasterKey) -> DomainResult<usize> {
        if self.store.is_shared() {
            // Every node holds the master key in memory and seals new data keys with it: a
            // rotation on one node would leave the others sealing with the old key, and what
            // they seal would open nowhere after their restart.
            return Err(DomainError::Conflict(crate::error::Details::Text(
                "The master key cannot be rotated on a running etcd installation: every node \
                 holds it. Stop every node, run `keynest rotate-master-key --store etcd \
                 --new-key-file NEW` (with the old key in KEYNEST_MASTER_KEY or \
                 --master-key-file) against the etcd cluster, then start every node with the \
                 new key."
                    .into(),
            )));
        }
        let (store, cell) = (self.store.clone(), self.keyring.clone());
        let rotated = tokio::task::spawn_blocking(move || {
            let mut current = cell.replace();
            let next = Keyring::new(&new);
            let deks = reseal_all(&store, &current, &next)?;
            *current = Arc::new(next);
            Ok(deks)
        });
        rotated
            .await
            .map_err(|e| DomainError::internal("blocking pool", e))?
    }

    /// The master-key rotation of an installation no node runs on (etcd: every node stopped):
    /// `old` must open the store's check value. Answers how many data keys were re-sealed.
    pub fn rotate_master_key_offline(
        store: &Store,
        old: &MasterKey,
        new: &MasterKey,
    ) -> Result<usize, String> {
        let current = Keyring::new(old);
        match store.get_raw(keys::CHECK).map_err(|e| e.to_string())? {
            Some(check) if current.verify_check_value(&check) => {}
            Some(_) => return Err("the old master key does not open this installation".into()),
            None => return Err("there is no installation here (no check value)".into()),
        }
        reseal_all(store, &current, &Keyring::new(new)).map_err(|e| e.to_string())
    }

    /// Wait for, and hold, `user`'s turn to create or join an organization on this node.
    async fn joining(&self, user: UserId) -> tokio::sync::MutexGuard<'_, ()> {
        self.joining[(user.0 as usize) % JOINING_STRIPES]
            .lock()
            .await
    }

    /// Start a new data key version for an organization (see `org::rotation`).
    pub async fn rotate_org_key(&self, caller: Caller, org: OrgId) -> DomainResult<OrgView> {
        let keyring = self.keyring.clone();
        self.ask(org::RotateOrgKey {
            caller,
            org,
            keyring,
        })
        .await
    }

    /// The key that seals kept answers, made on the first start that needs it.
    fn records_key(store: &Store, keyring: &Keyring) -> DomainResult<DataKey> {
        // Taken before the read: another node's records key written after it refuses ours.
        let mut c = store.changes();
        if let Some(sealed) = store.get_raw(keys::RECORDS_KEY)? {
            return keyring.open_records_key(&sealed);
        }
        let (sealed, key) = keyring.new_records_key()?;
        c.put_raw(keys::RECORDS_KEY.to_vec(), sealed);
        store.apply(c)?;
        store.flush_blocking()?;
        Ok(key)
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

    /// How often expired login sessions should be swept out; `None` when they never expire.
    pub fn session_sweep_every(&self) -> Option<std::time::Duration> {
        self.tokens.policy().sweep_every()
    }

    /// Delete the login sessions that have outlived their lifetimes (in bounded batches, each
    /// durable); answers how many.
    pub async fn sweep_sessions(&self) -> DomainResult<usize> {
        let fence = match &self.sweeper {
            None => None,
            Some(leader) => match leader.fence() {
                Some(fence) => Some(fence),
                // Another node holds the sweep.
                None => return Ok(0),
            },
        };
        sessions::sweep(&self.store, &self.accounts, self.tokens.policy(), fence).await
    }

    /// Send `msg` to the accounts actor and wait for its answer.
    pub async fn account<M, R>(&self, msg: M) -> DomainResult<R>
    where
        M: Message<Result = DomainResult<R>> + Send + 'static,
        R: Send + 'static,
        AccountsActor: Handler<M>,
    {
        let _in_flight = InFlight::enter("accounts");
        self.accounts.send(msg).await?
    }

    pub async fn query_audit(&self, msg: audit::QueryAudit) -> DomainResult<Paged<AuditView>> {
        let _in_flight = InFlight::enter("audit");
        self.audit.send(msg).await?
    }

    /// Wait until this node has every write any node acknowledged before the call (etcd: the
    /// read barrier; sled: nothing to wait for). The server calls it before each request.
    pub async fn barrier(&self) -> DomainResult<()> {
        self.store.barrier().await
    }

    /// Whether several nodes share the store (etcd).
    pub fn is_shared(&self) -> bool {
        self.store.is_shared()
    }

    /// Make everything durable; called once at shutdown (refused after a storage failure).
    pub fn flush(&self) -> DomainResult<()> {
        self.store.flush_blocking()
    }

    pub fn stop(&self) {
        self.registry.stop();
    }

    /// The organization that owns the record `route` names, or `NotFound` naming the record.
    pub fn owner(&self, route: Route) -> DomainResult<OrgId> {
        fn org_of<R: store::Located>(s: &Store, r: R) -> DomainResult<OrgId> {
            s.locate(r)?
                .map(|l| l.org)
                .ok_or(DomainError::NotFound(R::WHAT))
        }
        match route {
            Route::Org(o) => Ok(o),
            Route::Project(p) => org_of(&self.store, p),
            Route::Environment(e) => org_of(&self.store, e),
            Route::Variable(v) => org_of(&self.store, v),
        }
    }

    /// Send `msg` to the actor of the organization that owns the record it names, and wait for
    /// its answer.
    pub async fn ask<M, R>(&self, msg: M) -> DomainResult<R>
    where
        M: Message<Result = DomainResult<R>> + Routed + Clone + Send + 'static,
        R: Send + 'static,
        OrgActor: Handler<M>,
    {
        let route = msg.route();
        let org = self.owner(route)?;
        if msg.members_only() {
            self.admit(msg.caller(), org, route)?;
        }
        let _in_flight = InFlight::enter("organization");
        let _joining = match msg.joins() {
            Some(user) => Some(self.joining(user).await),
            None => None,
        };
        if !self.store.is_shared() {
            return self.registry.get(org)?.send(msg).await?;
        }
        // Several nodes: a change another node saved first to the same records is refused
        // whole (`Contended`); it is built again once this node has caught up, a few times.
        for attempt in 0..CONTENDED_RETRIES {
            match self.registry.get(org)?.send(msg.clone()).await? {
                Err(DomainError::Contended) => {
                    metrics::counter!(CONTENDED).increment(1);
                    // Jittered and growing, so that nodes retrying one organization spread out.
                    let cap = 1u64 << attempt.min(5);
                    let pause = 1 + u64::from(rand_u8()) % (2 * cap);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                    self.store.barrier().await?;
                }
                other => return other,
            }
        }
        self.registry.get(org)?.send(msg).await?
    }

    /// Run a query on the reader of the organization that owns its record, in the blocking
    /// pool, once no change of the organization is between apply and flush.
    pub async fn query<Q: OrgQuery>(&self, q: Q) -> DomainResult<Q::Output> {
        let route = q.route();
        let org = self.owner(route)?;
        self.admit(q.caller(), org, route)?;
        let reader = self.registry.reader(org)?;
        // Heavy queries take at most half the cores between them (as Argon2id does), so however
        // many a tenant starts, the other half serves everyone else's requests and writes.
        let permit = self
            .heavy
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| DomainError::internal("heavy queries", e))?;
        let durable = self.store.read_durable(org).await?;
        let out = tokio::task::spawn_blocking(move || {
            let out = q.run(&reader);
            drop((durable, permit));
            out
        })
        .await
        .map_err(|e| DomainError::internal("blocking pool", e))?;
        out
    }

    /// Every value of an environment, read off the organization's actor; the export's audit
    /// entry is made durable (by the actor) before they are handed out.
    pub async fn export(&self, q: org::ExportEnvironment) -> DomainResult<org::Export> {
        let (caller, env, format) = (q.caller.clone(), q.env, q.format);
        let export = self.query(q).await?;
        let variables = export.vars.len();
        let record = org::RecordExport {
            caller,
            env,
            format,
            variables,
        };
        self.ask(record).await?;
        Ok(export)
    }

    /// Turn away a caller who is not a member of `org` (or whose service token is for another
    /// organization) before its actor is started or woken: an outsider naming ids costs one
    /// read, and gets exactly the answer a missing id gets. The actor still checks the role.
    fn admit(&self, caller: &Caller, org: OrgId, route: Route) -> DomainResult<()> {
        match &caller.service {
            Some(g) if g.org == org => Ok(()),
            Some(_) => Err(DomainError::Forbidden(
                "This service token is for another environment.".into(),
            )),
            None if self.store.membership(org, caller.user)?.is_some() => Ok(()),
            None => Err(DomainError::NotFound(route.what())),
        }
    }

    /// One page of an environment's variables, read on the calling thread (see `reader`) once
    /// no change of the organization is between apply and flush.
    pub async fn list_variables(
        &self,
        caller: &Caller,
        env: EnvId,
        page: PageRequest,
    ) -> DomainResult<Paged<VariableView>> {
        let org = self.owner(Route::Environment(env))?;
        self.admit(caller, org, Route::Environment(env))?;
        let reader = self.registry.reader(org)?;
        let _durable = self.store.read_durable(org).await?;
        reader.list_variables(caller, env, page)
    }

    /// One variable, read on the calling thread (see `reader`), as `list_variables`.
    pub async fn get_variable(&self, caller: &Caller, id: VarId) -> DomainResult<VariableView> {
        let org = self.owner(Route::Variable(id))?;
        self.admit(caller, org, Route::Variable(id))?;
        let reader = self.registry.reader(org)?;
        let _durable = self.store.read_durable(org).await?;
        reader.get_variable(caller, id)
    }

    /// Write a consistent backup of the running store to a new file at `path` (mode 0600),
    /// holding writes back only for a moment at its end (see `store::snapshot`).
    pub async fn backup_to(
        &self,
        path: std::path::PathBuf,
    ) -> DomainResult<crate::backup::Summary> {
        let (store, keyring) = (self.store.clone(), self.keyring.clone());
        let written = tokio::task::spawn_blocking(move || {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let file = opts.open(&path).map_err(|e| {
                DomainError::invalid("output", format!("Cannot create {}: {e}", path.display()))
            })?;
            let mut out = std::io::BufWriter::new(file);
            // Held for the whole backup, so the file's key and the data keys in it are sealed
            // by the same master key (a master-key rotation waits for it).
            let keyring = keyring.hold();
            let result = crate::backup::write(&store, &keyring, &mut out).and_then(|s| {
                let file = out
                    .into_inner()
                    .map_err(|e| DomainError::internal("backup", e.into_error()))?;
                file.sync_all()
                    .map_err(|e| DomainError::internal("backup", e))?;
                Ok(s)
            });
            if result.is_err() {
                let _ = std::fs::remove_file(&path);
            }
            result
        });
        written
            .await
            .map_err(|e| DomainError::internal("blocking pool", e))?
    }

    /// `env`'s revision (see `org::feed`), read once no change of it is between apply and flush.
    pub async fn revision(&self, caller: &Caller, env: EnvId) -> DomainResult<u64> {
        let org = self.owner(Route::Environment(env))?;
        self.admit(caller, org, Route::Environment(env))?;
        let reader = self.registry.reader(org)?;
        let _durable = self.store.read_durable(org).await?;
        reader.revision(caller, env)
    }

    /// Wait until `env`'s revision is past `since`, or `limit` has passed: the revision then, and
    /// whether it moved. Woken by the write that moves it, once that write is durable.
    pub async fn watch(
        &self,
        caller: &Caller,
        env: EnvId,
        since: u64,
        limit: std::time::Duration,
    ) -> DomainResult<(u64, bool)> {
        let deadline = tokio::time::Instant::now() + limit;
        let feed = self.store.feed(env);
        loop {
            let mut moved = std::pin::pin!(feed.notified());
            // Listening before reading, so a change between the read and the wait is not missed.
            moved.as_mut().enable();
            let now = self.revision(caller, env).await?;
            if now > since {
                return Ok((now, true));
            }
            if tokio::time::timeout_at(deadline, moved).await.is_err() {
                return Ok((now, false));
            }
        }
    }

    /// Why the store failed, once it has (see `store::Health`).
    pub fn storage_failure(&self) -> Option<String> {
        self.store.failure().map(str::to_string)
    }

    /// Bytes the store takes on disk (for the operator's metrics).
    pub fn store_size_on_disk(&self) -> DomainResult<u64> {
        self.store.size_on_disk()
    }

    /// Organization actors running now (for the operator's metrics).
    pub fn organizations_loaded(&self) -> usize {
        self.registry.loaded()
    }

    /// Resolves once the store has failed: the server then stops (fail-stop).
    pub async fn storage_failed(&self) {
        self.store.failed().await
    }

    pub fn profile(&self, user: UserId) -> DomainResult<ProfileView> {
        self.store
            .user(user)?
            .map(|u| ProfileView::from(&u))
            .ok_or(DomainError::Unauthorized("Invalid token.".into()))
    }

    /// A new organization; with an `Idempotency-Key` already answered, the organization that
    /// request made. (A new organization has no actor yet: its first records are written here.)
    pub async fn create_org(&self, caller: Caller, input: NewOrg) -> DomainResult<OrgView> {
        let invalid = || DomainError::Unauthorized("Invalid token.".into());
        org::session_alive(&self.store, &caller)?;
        let _joining = self.joining(caller.user).await;
        let mut attempt = 0;
        let org = loop {
            // Etcd: read before the replay check and the count, so that the same request kept
            // by another node, or another creation or join of this user there, after it
            // refuses this change (they write the same kept-answer key, or `keys::joins`).
            let mut c = self.store.changes();
            if let Some(org) = idempotency::replay::<OrgId>(&self.store, &self.records, &caller)? {
                return self.ask(org::GetOrganization { caller, org }).await;
            }
            let user = self.store.user(caller.user)?.ok_or_else(invalid)?;
            let after = org::room_for_organization(&self.store, &self.quotas, user.id)?;
            c.put(keys::joins(user.id), &after)?;
            let made = {
                // Held until the new data key is applied (see `KeyringCell`).
                let keyring = self.keyring.hold();
                let org = org::new_org(
                    &self.store,
                    &keyring,
                    &mut c,
                    &user,
                    input.clone(),
                    caller.ip.clone(),
                )?;
                idempotency::remember(&self.store, &self.records, &mut c, &caller, &org.id)?;
                self.store.apply(c).map(|()| org)
            };
            match made {
                Err(DomainError::Contended) if attempt + 1 < CONTENDED_RETRIES => {
                    attempt += 1;
                    metrics::counter!(CONTENDED).increment(1);
                    self.store.barrier().await?;
                }
                other => break other?,
            }
        };
        self.store.flush().await?;
        let msg = org::GetOrganization {
            caller,
            org: org.id,
        };
        self.ask(msg).await
    }

    pub async fn delete_org(&self, caller: Caller, org: OrgId) -> DomainResult<()> {
        self.ask(org::DeleteOrganization { caller, org }).await?;
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
                org,
            };
            match self.ask(msg).await {
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
                org: o,
                search: search.clone(),
                window,
            };
            parts.push(self.ask(msg).await?);
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
            Some(p) => vec![self.owner(Route::Project(p))?],
            None => self.orgs_for(&caller, None)?,
        };
        let window = Self::window_for(orgs.len(), page);
        let mut parts = Vec::new();
        for o in orgs {
            let msg = org::ListEnvironments {
                caller: caller.clone(),
                org: o,
                project,
                environment_type,
                window,
            };
            parts.push(self.ask(msg).await?);
        }
        Ok(Self::merge(parts, page, |e| e.id.0))
    }

    /// The invitations waiting for the caller, from every organization that sent one, in id
    /// order: found through the caller's email index, each read by its organization's actor.
    pub async fn list_received_invitations(
        &self,
        caller: Caller,
        page: PageRequest,
    ) -> DomainResult<Paged<ReceivedInvitationView>> {
        let mut all = Vec::new();
        for (org, id) in org::addressed_to(&self.store, &caller)? {
            let msg = org::GetReceivedInvitation {
                caller: caller.clone(),
                org,
                id,
            };
            match self.ask(msg).await {
                Ok(v) => all.push(v),
                // Expired, or answered, revoked or its organization deleted since the index read.
                Err(DomainError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        all.sort_by_key(|v| v.id);
        Ok(Paged {
            count: all.len(),
            items: Window::page(page).apply(all.into_iter()),
        })
    }

    /// The organization whose actor answers invitation `id` for the caller: `NotFound` unless
    /// the invitation is addressed to them, exactly as for an id that does not exist.
    pub fn invitation_org(&self, caller: &Caller, id: InvitationId) -> DomainResult<OrgId> {
        org::invitation_org(&self.store, caller, id)
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

/// Seal every data key, the check value and the records key again by `next`, in one atomic
/// batch made durable. On etcd the batch applies only if none of those keys changed since it
/// was read (`Contended`); a data key another node adds meanwhile would stay sealed by the old
/// key, which is why etcd nodes refuse this and it runs with every node stopped.
fn reseal_all(store: &Store, current: &Keyring, next: &Keyring) -> DomainResult<usize> {
    let mut c = store.changes();
    let mut deks = 0;
    for kv in store.scan_raw(&keys::all_deks()) {
        let (k, v) = kv?;
        let bad = || DomainError::Internal("bad data key id".into());
        let org = OrgId(store::id_from(k.get(1..9).ok_or_else(bad)?)?);
        let version = k
            .get(9..)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .ok_or_else(bad)?;
        let sealed = current.reseal(next, KekSealed::DataKey(org, version), &v)?;
        c.put_raw(k.to_vec(), sealed);
        deks += 1;
    }
    for (key, what) in [
        (keys::CHECK, KekSealed::Check),
        (keys::RECORDS_KEY, KekSealed::RecordsKey),
    ] {
        if let Some(v) = store.get_raw(key)? {
            c.put_raw(key.to_vec(), current.reseal(next, what, &v)?);
        }
    }
    store.apply(c)?;
    store.flush_blocking()?;
    Ok(deks)
}

/// Run a first-start step `f` (it reads, and writes only what is missing), again after a wait
/// for the store to catch up when another node's write refused its change (etcd).
fn first_start<T>(store: &Store, mut f: impl FnMut() -> DomainResult<T>) -> DomainResult<T> {
    for attempt in 0..CONTENDED_RETRIES {
        match f() {
            Err(DomainError::Contended) => {
                metrics::counter!(CONTENDED).increment(1);
                let pause = 1 + u64::from(rand_u8()) % (2u64 << attempt.min(5));
                std::thread::sleep(std::time::Duration::from_millis(pause));
                store.barrier_blocking()?;
            }
            other => return other,
        }
    }
    f()
}

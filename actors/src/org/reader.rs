//! An organization's read side: record look-ups by id, opening and sealing values, and the hot
//! reads (a variable, an environment's variables). The organization actor holds one, every write
//! reads through one (`Tx::r`), and the hot reads run on one directly from the HTTP worker that
//! asks, so reads of one organization spread over every core instead of queueing behind its
//! actor. Only the actor writes. Each record read is one store read, so a reader sees every
//! record whole; a listing that runs beside a write may see the write's records but a count from
//! just before it.

use super::views::Names;
use crate::crypto::{key_version, DataKey, KeyringCell, ValueSlot};
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::page::{PageRequest, Paged, Window};
use crate::store::{self, keys, Loc, Located, Store};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// An organization's opened data keys by version; new values are sealed with the newest.
type DataKeys = Arc<BTreeMap<u32, Arc<DataKey>>>;

/// Cheap to clone: the store handle and the organization's opened data keys.
#[derive(Clone)]
pub struct OrgReader {
    id: OrgId,
    store: Store,
    /// Data keys by version, shared by the actor and every clone of the reader. A key rotation
    /// swaps the whole map (copy on write), so an operation reads it once and sees one version
    /// of it; blobs carry their key's version, so values sealed under either open.
    keys: Arc<RwLock<DataKeys>>,
    /// Seals the answers kept for `Idempotency-Key` retries (see `idempotency`).
    records: Arc<DataKey>,
    quotas: super::Quotas,
    /// Several nodes (etcd): the master keyring, to open data keys another node added.
    master: Option<Arc<KeyringCell>>,
}

impl OrgReader {
    pub fn new(
        id: OrgId,
        store: Store,
        deks: Vec<DataKey>,
        records: Arc<DataKey>,
        quotas: super::Quotas,
    ) -> Self {
        OrgReader {
            id,
            store,
            keys: Arc::new(RwLock::new(Arc::new(
                deks.into_iter()
                    .map(|k| (k.version(), Arc::new(k)))
                    .collect(),
            ))),
            records,
            quotas,
            master: None,
        }
    }

    /// Let this reader open the organization's data keys again from the store, when another
    /// node rotated them (see `refresh_keys`).
    pub(crate) fn with_master(mut self, master: Arc<KeyringCell>) -> Self {
        self.master = Some(master);
        self
    }

    /// Several nodes (etcd): another node may have rotated the organization's data key since
    /// this reader opened them. The versions in the store (the mirror) are compared with the
    /// reader's, and the keys opened again when they differ. A change calls this right after it
    /// takes its read revision, so that it seals with the keys as of that revision (an older
    /// key may have been deleted by then, and a value sealed by it would never open again).
    pub(crate) fn refresh_keys(&self) -> DomainResult<()> {
        let Some(master) = &self.master else {
            return Ok(());
        };
        if !self.store.is_shared() {
            return Ok(());
        }
        let stored = self
            .store
            .scan_keys(&keys::deks(self.id))
            .map(|k| dek_version(&k?))
            .collect::<DomainResult<Vec<u32>>>()?;
        if stored == self.key_versions() {
            return Ok(());
        }
        self.replace_keys(open_deks(&self.store, master, self.id)?);
        Ok(())
    }

    pub(crate) fn quotas(&self) -> &super::Quotas {
        &self.quotas
    }

    pub(crate) fn records_key(&self) -> &DataKey {
        &self.records
    }

    pub fn id(&self) -> OrgId {
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
            let (id, raw) = entry?;
            if count >= window.skip && items.len() < window.take {
                let v = self.placed(e.id, VarId(store::id_from(&id)?), store::decode(&raw)?)?;
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

    pub(crate) fn org(&self) -> DomainResult<Organization> {
        self.store
            .org(self.id)?
            .ok_or(DomainError::NotFound("organization"))
    }

    /// Where `r` lives, if this organization owns it; any other answer looks like a missing id.
    fn owned<R: Located>(&self, r: R) -> DomainResult<Loc<R::Parent>> {
        match self.store.locate(r)? {
            Some(loc) if loc.org == self.id => Ok(loc),
            _ => Err(DomainError::NotFound(R::WHAT)),
        }
    }

    pub(crate) fn project(&self, id: ProjectId) -> DomainResult<Project> {
        self.owned(id)?;
        self.store
            .get(&keys::project(self.id, id))?
            .ok_or(DomainError::NotFound(ProjectId::WHAT))
    }

    pub(crate) fn environment(&self, id: EnvId) -> DomainResult<Environment> {
        let loc = self.owned(id)?;
        self.store
            .get(&keys::env(loc.parent, id))?
            .ok_or(DomainError::NotFound(EnvId::WHAT))
    }

    pub(crate) fn variable(&self, id: VarId) -> DomainResult<Variable> {
        let loc = self.owned(id)?;
        let v = self
            .store
            .get(&keys::var(loc.parent, id))?
            .ok_or(DomainError::NotFound(VarId::WHAT))?;
        self.placed(loc.parent, id, v)
    }

    /// Every variable of `env`, in id order, each checked to be where it is stored.
    pub(crate) fn variables_in(
        &self,
        env: EnvId,
    ) -> impl Iterator<Item = DomainResult<Variable>> + '_ {
        self.store.scan_entries(&keys::vars(env)).map(move |entry| {
            let (id, raw) = entry?;
            self.placed(env, VarId(store::id_from(&id)?), store::decode(&raw)?)
        })
    }

    /// `v`, read from the store under environment `env` and id `id`, once it names that place
    /// itself. A value opens only under the (organization, environment, variable, version) it
    /// was sealed with, and those are taken from its record (see `slot`); so the record must be
    /// where it says it is. Else a record copied whole under another key, which still names
    /// its old place, would open there: another environment's value, or another variable's,
    /// shown to whoever may read this one. Every `Variable` that reaches `open` comes through
    /// here (`variable`, `variables_in`, `list_variables`), or was just sealed by this reader.
    /// The check compares ids already in hand: no store read, no allocation.
    fn placed(&self, env: EnvId, id: VarId, v: Variable) -> DomainResult<Variable> {
        if v.org == self.id && v.env == env && v.id == id {
            Ok(v)
        } else {
            Err(misplaced(format!("variable {id} of environment {env}")))
        }
    }

    /// A variable's value bound to where it lives (see `crypto::ValueSlot`). Only for records
    /// that `placed` has checked; the version is the record's own (the key `V <env><var>`
    /// holds none).
    fn slot(v: &Variable) -> ValueSlot {
        ValueSlot {
            org: v.org,
            env: v.env,
            var: v.id,
            version: v.version,
        }
    }

    /// The data keys as they are now (one read of the shared map).
    fn keys(&self) -> DataKeys {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The version new values are sealed with.
    pub(crate) fn key_version(&self) -> u32 {
        self.keys().keys().next_back().copied().unwrap_or_default()
    }

    /// The versions of the data keys held, oldest first.
    pub(crate) fn key_versions(&self) -> Vec<u32> {
        self.keys().keys().copied().collect()
    }

    /// Hold exactly `deks` from now on (another node rotated the organization's key).
    pub(crate) fn replace_keys(&self, deks: Vec<DataKey>) {
        let next = deks
            .into_iter()
            .map(|k| (k.version(), Arc::new(k)))
            .collect();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }

    /// Start using `key` (a new, newest version, already durable in the store) at once.
    pub(crate) fn add_key(&self, key: DataKey) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let mut next = BTreeMap::clone(&keys);
        next.insert(key.version(), Arc::new(key));
        *keys = Arc::new(next);
    }

    /// Forget every key but `version` (once nothing is sealed by them any more).
    pub(crate) fn retire_keys_except(&self, version: u32) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let next = keys
            .iter()
            .filter(|(v, _)| **v == version)
            .map(|(v, k)| (*v, k.clone()))
            .collect();
        *keys = Arc::new(next);
    }

    pub(crate) fn open(&self, v: &Variable) -> DomainResult<SecretValue> {
        let version = key_version(&v.sealed)?;
        let key = self.keys().get(&version).cloned().ok_or_else(|| {
            DomainError::Internal(format!("org {} has no data key v{version}", self.id))
        })?;
        // Name the record in the log: a value that fails to open was tampered with or moved.
        key.open(Self::slot(v), &v.sealed).map_err(|e| match e {
            DomainError::Internal(m) => {
                DomainError::Internal(format!("variable {} version {}: {m}", v.id, v.version))
            }
            e => e,
        })
    }

    pub(crate) fn seal(&self, v: &Variable, value: &SecretValue) -> DomainResult<Vec<u8>> {
        self.seal_with(self.key_version(), v, value)
    }

    /// Seal `value` for `v` under data key `version`.
    pub(crate) fn seal_with(
        &self,
        version: u32,
        v: &Variable,
        value: &SecretValue,
    ) -> DomainResult<Vec<u8>> {
        let key = self.keys().get(&version).cloned().ok_or_else(|| {
            DomainError::Internal(format!("org {} has no data key v{version}", self.id))
        })?;
        // Several nodes: a key another node has deleted (its rotation finished) must never seal
        // a value, which could then never be opened. The change is refused and built again on
        // fresh data (with the keys as they are then).
        if self.store.is_shared() && !self.store.contains(&keys::dek(self.id, version))? {
            return Err(DomainError::Contended);
        }
        key.seal(Self::slot(v), value.expose())
    }
}

/// The version in a data key's store key (the part after the organization's prefix).
pub(crate) fn dek_version(k: &[u8]) -> DomainResult<u32> {
    k.try_into()
        .map(u32::from_be_bytes)
        .map_err(|_| DomainError::Internal("bad data key id".into()))
}

/// A record stored under a key that is not its own: the data directory was edited (or a bug put
/// it there). Refused as an internal error, logged with where it was found; never opened.
pub(crate) fn misplaced(what: String) -> DomainError {
    DomainError::Internal(format!(
        "the stored record of {what} names another place; refusing to open it (was the data \
         directory edited?)"
    ))
}

/// `org`'s data keys, opened from the store. The keyring is held so that a master-key rotation
/// does not re-seal them between the read and the open.
pub(crate) fn open_deks(
    store: &Store,
    master: &KeyringCell,
    org: OrgId,
) -> DomainResult<Vec<DataKey>> {
    let keyring = master.hold();
    store
        .scan_entries(&keys::deks(org))
        .map(|kv| {
            let (k, v) = kv?;
            keyring.open_data_key(org, dek_version(&k)?, &v)
        })
        .collect()
}

//! The embedded store: one sled tree, keys prefixed by kind (layout in `keys`), values a format
//! byte followed by bincode so the encoding can change later. Everything lives in one tree so
//! that a change and its audit entry are one atomic batch: after a crash either both are there or
//! neither is.
//!
//! The interface stays narrow, as DESIGN.md asks, so that a distributed backend can follow
//! without touching the actors: read one key, scan a prefix (either way), apply a batch
//! atomically, bump a counter (compare-and-swap), flush. Everything else here (typed reads,
//! counts, locators) is built on those.

pub mod etcd;
mod gate;
pub mod keys;
mod loc;
mod snapshot;

pub use gate::{Gate, Reading};
pub use loc::{Loc, Located};

use crate::error::{DomainError, DomainResult};
use crate::model::*;
use dashmap::DashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

const FORMAT: u8 = 1;

pub fn encode<T: Serialize>(v: &T) -> DomainResult<Vec<u8>> {
    let mut out = vec![FORMAT];
    bincode::serde::encode_into_std_write(v, &mut out, bincode::config::standard())
        .map_err(|e| DomainError::internal("encode", e))?;
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> DomainResult<T> {
    match bytes.split_first() {
        Some((&FORMAT, rest)) => {
            bincode::serde::decode_from_slice(rest, bincode::config::standard())
                .map(|(v, _)| v)
                .map_err(|e| DomainError::internal("decode", e))
        }
        _ => Err(DomainError::Internal(
            "stored record has an unknown format".into(),
        )),
    }
}

/// A set of writes applied atomically by `Store::apply`.
#[derive(Default)]
pub struct Changes {
    /// Key -> new value (`None`: deleted), in the order written; a later write of a key wins.
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// On etcd, the mirror's revision when the change began to be built: the change applies only
    /// if none of its keys changed after it (see `etcd`). `None`: the revision at apply time.
    seen: Option<i64>,
    /// Etcd: a job's change applies only while its node still holds the job (see `Leader`).
    fence: Option<etcd::Fence>,
}

impl Changes {
    /// A change with no read revision; prefer `Store::changes`, which records it.
    pub fn new() -> Self {
        Changes::default()
    }

    /// Apply only while `fence` holds (a job's lock: see `etcd::Leader`); none on sled.
    pub fn fenced(&mut self, fence: Option<etcd::Fence>) {
        self.fence = fence;
    }

    /// The keys written, for a snapshot taken while the change is applied (see `snapshot`).
    fn keys(&self) -> Vec<&[u8]> {
        self.ops.iter().map(|(k, _)| k.as_slice()).collect()
    }

    fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The writes with each key's last write only (etcd refuses a key twice in one txn).
    fn last_writes(self) -> std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        self.ops.into_iter().collect()
    }

    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) -> DomainResult<()> {
        self.put_raw(key, encode(value)?);
        Ok(())
    }

    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }

    pub fn del(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }
}

/// Where the records live: the embedded sled tree (one node), or etcd (several nodes).
#[derive(Clone)]
enum Backend {
    Sled {
        db: sled::Db,
        flusher: std::sync::mpsc::Sender<FlushWaiter>,
    },
    Etcd(Arc<etcd::Etcd>),
}

/// Which backend to open, as the server's settings name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// sled under `<data dir>/db`.
    Sled,
    /// etcd at these endpoints, every key under `prefix`.
    Etcd {
        endpoints: Vec<String>,
        prefix: String,
    },
}

/// The database handle. Cheap to clone (sled handles are reference-counted).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    health: Arc<Health>,
    gates: Arc<DashMap<OrgId, Arc<Gate>>>,
    snapshots: Arc<snapshot::Tracker>,
    feeds: Arc<DashMap<EnvId, Arc<tokio::sync::Notify>>>,
}

/// Whether the store can still be trusted. The first write or flush error fails it for good
/// (sled's own errors are sticky, and what was applied but not flushed is now unknown): from
/// then on nothing is read or written, and the server stops so a supervisor can start it again
/// on what is durable (fail-stop, as etcd and PostgreSQL do on a failed fsync).
#[derive(Default)]
struct Health {
    failure: std::sync::OnceLock<String>,
    failed: tokio::sync::Notify,
}

/// Who waits for a flush: an awaiting writer, or a thread blocked on it (`flush_blocking`).
enum FlushWaiter {
    Async(tokio::sync::oneshot::Sender<Result<(), String>>),
    Blocking(std::sync::mpsc::SyncSender<Result<(), String>>),
}

impl FlushWaiter {
    fn answer(self, result: Result<(), String>) {
        let _ = match self {
            FlushWaiter::Async(w) => w.send(result),
            FlushWaiter::Blocking(w) => w.send(result).map_err(|e| e.0),
        };
    }
}

/// Histogram (`metrics` facade): seconds one group-commit flush took.
pub const FLUSH_SECONDS: &str = "keynest_store_flush_duration_seconds";
/// Histogram (`metrics` facade): writers one group-commit flush answered.
pub const FLUSH_WRITERS: &str = "keynest_store_flush_batch_writers";

/// Group commit on one thread: each round takes every writer waiting so far, makes the store
/// durable once with a blocking `flush`, and answers them all. A writer registers only after its
/// batch is applied, so the flush that answers it covers its batch. (sled 0.34's own
/// `flush_async` deadlocks when called concurrently: sled issue #1308, fixed only on its main
/// branch.) Every flush of the process goes through this thread, the blocking ones too
/// (`flush_blocking`: backups, the session sweep, the final flush at shutdown), so sled never
/// flushes on two threads at once. Each round's duration and batch size go to the `metrics` facade: the flush is what
/// every write waits on, and how many writers share one tells whether group commit is working.
/// Without a recorder (metrics off) those calls do nothing.
fn start_flusher(db: sled::Db) -> DomainResult<std::sync::mpsc::Sender<FlushWaiter>> {
    let (tx, rx) = std::sync::mpsc::channel::<FlushWaiter>();
    std::thread::Builder::new()
        .name("keynest-flush".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut waiters = vec![first];
                waiters.extend(rx.try_iter());
                let started = std::time::Instant::now();
                let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                let (took, answered) = (started.elapsed(), waiters.len());
                for w in waiters {
                    w.answer(result.clone());
                }
                // Recorded once the writers are answered; looked up each round (a flush costs
                // far more), so a recorder installed after the store was opened still gets them.
                metrics::histogram!(FLUSH_SECONDS).record(took.as_secs_f64());
                metrics::histogram!(FLUSH_WRITERS).record(answered as f64);
            }
        })
        .map_err(|e| DomainError::internal("cannot start the flush thread", e))?;
    Ok(tx)
}

impl Store {
    pub fn open(dir: &Path) -> DomainResult<Store> {
        let db = sled::Config::new()
            .path(dir.join("db"))
            .cache_capacity(64 * 1024 * 1024)
            .open()
            .map_err(|e| DomainError::internal("cannot open the store", e))?;
        let flusher = start_flusher(db.clone())?;
        Ok(Self::with_backend(Backend::Sled { db, flusher }))
    }

    /// Open the store at `location` (`dir` is the data directory, used by sled).
    pub fn open_at(location: &Location, dir: &Path) -> DomainResult<Store> {
        match location {
            Location::Sled => Self::open(dir),
            Location::Etcd { endpoints, prefix } => Self::open_etcd(endpoints, prefix),
        }
    }

    /// Connect to etcd and load this node's mirror of everything under `prefix`.
    pub fn open_etcd(endpoints: &[String], prefix: &str) -> DomainResult<Store> {
        let etcd = etcd::Etcd::connect(endpoints, prefix)?;
        let store = Self::with_backend(Backend::Etcd(etcd.clone()));
        // A change another node made to an environment's revision wakes this node's watchers.
        let feeds = store.feeds.clone();
        let revisions = keys::count(&keys::revision(EnvId(0)));
        let head = revisions[..revisions.len() - 8].to_vec();
        etcd.set_on_change(Box::new(move |key| {
            if let Some(id) = key.strip_prefix(head.as_slice()) {
                if let Ok(env) = id_from(id) {
                    if let Some(feed) = feeds.get(&EnvId(env)) {
                        feed.notify_waiters();
                    }
                }
            }
        }));
        Ok(store)
    }

    fn with_backend(backend: Backend) -> Store {
        Store {
            backend,
            health: Arc::default(),
            gates: Arc::default(),
            snapshots: Arc::default(),
            feeds: Arc::default(),
        }
    }

    /// Whether other nodes share this store (etcd): what this process holds in memory may be
    /// out of date and must be checked against the store.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Etcd(_))
    }

    /// Etcd: campaign for `job`, to run it on one node at a time (see `etcd::Leader`). `None`
    /// on sled, where the one process is the only one.
    pub fn leader(&self, job: &str) -> Option<Arc<etcd::Leader>> {
        match &self.backend {
            Backend::Sled { .. } => None,
            Backend::Etcd(e) => Some(e.leader(job)),
        }
    }

    /// A change to build, remembering what the store had applied when it began (on etcd it is
    /// refused if any key it writes changed since).
    pub fn changes(&self) -> Changes {
        Changes {
            ops: Vec::new(),
            fence: None,
            seen: match &self.backend {
                Backend::Sled { .. } => None,
                Backend::Etcd(e) => Some(e.applied()),
            },
        }
    }

    /// On etcd: wait until this node has every write any node acknowledged before this call
    /// (a linearizable read barrier). Nothing to wait for on sled.
    pub async fn barrier(&self) -> DomainResult<()> {
        match &self.backend {
            Backend::Sled { .. } => Ok(()),
            Backend::Etcd(e) => e.barrier().await,
        }
    }

    /// As `barrier`, blocking (for the start, outside any runtime).
    pub fn barrier_blocking(&self) -> DomainResult<()> {
        match &self.backend {
            Backend::Sled { .. } => Ok(()),
            Backend::Etcd(e) => e.barrier_blocking(),
        }
    }

    /// Apply `changes` and make them durable: on sled `apply` then `flush` (group commit), on
    /// etcd one transaction awaited without holding a thread.
    pub async fn apply_durable(&self, mut changes: Changes) -> DomainResult<()> {
        match &self.backend {
            Backend::Sled { .. } => {
                self.apply(changes)?;
                self.flush().await
            }
            Backend::Etcd(e) => {
                if changes.is_empty() {
                    return Ok(());
                }
                let seen = changes.seen.unwrap_or_else(|| e.applied());
                let fence = changes.fence.take();
                e.apply(changes.last_writes(), seen, fence.as_ref()).await
            }
        }
    }
    // ---- failure and the read gates ----

    /// Why the store failed, once it has.
    pub fn failure(&self) -> Option<&str> {
        self.health.failure.get().map(String::as_str)
    }

    /// Resolves once the store has failed.
    pub async fn failed(&self) {
        let notified = self.health.failed.notified();
        if self.failure().is_none() {
            notified.await;
        }
    }

    /// Record a write-path failure (logged once) and answer the write with what is known.
    fn fail(&self, cause: impl std::fmt::Display, maybe_applied: bool) -> DomainError {
        let cause = cause.to_string();
        if self.health.failure.set(cause.clone()).is_ok() {
            log::error!(
                "storage failure: {cause}; refusing every read and write from now on and stopping"
            );
            self.health.failed.notify_waiters();
        }
        DomainError::StorageUnavailable { maybe_applied }
    }

    /// `Ok` while the store is sound; the refusal once it has failed.
    pub fn check(&self) -> DomainResult<()> {
        match self.failure() {
            None => Ok(()),
            Some(_) => Err(DomainError::StorageUnavailable {
                maybe_applied: false,
            }),
        }
    }

    /// The read gate of `org` (see `gate`).
    pub fn gate(&self, org: OrgId) -> Arc<Gate> {
        self.gates.entry(org).or_default().clone()
    }

    /// Wakes whoever watches `env` (its change feed) once a change of it is durable.
    pub fn feed(&self, env: EnvId) -> Arc<tokio::sync::Notify> {
        self.feeds.entry(env).or_default().clone()
    }

    /// Tell `env`'s watchers its revision moved (called once the change is durable).
    pub fn announce(&self, env: EnvId) {
        if let Some(feed) = self.feeds.get(&env) {
            feed.notify_waiters();
        }
    }

    /// Enter `org`'s gate: no change of it is between apply and flush while this is held.
    /// (On etcd, what a request reads is made current once, by the barrier the server awaits
    /// at its start: see `barrier`.)
    pub async fn read_durable(&self, org: OrgId) -> DomainResult<Reading> {
        let reading = self.gate(org).read().await;
        self.check()?;
        Ok(reading)
    }

    // ---- the backend: the only methods that touch sled ----

    /// Reads, like writes, are refused once the store has failed, and a read error fails it.
    pub fn get_raw(&self, key: &[u8]) -> DomainResult<Option<sled::IVec>> {
        self.check()?;
        match &self.backend {
            Backend::Sled { db, .. } => db.get(key).map_err(|e| self.fail(e, false)),
            Backend::Etcd(e) => Ok(e.get(key)),
        }
    }

    /// (whole key, raw value) pairs under `prefix`, in key order (`.rev()` for the reverse).
    pub fn scan_raw(
        &self,
        prefix: &[u8],
    ) -> impl DoubleEndedIterator<Item = DomainResult<(sled::IVec, sled::IVec)>> {
        // Once failed: only the refusal, in either direction.
        let (refused, scan, mirrored) = match (self.check(), &self.backend) {
            (Err(e), _) => (Some(Err(e)), None, None),
            (Ok(()), Backend::Sled { db, .. }) => (None, Some(db.scan_prefix(prefix)), None),
            (Ok(()), Backend::Etcd(e)) => (None, None, Some(e.scan(prefix))),
        };
        let store = self.clone();
        let rows = scan
            .into_iter()
            .flatten()
            .map(move |r| r.map_err(|e| store.fail(e, false)));
        let mirrored = mirrored.into_iter().flatten().map(Ok);
        refused.into_iter().chain(rows).chain(mirrored)
    }

    /// Write one record outside a batch, with no flush: for bookkeeping that may be lost in a
    /// crash (a service token's `last_used`). On etcd, written only over the record as this
    /// node's copy holds it: never one another node deleted or changed meanwhile.
    pub fn put_volatile<T: Serialize>(&self, key: &[u8], value: &T) -> DomainResult<()> {
        self.check()?;
        match &self.backend {
            Backend::Sled { db, .. } => {
                let _writing = self.snapshots.writing([key]);
                db.insert(key, encode(value)?)
                    .map_err(|e| self.fail(e, false))?;
            }
            // Never writes back a record another node deleted (a revoked session).
            Backend::Etcd(e) => e.put_if_unchanged(key, encode(value)?)?,
        }
        Ok(())
    }

    /// The next id of a kind (1, 2, ...). Ids are never reused: the counter is bumped atomically
    /// (compare-and-swap) and made durable by the flush of the change that uses it.
    pub fn next_id(&self, kind: &str) -> DomainResult<u64> {
        self.check()?;
        let seq = keys::seq(kind);
        let db = match &self.backend {
            Backend::Sled { db, .. } => db,
            Backend::Etcd(e) => return e.next_id(&seq),
        };
        let _writing = self.snapshots.writing([&seq]);
        let v = db.update_and_fetch(seq.as_slice(), |old| {
            let n = old
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some((n + 1).to_be_bytes().to_vec())
        });
        let v = v.map_err(|e| self.fail(e, false))?;
        v.and_then(|b| <[u8; 8]>::try_from(&b[..]).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| DomainError::Internal("id counter".into()))
    }

    /// Apply `changes` atomically (not yet durable: see `flush`). Refused, with nothing applied,
    /// once the store has failed; an error while applying fails the store, and the change may or
    /// may not have been applied.
    pub fn apply(&self, mut changes: Changes) -> DomainResult<()> {
        self.check()?;
        if changes.is_empty() {
            return Ok(());
        }
        match &self.backend {
            Backend::Sled { db, .. } => {
                let mut batch = sled::Batch::default();
                let keys: Vec<Vec<u8>> = changes.keys().into_iter().map(<[u8]>::to_vec).collect();
                for (k, v) in changes.ops {
                    match v {
                        Some(v) => batch.insert(k, v),
                        None => batch.remove(k),
                    }
                }
                let _writing = self.snapshots.writing(&keys);
                db.apply_batch(batch).map_err(|e| self.fail(e, true))?;
            }
            Backend::Etcd(e) => {
                let seen = changes.seen.unwrap_or_else(|| e.applied());
                let fence = changes.fence.take();
                e.apply_blocking(changes.last_writes(), seen, fence.as_ref())?;
            }
        }
        Ok(())
    }

    /// Make everything applied so far durable. Runs on the flush thread, so it never blocks an
    /// actor; concurrent callers share the same disk write (group commit).
    /// A failed flush fails the store: what it covered may or may not be on disk.
    pub async fn flush(&self) -> DomainResult<()> {
        let flusher = match &self.backend {
            Backend::Sled { flusher, .. } => flusher,
            // Every etcd write is committed (by a quorum) before `apply` returns.
            Backend::Etcd(_) => return Ok(()),
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        flusher
            .send(FlushWaiter::Async(tx))
            .map_err(|_| self.fail("the flush thread has stopped", true))?;
        rx.await
            .map_err(|_| self.fail("the flush thread has stopped", true))?
            .map_err(|e| self.fail(format!("flush: {e}"), true))
    }

    /// `flush` for a thread that may block (it may be an actix arbiter's: it waits on a std
    /// channel, not a runtime). Shares the flush thread's rounds, so it never flushes beside it.
    pub fn flush_blocking(&self) -> DomainResult<()> {
        self.check()?;
        if let Backend::Sled { flusher, .. } = &self.backend {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            flusher
                .send(FlushWaiter::Blocking(tx))
                .map_err(|_| self.fail("the flush thread has stopped", true))?;
            rx.recv()
                .map_err(|_| self.fail("the flush thread has stopped", true))?
                .map_err(|e| self.fail(format!("flush: {e}"), true))?;
        }
        Ok(())
    }

    /// Bytes the store takes on disk, as sled counts them. For the operator's metrics: an error
    /// here is reported, not treated as a failure of the store.
    pub fn size_on_disk(&self) -> DomainResult<u64> {
        match &self.backend {
            Backend::Sled { db, .. } => db
                .size_on_disk()
                .map_err(|e| DomainError::internal("size on disk", e)),
            // Kept by etcd, not this node: the bytes of this installation's records.
            Backend::Etcd(e) => Ok(e.bytes()),
        }
    }

    // ---- built on the backend ----

    pub fn get<T: DeserializeOwned>(&self, key: &[u8]) -> DomainResult<Option<T>> {
        self.get_raw(key)?.map(|v| decode(&v)).transpose()
    }

    pub fn contains(&self, key: &[u8]) -> DomainResult<bool> {
        Ok(self.get_raw(key)?.is_some())
    }

    /// Records under `prefix`, in key order, decoded.
    pub fn scan<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = DomainResult<T>> {
        self.scan_raw(prefix)
            .map(|r| r.and_then(|(_, v)| decode(&v)))
    }

    /// Records under `prefix`, last key first.
    pub fn scan_rev<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = DomainResult<T>> {
        self.scan_raw(prefix)
            .rev()
            .map(|r| r.and_then(|(_, v)| decode(&v)))
    }

    /// (key with the prefix cut off, raw value) pairs under `prefix`, in key order.
    pub fn scan_entries(
        &self,
        prefix: &[u8],
    ) -> impl DoubleEndedIterator<Item = DomainResult<(sled::IVec, sled::IVec)>> {
        let n = prefix.len();
        self.scan_raw(prefix)
            .map(move |r| r.map(|(k, v)| (k.subslice(n, k.len() - n), v)))
    }

    /// Keys under `prefix` with the prefix cut off, in key order.
    pub fn scan_keys(
        &self,
        prefix: &[u8],
    ) -> impl DoubleEndedIterator<Item = DomainResult<sled::IVec>> {
        self.scan_entries(prefix).map(|r| r.map(|(k, _)| k))
    }

    pub fn count(&self, prefix: &[u8]) -> DomainResult<u64> {
        let mut n = 0;
        for kv in self.scan_raw(prefix) {
            kv?;
            n += 1;
        }
        Ok(n)
    }

    /// What the counter of `prefix` says (`keys::count`), or, where none was written yet (a
    /// store from before counters), a count of the keys under `prefix`.
    pub fn counted(&self, prefix: &[u8]) -> DomainResult<u64> {
        match self.get::<u64>(&keys::count(prefix))? {
            Some(n) => Ok(n),
            None => self.count(prefix),
        }
    }

    /// The ids at the end of the keys under `prefix` (an index such as `A <org>`).
    pub fn index_ids(&self, prefix: &[u8]) -> DomainResult<Vec<u64>> {
        self.scan_keys(prefix).map(|k| id_from(&k?)).collect()
    }

    // ---- typed look-ups used by more than one actor ----

    pub fn user(&self, id: UserId) -> DomainResult<Option<User>> {
        self.get(&keys::user(id))
    }

    pub fn org(&self, id: OrgId) -> DomainResult<Option<Organization>> {
        self.get(&keys::org(id))
    }

    pub fn membership(&self, org: OrgId, user: UserId) -> DomainResult<Option<Membership>> {
        self.get(&keys::member(org, user))
    }

    /// The organizations `user` belongs to, with the role there, in id order.
    pub fn orgs_of(&self, user: UserId) -> DomainResult<Vec<(OrgId, Role)>> {
        self.scan_entries(&keys::user_orgs(user))
            .map(|r| {
                let (k, v) = r?;
                Ok((OrgId(id_from(&k)?), decode(&v)?))
            })
            .collect()
    }
}

/// An 8-byte big-endian id at the front of `bytes`.
pub fn id_from(bytes: &[u8]) -> DomainResult<u64> {
    bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| DomainError::Internal("bad id in key".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_reject_unknown_formats() {
        let rec = (OrgId(7), 9u64);
        let bytes = encode(&rec).expect("encode");
        let back: (OrgId, u64) = decode(&bytes).expect("decode");
        assert_eq!(back, rec);
        let mut bad = bytes.clone();
        bad[0] = 99;
        assert!(decode::<(OrgId, u64)>(&bad).is_err());
        assert!(decode::<(OrgId, u64)>(&[]).is_err());
    }

    #[test]
    fn ids_scan_in_numeric_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let mut c = Changes::new();
        for id in [300u64, 2, 70_000, 1] {
            c.put(keys::project(OrgId(1), ProjectId(id)), &id)
                .expect("put");
        }
        c.put(keys::project(OrgId(2), ProjectId(5)), &5u64)
            .expect("put");
        store.apply(c).expect("apply");
        let got: Vec<u64> = store
            .scan(&keys::projects(OrgId(1)))
            .collect::<DomainResult<_>>()
            .expect("scan");
        assert_eq!(got, vec![1, 2, 300, 70_000]);
        assert_eq!(store.next_id("x").expect("id"), 1);
        assert_eq!(store.next_id("x").expect("id"), 2);
    }
}

//! The etcd backend: several KeyNest nodes share one etcd cluster (strictly serializable,
//! Jepsen-tested) and keep no state of their own that another node could contradict.
//!
//! Each node holds a **mirror** of the KeyNest keyspace (everything under its prefix): loaded
//! with a paged range read at one revision R, then kept current by a watch from R+1. Reads
//! (`get`, `scan`) stay synchronous, in-memory look-ups, as on sled.
//!
//! - **Linearizable reads**: `barrier` asks etcd (a linearizable read of the marker key that
//!   every write moves) for the revision of the last write under the prefix, then waits until the
//!   mirror has applied it. Requests waiting at the same moment share one round trip. A read made
//!   after the barrier sees every write acknowledged (by any node) before the barrier began.
//! - **Writes** are one etcd transaction: every key written must not have changed since the
//!   revision the change was built at (`mod_revision < seen + 1`; a key another node created or
//!   changed since fails it), the marker key moves, and the change's audit entry is in the same
//!   batch. A failed compare is a conflict (nothing applied); success waits until the mirror has
//!   the transaction's revision, so the writer reads its own write.
//! - A transport error after sending is "may or may not have been applied" (503
//!   `storage_unavailable`), but the node does not stop: the state lives in etcd.
//! - Watch broken or compacted: the mirror is loaded again (fresh range, fresh watch); barriers
//!   wait meanwhile and time out with 503.

use crate::error::{DomainError, DomainResult, FieldErrors};
use etcd_client::{Client, Compare, CompareOp, EventType, GetOptions, Txn, TxnOp, WatchOptions};
use sled::IVec;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

/// How long a read or a write waits for the mirror (or etcd) before answering 503.
const WAIT: Duration = Duration::from_secs(10);
/// gRPC messages may carry a whole import (10 MiB) or a page of sealed values.
const MAX_MESSAGE: usize = 256 * 1024 * 1024;
/// Keys per page when the mirror is loaded.
const PAGE: i64 = 1000;

type Map = BTreeMap<Vec<u8>, (IVec, i64)>;
/// Called with each key a watch event changed (not the node's own writes only: every node's).
pub type OnChange = Box<dyn Fn(&[u8]) + Send + Sync>;

pub struct Etcd {
    rt: tokio::runtime::Runtime,
    client: Client,
    /// `<prefix>d/` + KeyNest key.
    data: Vec<u8>,
    /// The key every write puts: its mod_revision is the last write under the prefix.
    marker: Vec<u8>,
    prefix: Vec<u8>,
    mirror: RwLock<Map>,
    /// The revision the mirror has applied, for sync waiters (Condvar) and async ones (watch).
    applied: Mutex<i64>,
    applied_cv: Condvar,
    applied_tx: tokio::sync::watch::Sender<i64>,
    /// Barrier coalescing: tickets taken, and the (ticket covered, revision) last fetched.
    tickets: AtomicU64,
    wanted: tokio::sync::Notify,
    fetched: tokio::sync::watch::Sender<(u64, Result<i64, String>)>,
    on_change: std::sync::OnceLock<OnChange>,
    /// Id counter key -> (next id to give, end of the block reserved): see `next_id`.
    ids: Mutex<std::collections::HashMap<Vec<u8>, (u64, u64)>>,
}

/// Ids a node reserves at once per kind: one etcd commit per this many new records.
const ID_BLOCK: u64 = 64;

/// What went wrong talking to etcd, in the domain's terms.
fn unavailable(e: impl std::fmt::Display, maybe_applied: bool) -> DomainError {
    log::warn!("etcd: {e}");
    DomainError::StorageUnavailable { maybe_applied }
}

fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

impl Etcd {
    /// Connect to `endpoints`, load the mirror of everything under `prefix` and start watching.
    pub fn connect(endpoints: &[String], prefix: &str) -> DomainResult<Arc<Etcd>> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("keynest-etcd")
            .enable_all()
            .build()
            .map_err(|e| DomainError::internal("etcd runtime", e))?;
        let eps = endpoints.to_vec();
        let client = run_blocking(&rt, async move {
            let opts = etcd_client::ConnectOptions::new()
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(WAIT)
                .with_keep_alive(Duration::from_secs(5), Duration::from_secs(5));
            Client::connect(eps, Some(opts)).await
        })
        .unwrap_or_else(|| Err(etcd_client::Error::WatchError("runtime stopped".into())))
        .map_err(|e| DomainError::Internal(format!("cannot reach etcd: {e}")))?;
        let prefix = prefix.as_bytes().to_vec();
        let (applied_tx, _) = tokio::sync::watch::channel(0);
        let (fetched, _) = tokio::sync::watch::channel((0, Ok(0)));
        let etcd = Arc::new(Etcd {
            rt,
            client,
            data: [prefix.as_slice(), b"d/"].concat(),
            marker: [prefix.as_slice(), b"rev"].concat(),
            prefix,
            mirror: RwLock::new(Map::new()),
            applied: Mutex::new(0),
            applied_cv: Condvar::new(),
            applied_tx,
            tickets: AtomicU64::new(0),
            wanted: tokio::sync::Notify::new(),
            fetched,
            on_change: std::sync::OnceLock::new(),
            ids: Mutex::default(),
        });
        // The first load is waited for: a node serves nothing before it has a mirror.
        let first = etcd.clone();
        let rev = run_blocking(&etcd.rt, async move { first.load().await })
            .unwrap_or_else(|| Err(etcd_client::Error::WatchError("runtime stopped".into())))
            .map_err(|e| DomainError::Internal(format!("cannot load from etcd: {e}")))?;
        let follower = etcd.clone();
        etcd.rt.spawn(async move { follower.follow(rev).await });
        let barrier = etcd.clone();
        etcd.rt.spawn(async move { barrier.fetch_loop().await });
        Ok(etcd)
    }

    pub fn set_on_change(&self, f: OnChange) {
        let _ = self.on_change.set(f);
    }

    fn kv(&self) -> etcd_client::KvClient {
        self.client
            .kv_client()
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    // ---- the mirror ----

    /// Load everything under the prefix at one revision, replace the mirror with it.
    async fn load(&self) -> Result<i64, etcd_client::Error> {
        let kv = self.kv();
        let end = prefix_end(&self.prefix);
        let mut map = Map::new();
        let mut from = self.prefix.clone();
        let mut rev = 0;
        loop {
            let mut opts = GetOptions::new().with_range(end.clone()).with_limit(PAGE);
            if rev > 0 {
                opts = opts.with_revision(rev);
            }
            let resp = retrying(|| {
                let (mut kv, from, opts) = (kv.clone(), from.clone(), opts.clone());
                async move { kv.get(from, Some(opts)).await }
            })
            .await?;
            if rev == 0 {
                rev = resp.header().map_or(0, |h| h.revision());
            }
            let kvs = resp.kvs();
            for kv in kvs {
                if let Some(k) = kv.key().strip_prefix(self.data.as_slice()) {
                    map.insert(k.to_vec(), (IVec::from(kv.value()), kv.mod_revision()));
                }
            }
            match kvs.last() {
                Some(last) if resp.more() => {
                    from = [last.key(), &[0u8]].concat();
                }
                _ => break,
            }
        }
        // A reload (a broken or compacted watch) may skip events: every key whose record
        // differs from the copy it replaces is announced, as the watch would have.
        let changed: Vec<Vec<u8>> = {
            let mut mirror = self.mirror.write().unwrap_or_else(|p| p.into_inner());
            let old = std::mem::replace(&mut *mirror, map);
            match self.on_change.get() {
                None => Vec::new(),
                Some(_) => {
                    let mut changed: Vec<Vec<u8>> = mirror
                        .iter()
                        .filter(|(k, (_, r))| old.get(*k).map(|(_, o)| o) != Some(r))
                        .map(|(k, _)| k.clone())
                        .collect();
                    changed.extend(old.into_keys().filter(|k| !mirror.contains_key(k)));
                    changed
                }
            }
        };
        self.set_applied(rev);
        if let Some(f) = self.on_change.get() {
            for k in &changed {
                f(k);
            }
        }
        Ok(rev)
    }

    fn set_applied(&self, rev: i64) {
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        if rev > *applied {
            *applied = rev;
            self.applied_cv.notify_all();
            self.applied_tx.send_replace(rev);
        }
    }

    pub fn applied(&self) -> i64 {
        *self.applied.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep the mirror current from `rev`; on any break load it again and go on.
    async fn follow(self: Arc<Self>, mut rev: i64) {
        loop {
            match self.watch_from(rev).await {
                Ok(()) => log::warn!("etcd watch ended; loading the mirror again"),
                Err(e) => log::warn!("etcd watch failed ({e}); loading the mirror again"),
            }
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                match self.load().await {
                    Ok(r) => {
                        rev = r;
                        break;
                    }
                    Err(e) => log::warn!("etcd: cannot load the mirror yet: {e}"),
                }
            }
        }
    }

    async fn watch_from(&self, rev: i64) -> Result<(), etcd_client::Error> {
        let wc = self
            .client
            .watch_client()
            .max_decoding_message_size(MAX_MESSAGE);
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(rev + 1);
        // No progress notifications: on etcd 3.4 their revision can run ahead of events still
        // on their way (etcd #15220), which would mark writes applied that the mirror lacks.
        // Every write of an installation moves its marker key, so its events alone carry the
        // revision of every write a barrier can wait for.
        let mut stream = retrying(|| {
            let (mut wc, opts, prefix) = (wc.clone(), opts.clone(), self.prefix.clone());
            async move { wc.watch(prefix, Some(opts)).await }
        })
        .await?;
        while let Some(resp) = stream.message().await? {
            if resp.canceled() || resp.compact_revision() > 0 {
                return Ok(());
            }
            let mut top = 0;
            let mut changed = Vec::new();
            {
                let mut map = self.mirror.write().unwrap_or_else(|p| p.into_inner());
                for ev in resp.events() {
                    let Some(kv) = ev.kv() else { continue };
                    top = top.max(kv.mod_revision());
                    let Some(k) = kv.key().strip_prefix(self.data.as_slice()) else {
                        continue;
                    };
                    match ev.event_type() {
                        EventType::Put => {
                            map.insert(k.to_vec(), (IVec::from(kv.value()), kv.mod_revision()));
                        }
                        EventType::Delete => {
                            map.remove(k);
                        }
                    }
                    changed.push(k.to_vec());
                }
            }
            self.set_applied(top);
            if let Some(f) = self.on_change.get() {
                for k in &changed {
                    f(k);
                }
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &[u8]) -> Option<IVec> {
        let map = self.mirror.read().unwrap_or_else(|p| p.into_inner());
        map.get(key).map(|(v, _)| v.clone())
    }

    pub fn scan(&self, prefix: &[u8]) -> Vec<(IVec, IVec)> {
        let map = self.mirror.read().unwrap_or_else(|p| p.into_inner());
        map.range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, (v, _))| (IVec::from(k.as_slice()), v.clone()))
            .collect()
    }

    /// Bytes of keys and values in the mirror (what this installation keeps in etcd, before
    /// etcd's own overhead and history).
    pub fn bytes(&self) -> u64 {
        let map = self.mirror.read().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(k, (v, _))| (k.len() + v.len()) as u64)
            .sum()
    }

    // ---- waiting for the mirror ----

    fn wait_applied_blocking(&self, rev: i64) -> DomainResult<()> {
        let guard = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, timeout) = self
            .applied_cv
            .wait_timeout_while(guard, WAIT, |a| *a < rev)
            .unwrap_or_else(|p| p.into_inner());
        drop(guard);
        if timeout.timed_out() {
            return Err(unavailable("the mirror did not catch up in time", false));
        }
        Ok(())
    }

    async fn wait_applied(&self, rev: i64) -> DomainResult<()> {
        let mut rx = self.applied_tx.subscribe();
        let waited = tokio::time::timeout(WAIT, rx.wait_for(|a| *a >= rev)).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            _ => Err(unavailable("the mirror did not catch up in time", false)),
        }
    }

    /// Wait until this node's mirror holds every write acknowledged before this call began.
    pub async fn barrier(&self) -> DomainResult<()> {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = self.fetched.subscribe();
        self.wanted.notify_one();
        // The borrow of the answer ends here (it is not `Send`).
        let rev = match tokio::time::timeout(WAIT, rx.wait_for(|(t, _)| *t >= ticket)).await {
            Ok(Ok(got)) => got.1.clone(),
            _ => Err("no answer from etcd in time".to_string()),
        };
        let rev = rev.map_err(|e| unavailable(e, false))?;
        self.wait_applied(rev).await
    }

    /// As `barrier`, from a thread outside the etcd runtime (a start, before anything is served).
    pub fn barrier_blocking(self: &Arc<Self>) -> DomainResult<()> {
        let me = self.clone();
        self.call(async move { me.barrier().await })
            .unwrap_or_else(|| Err(unavailable("the etcd runtime has stopped", false)))
    }

    /// One linearizable read per round, covering every ticket taken before the round began.
    async fn fetch_loop(self: Arc<Self>) {
        let kv = self.kv();
        loop {
            self.wanted.notified().await;
            let covered = self.tickets.load(Ordering::SeqCst);
            let got = retrying(|| {
                let (mut kv, marker) = (kv.clone(), self.marker.clone());
                async move { kv.get(marker, None).await }
            })
            .await
            .map(|r| r.kvs().first().map_or(0, |k| k.mod_revision()))
            .map_err(|e| e.to_string());
            let _previous = self.fetched.send_replace((covered, got));
        }
    }

    // ---- writes ----

    /// Run `f` on the etcd runtime from any thread (an actix arbiter included) and wait.
    fn call<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        run_blocking(&self.rt, f)
    }

    fn txn(
        &self,
        ops: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        seen: i64,
        fence: Option<&Fence>,
    ) -> Txn {
        let mut compares = Vec::with_capacity(ops.len() + 1);
        if let Some(f) = fence {
            compares.push(Compare::create_revision(
                f.key.clone(),
                CompareOp::Equal,
                f.revision,
            ));
        }
        let mut puts = Vec::with_capacity(ops.len() + 1);
        for (k, v) in ops {
            let key = [self.data.as_slice(), k].concat();
            compares.push(Compare::mod_revision(
                key.clone(),
                CompareOp::Less,
                seen + 1,
            ));
            puts.push(match v {
                Some(v) => TxnOp::put(key, v.clone(), None),
                None => TxnOp::delete(key, None),
            });
        }
        puts.push(TxnOp::put(self.marker.clone(), Vec::new(), None));
        Txn::new().when(compares).and_then(puts)
    }

    /// Apply `ops` atomically if no key of them changed after revision `seen`; wait until the
    /// mirror has it. Blocking (for the sync callers).
    pub fn apply_blocking(
        self: &Arc<Self>,
        ops: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        seen: i64,
        fence: Option<&Fence>,
    ) -> DomainResult<()> {
        let (node, fence) = (self.clone(), fence.cloned());
        self.call(async move { node.apply(ops, seen, fence.as_ref()).await })
            .ok_or_else(|| unavailable("the etcd runtime has stopped", true))?
    }

    /// As `apply_blocking`, awaited.
    pub async fn apply(
        self: &Arc<Self>,
        ops: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        seen: i64,
        fence: Option<&Fence>,
    ) -> DomainResult<()> {
        let txn = self.txn(&ops, seen, fence);
        let kv = self.kv();
        let started = std::time::Instant::now();
        let sent = self
            .rt
            .spawn(retrying(move || {
                let (mut kv, txn) = (kv.clone(), txn.clone());
                async move { kv.txn(txn).await }
            }))
            .await
            .map_err(|e| unavailable(e, true))?;
        let rev = settle(sent)?;
        self.wait_applied(rev).await?;
        committed(started);
        Ok(())
    }

    /// Bookkeeping (a session's or service token's last use): overwrite `key` only if it still
    /// is what this node's copy holds. A record another node deleted or changed meanwhile is
    /// left alone, so a revoked session is never written back: `Contended`, once this node's
    /// copy holds what the other node wrote, so that the caller can read it and merge again.
    pub fn put_if_unchanged(self: &Arc<Self>, key: &[u8], value: Vec<u8>) -> DomainResult<()> {
        let seen = {
            let map = self.mirror.read().unwrap_or_else(|p| p.into_inner());
            map.get(key).map(|(_, rev)| *rev)
        };
        let Some(rev) = seen else {
            return Ok(());
        };
        let full = [self.data.as_slice(), key].concat();
        let txn = Txn::new()
            .when(vec![Compare::mod_revision(
                full.clone(),
                CompareOp::Equal,
                rev,
            )])
            .and_then(vec![
                TxnOp::put(full.clone(), value, None),
                TxnOp::put(self.marker.clone(), Vec::new(), None),
            ])
            // Refused: the marker's revision, which every write moves, covers what beat us.
            .or_else(vec![TxnOp::get(self.marker.clone(), None)]);
        let kv = self.kv();
        let sent = self
            .call(retrying(move || {
                let (mut kv, txn) = (kv.clone(), txn.clone());
                async move { kv.txn(txn).await }
            }))
            .ok_or_else(|| unavailable("the etcd runtime has stopped", false))?;
        match sent {
            Ok(resp) if !resp.succeeded() => {
                let rev = resp
                    .op_responses()
                    .into_iter()
                    .find_map(|op| match op {
                        etcd_client::TxnOpResponse::Get(g) => {
                            g.kvs().first().map(|kv| kv.mod_revision())
                        }
                        _ => None,
                    })
                    .or_else(|| resp.header().map(|h| h.revision()))
                    .unwrap_or(0);
                self.wait_applied_blocking(rev)?;
                Err(DomainError::Contended)
            }
            sent => self.wait_applied_blocking(settle(sent)?),
        }
    }

    /// The next id of the counter at `key`, from a block this node reserved (`ID_BLOCK` ids
    /// per compare-and-swap on etcd): unique across nodes and increasing on each node; ids of a
    /// block a node did not use before it stopped are never given out.
    pub fn next_id(self: &Arc<Self>, key: &[u8]) -> DomainResult<u64> {
        let mut blocks = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((next, end)) = blocks.get_mut(key) {
            if *next < *end {
                *next += 1;
                return Ok(*next - 1);
            }
        }
        let last = self.reserve(key, ID_BLOCK)?;
        // The block is (last - ID_BLOCK, last]: hand out its first id now.
        let first = last - ID_BLOCK + 1;
        blocks.insert(key.to_vec(), (first + 1, last + 1));
        Ok(first)
    }

    /// Move the counter at `key` (8 bytes BE) up by `n` with compare-and-swap; its new value.
    fn reserve(self: &Arc<Self>, key: &[u8], n: u64) -> DomainResult<u64> {
        let full = [self.data.as_slice(), key].concat();
        let marker = self.marker.clone();
        let kv = self.kv();
        let step = n;
        let bumped = self.call(async move {
            for _ in 0..100 {
                let got = retrying(|| {
                    let (mut kv, full) = (kv.clone(), full.clone());
                    async move { kv.get(full, None).await }
                })
                .await?;
                let (n, cmp) = match got.kvs().first() {
                    Some(k) => (
                        <[u8; 8]>::try_from(k.value())
                            .map(u64::from_be_bytes)
                            .unwrap_or(0),
                        Compare::mod_revision(full.clone(), CompareOp::Equal, k.mod_revision()),
                    ),
                    None => (0, Compare::version(full.clone(), CompareOp::Equal, 0)),
                };
                let txn = Txn::new().when(vec![cmp]).and_then(vec![
                    TxnOp::put(full.clone(), (n + step).to_be_bytes().to_vec(), None),
                    TxnOp::put(marker.clone(), Vec::new(), None),
                ]);
                let resp = retrying(|| {
                    let (mut kv, txn) = (kv.clone(), txn.clone());
                    async move { kv.txn(txn).await }
                })
                .await?;
                if resp.succeeded() {
                    return Ok(Some((n + step, resp.header().map_or(0, |h| h.revision()))));
                }
            }
            Ok::<_, etcd_client::Error>(None)
        });
        match bumped {
            // Nothing reads the counter from the mirror: no need to wait for it there.
            Some(Ok(Some((id, _)))) => Ok(id),
            Some(Ok(None)) => Err(unavailable("id counter contended", false)),
            Some(Err(e)) => Err(unavailable(e, true)),
            None => Err(unavailable("the etcd runtime has stopped", true)),
        }
    }
}

/// How long a job's holder keeps its lock without renewing it (renewed every third of it).
const LEASE_TTL: i64 = 10;

/// A job that must run on one node at a time (the session sweep): the node holding the lock
/// key `<prefix>lock/<job>`, created with an etcd lease the node keeps alive. The holder's
/// writes compare the lock key's create_revision with its own (`Fence`): a node whose lease
/// expired (paused, cut off) while another took the lock can no longer write.
pub struct Leader {
    held: Mutex<Option<i64>>,
    key: Vec<u8>,
}

/// Carried by a job's change: applies only while `key` is the lock created at `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub key: Vec<u8>,
    pub revision: i64,
}

impl Leader {
    /// The fence to write under, while this node holds the job.
    pub fn fence(&self) -> Option<Fence> {
        let held = *self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.map(|revision| Fence {
            key: self.key.clone(),
            revision,
        })
    }

    fn set(&self, v: Option<i64>) {
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = v;
    }
}

impl Etcd {
    /// Campaign for `job` for as long as the process runs.
    pub fn leader(self: &Arc<Self>, job: &str) -> Arc<Leader> {
        let leader = Arc::new(Leader {
            held: Mutex::new(None),
            key: [self.prefix.as_slice(), b"lock/", job.as_bytes()].concat(),
        });
        let (etcd, l) = (self.clone(), leader.clone());
        self.rt.spawn(async move {
            loop {
                if let Err(e) = etcd.hold(&l).await {
                    log::warn!("etcd lease: {e}");
                }
                l.set(None);
                tokio::time::sleep(Duration::from_secs((LEASE_TTL / 3) as u64)).await;
            }
        });
        leader
    }

    /// One term: take the lock if free and keep its lease alive until that fails.
    async fn hold(&self, l: &Leader) -> Result<(), etcd_client::Error> {
        let mut leases = self.client.lease_client();
        let lease = leases.grant(LEASE_TTL, None).await?.id();
        let txn = Txn::new()
            .when(vec![Compare::version(l.key.clone(), CompareOp::Equal, 0)])
            .and_then(vec![TxnOp::put(
                l.key.clone(),
                Vec::new(),
                Some(etcd_client::PutOptions::new().with_lease(lease)),
            )]);
        let resp = self.kv().txn(txn).await?;
        if !resp.succeeded() {
            // Someone holds it: this lease goes unused.
            let _ = leases.revoke(lease).await;
            return Ok(());
        }
        l.set(Some(resp.header().map_or(0, |h| h.revision())));
        let (mut keeper, mut answers) = leases.keep_alive(lease).await?;
        loop {
            tokio::time::sleep(Duration::from_secs((LEASE_TTL / 3) as u64)).await;
            keeper.keep_alive().await?;
            match answers.message().await? {
                Some(a) if a.ttl() > 0 => {}
                _ => return Ok(()),
            }
        }
    }
}

/// Whether `e` says the request never reached an etcd member (its connection was refused):
/// then nothing was applied and it may be sent again. The client balances over every endpoint
/// and keeps a dead member in its set, so a request may land on it; another try picks again.
fn not_sent(e: &etcd_client::Error) -> bool {
    let text = e.to_string();
    text.contains("tcp connect error") || text.contains("Connection refused")
}

/// Run `f` until it answers something other than "not sent", a bounded number of times.
async fn retrying<T, F, Fut>(mut f: F) -> Result<T, etcd_client::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
{
    let mut tries = 0u64;
    loop {
        match f().await {
            Err(e) if not_sent(&e) && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(10 * tries.min(10))).await;
            }
            other => return other,
        }
    }
}

/// A write is durable once etcd's quorum committed it: what sled's flush is, so the same
/// histograms time it (one writer per commit: etcd batches on its side).
fn committed(started: std::time::Instant) {
    metrics::histogram!(super::FLUSH_SECONDS).record(started.elapsed().as_secs_f64());
    metrics::histogram!(super::FLUSH_WRITERS).record(1.0);
}

/// A transaction's outcome: its revision, a conflict, or the error in the domain's terms.
fn settle(sent: Result<etcd_client::TxnResponse, etcd_client::Error>) -> DomainResult<i64> {
    match sent {
        Ok(resp) if resp.succeeded() => Ok(resp.header().map_or(0, |h| h.revision())),
        Ok(_) => Err(DomainError::Contended),
        Err(etcd_client::Error::GRpcStatus(s))
            if ["too many operations", "too large", "larger than max"]
                .iter()
                .any(|m| s.message().contains(m)) =>
        {
            Err(DomainError::Invalid(FieldErrors::one(
                "non_field_errors",
                "This change is larger than the store accepts in one transaction (etcd's \
                 --max-txn-ops and --max-request-bytes); nothing was applied.",
            )))
        }
        Err(e) => Err(unavailable(e, true)),
    }
}

/// Run `f` on `rt` and wait for it from a thread that may itself be inside another runtime (an
/// actix arbiter): the future is spawned and its answer comes back on a std channel.
fn run_blocking<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    f: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv().ok()
}

//! The embedded store: one sled tree, keys prefixed by kind, ids big-endian so that a range scan
//! comes out in id order. Everything lives in one tree so that a change and its audit entry are
//! one atomic `Batch`: after a crash either both are there or neither is.
//!
//! Key layout (ids are 8 bytes BE, versions 4 bytes BE):
//! ```text
//! m/check               sealed check value of the master key
//! m/seq/<kind>          id counters
//! u <user>              User                  E <lower email>    -> user id
//! X <lower username>    -> user id            t <sha256(token)>  TokenRecord
//! o <org>               Organization          k <org><version>   sealed data key
//! M <org><user>         Membership            U <user><org>      Role (a user's organizations)
//! l <kind><id>          Loc: the organization (and parent) that owns a project/env/variable
//! P <org><project>      Project               N <project><env>   Environment
//! n <project><name>     -> env id             V <env><var>       Variable
//! K <env><key>          -> var id             a <audit>          AuditEntry
//! h <var><version>      VariableVersion       S <sha256(token)>  ServiceToken
//! s <env><token id>     -> token hash (an environment's service tokens)
//! A <org><audit>        -> () (an organization's entries)
//! Z <user><audit>       -> () (a user's account events)
//! ```
//! Values are a format byte followed by bincode, so the encoding can change later.
//! This is the narrow interface (get, scan, atomic batch) DESIGN.md asks for.

use crate::error::{DomainError, DomainResult};
use crate::model::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

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

/// Key builders: the only place that knows the layout above.
pub mod keys {
    use crate::model::*;

    pub const CHECK: &[u8] = b"m/check";

    fn k(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
        let mut key = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
        key.push(prefix);
        for p in parts {
            key.extend_from_slice(p);
        }
        key
    }

    pub fn seq(kind: &str) -> Vec<u8> {
        [b"m/seq/", kind.as_bytes()].concat()
    }
    pub fn user(u: UserId) -> Vec<u8> {
        k(b'u', &[&u.be()])
    }
    pub fn email(lower: &str) -> Vec<u8> {
        k(b'E', &[lower.as_bytes()])
    }
    pub fn username(lower: &str) -> Vec<u8> {
        k(b'X', &[lower.as_bytes()])
    }
    pub fn token(hash: &[u8; 32]) -> Vec<u8> {
        k(b't', &[hash])
    }
    pub fn org(o: OrgId) -> Vec<u8> {
        k(b'o', &[&o.be()])
    }
    pub fn dek(o: OrgId, version: u32) -> Vec<u8> {
        k(b'k', &[&o.be(), &version.to_be_bytes()])
    }
    pub fn deks(o: OrgId) -> Vec<u8> {
        k(b'k', &[&o.be()])
    }
    pub fn member(o: OrgId, u: UserId) -> Vec<u8> {
        k(b'M', &[&o.be(), &u.be()])
    }
    pub fn members(o: OrgId) -> Vec<u8> {
        k(b'M', &[&o.be()])
    }
    pub fn user_org(u: UserId, o: OrgId) -> Vec<u8> {
        k(b'U', &[&u.be(), &o.be()])
    }
    pub fn user_orgs(u: UserId) -> Vec<u8> {
        k(b'U', &[&u.be()])
    }
    pub fn loc<R: super::Located>(r: R) -> Vec<u8> {
        k(b'l', &[&[R::TAG], &r.raw().to_be_bytes()])
    }
    pub fn project(o: OrgId, p: ProjectId) -> Vec<u8> {
        k(b'P', &[&o.be(), &p.be()])
    }
    pub fn projects(o: OrgId) -> Vec<u8> {
        k(b'P', &[&o.be()])
    }
    pub fn env(p: ProjectId, e: EnvId) -> Vec<u8> {
        k(b'N', &[&p.be(), &e.be()])
    }
    pub fn envs(p: ProjectId) -> Vec<u8> {
        k(b'N', &[&p.be()])
    }
    pub fn env_name(p: ProjectId, lower: &str) -> Vec<u8> {
        k(b'n', &[&p.be(), lower.as_bytes()])
    }
    pub fn var(e: EnvId, v: VarId) -> Vec<u8> {
        k(b'V', &[&e.be(), &v.be()])
    }
    pub fn vars(e: EnvId) -> Vec<u8> {
        k(b'V', &[&e.be()])
    }
    pub fn var_key(e: EnvId, key: &str) -> Vec<u8> {
        k(b'K', &[&e.be(), key.as_bytes()])
    }
    pub fn version(v: VarId, version: u32) -> Vec<u8> {
        k(b'h', &[&v.be(), &version.to_be_bytes()])
    }
    pub fn versions(v: VarId) -> Vec<u8> {
        k(b'h', &[&v.be()])
    }
    pub fn service_token(hash: &[u8; 32]) -> Vec<u8> {
        k(b'S', &[hash])
    }
    pub fn env_service_token(e: EnvId, t: ServiceTokenId) -> Vec<u8> {
        k(b's', &[&e.be(), &t.be()])
    }
    pub fn env_service_tokens(e: EnvId) -> Vec<u8> {
        k(b's', &[&e.be()])
    }
    pub fn audit(a: AuditId) -> Vec<u8> {
        k(b'a', &[&a.be()])
    }
    /// Index of an organization's audit entries (`A`), and of a user's account events (`Z`).
    pub fn org_audit(o: OrgId) -> Vec<u8> {
        k(b'A', &[&o.be()])
    }
    pub fn account_audit(u: UserId) -> Vec<u8> {
        k(b'Z', &[&u.be()])
    }
}

/// A record found by id alone (`/api/variables/{id}/`), and so kept with a locator: which
/// organization owns it and its parent. The parent's type comes with the record's, so an
/// environment's locator can only name a project and a variable's only an environment.
pub trait Located: Copy {
    type Parent: Copy;
    /// The locator key's kind byte.
    const TAG: u8;
    /// What a client is told was not found.
    const WHAT: &'static str;
    fn raw(self) -> u64;
    fn parent_raw(parent: Self::Parent) -> u64;
    fn parent_from(raw: u64) -> Self::Parent;
}

impl Located for ProjectId {
    /// A project's parent is its organization, already in the locator.
    type Parent = ();
    const TAG: u8 = b'p';
    const WHAT: &'static str = "project";
    fn raw(self) -> u64 {
        self.0
    }
    fn parent_raw(_: ()) -> u64 {
        0
    }
    fn parent_from(_: u64) {}
}

impl Located for EnvId {
    type Parent = ProjectId;
    const TAG: u8 = b'e';
    const WHAT: &'static str = "environment";
    fn raw(self) -> u64 {
        self.0
    }
    fn parent_raw(p: ProjectId) -> u64 {
        p.0
    }
    fn parent_from(raw: u64) -> ProjectId {
        ProjectId(raw)
    }
}

impl Located for VarId {
    type Parent = EnvId;
    const TAG: u8 = b'v';
    const WHAT: &'static str = "variable";
    fn raw(self) -> u64 {
        self.0
    }
    fn parent_raw(e: EnvId) -> u64 {
        e.0
    }
    fn parent_from(raw: u64) -> EnvId {
        EnvId(raw)
    }
}

/// Where a located record lives: its organization and its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc<P> {
    pub org: OrgId,
    pub parent: P,
}

/// The stored form of a `Loc` (the parent as a bare id; 0 for a project).
#[derive(Serialize, Deserialize)]
struct StoredLoc {
    org: OrgId,
    parent: u64,
}

/// A set of writes applied atomically by `Store::commit`.
#[derive(Default)]
pub struct Changes {
    batch: sled::Batch,
    empty: bool,
}

impl Changes {
    pub fn new() -> Self {
        Changes {
            batch: sled::Batch::default(),
            empty: true,
        }
    }

    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) -> DomainResult<()> {
        self.batch.insert(key, encode(value)?);
        self.empty = false;
        Ok(())
    }

    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.batch.insert(key, value);
        self.empty = false;
    }

    pub fn del(&mut self, key: Vec<u8>) {
        self.batch.remove(key);
        self.empty = false;
    }

    /// Record where `r` lives, so that it can be found by its id alone.
    pub fn put_loc<R: Located>(&mut self, r: R, loc: Loc<R::Parent>) -> DomainResult<()> {
        let stored = StoredLoc {
            org: loc.org,
            parent: R::parent_raw(loc.parent),
        };
        self.put(keys::loc(r), &stored)
    }
}

/// The database handle. Cheap to clone (sled handles are reference-counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    flusher: std::sync::mpsc::Sender<FlushWaiter>,
}

type FlushWaiter = tokio::sync::oneshot::Sender<Result<(), String>>;

/// Group commit on one thread: each round takes every writer waiting so far, makes the store
/// durable once with a blocking `flush`, and answers them all. A writer registers only after its
/// batch is applied, so the flush that answers it covers its batch. (sled 0.34's own
/// `flush_async` deadlocks when called concurrently: sled issue #1308, fixed only on its main
/// branch.)
fn start_flusher(db: sled::Db) -> DomainResult<std::sync::mpsc::Sender<FlushWaiter>> {
    let (tx, rx) = std::sync::mpsc::channel::<FlushWaiter>();
    std::thread::Builder::new()
        .name("keynest-flush".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut waiters = vec![first];
                waiters.extend(rx.try_iter());
                let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                for w in waiters {
                    let _ = w.send(result.clone());
                }
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
        Ok(Store { db, flusher })
    }

    pub fn get<T: DeserializeOwned>(&self, key: &[u8]) -> DomainResult<Option<T>> {
        self.db.get(key)?.map(|v| decode(&v)).transpose()
    }

    pub fn get_raw(&self, key: &[u8]) -> DomainResult<Option<sled::IVec>> {
        Ok(self.db.get(key)?)
    }

    pub fn contains(&self, key: &[u8]) -> DomainResult<bool> {
        Ok(self.db.contains_key(key)?)
    }

    /// Records under `prefix`, in key order, decoded.
    pub fn scan<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = DomainResult<T>> {
        self.db
            .scan_prefix(prefix)
            .map(|r| r.map_err(DomainError::from).and_then(|(_, v)| decode(&v)))
    }

    /// Keys under `prefix` with the prefix cut off, in key order.
    pub fn scan_keys(&self, prefix: &[u8]) -> impl Iterator<Item = DomainResult<sled::IVec>> + '_ {
        let n = prefix.len();
        self.db.scan_prefix(prefix).keys().map(move |r| {
            r.map(|k| k.subslice(n, k.len() - n))
                .map_err(DomainError::from)
        })
    }

    /// (key with the prefix cut off, raw value) pairs under `prefix`, in key order.
    pub fn scan_entries(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = DomainResult<(sled::IVec, sled::IVec)>> + '_ {
        let n = prefix.len();
        self.db.scan_prefix(prefix).map(move |r| {
            r.map(|(k, v)| (k.subslice(n, k.len() - n), v))
                .map_err(DomainError::from)
        })
    }

    /// Records under `prefix`, last key first.
    pub fn scan_rev<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = DomainResult<T>> {
        self.db
            .scan_prefix(prefix)
            .rev()
            .map(|r| r.map_err(DomainError::from).and_then(|(_, v)| decode(&v)))
    }

    /// Write one record outside a batch, with no flush: for bookkeeping that may be lost in a
    /// crash (a service token's `last_used`).
    pub fn put_volatile<T: Serialize>(&self, key: &[u8], value: &T) -> DomainResult<()> {
        self.db.insert(key, encode(value)?)?;
        Ok(())
    }

    pub fn count(&self, prefix: &[u8]) -> DomainResult<u64> {
        let mut n = 0;
        for k in self.db.scan_prefix(prefix).keys() {
            k?;
            n += 1;
        }
        Ok(n)
    }

    /// The ids at the end of the keys under `prefix` (an index such as `A <org>`).
    pub fn index_ids(&self, prefix: &[u8]) -> DomainResult<Vec<u64>> {
        self.scan_keys(prefix).map(|k| id_from(&k?)).collect()
    }

    /// The next id of a kind (1, 2, ...). Ids are never reused: the counter is bumped atomically
    /// and made durable by the flush of the change that uses it.
    pub fn next_id(&self, kind: &str) -> DomainResult<u64> {
        let v = self.db.update_and_fetch(keys::seq(kind), |old| {
            let n = old
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some((n + 1).to_be_bytes().to_vec())
        })?;
        v.and_then(|b| <[u8; 8]>::try_from(&b[..]).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| DomainError::Internal("id counter".into()))
    }

    /// Apply `changes` atomically (not yet durable: see `flush`).
    pub fn apply(&self, changes: Changes) -> DomainResult<()> {
        if !changes.empty {
            self.db.apply_batch(changes.batch)?;
        }
        Ok(())
    }

    /// Make everything applied so far durable. Runs on the flush thread, so it never blocks an
    /// actor; concurrent callers share the same disk write (group commit).
    pub async fn flush(&self) -> DomainResult<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.flusher
            .send(tx)
            .map_err(|_| DomainError::Internal("the flush thread has stopped".into()))?;
        rx.await
            .map_err(|_| DomainError::Internal("the flush thread has stopped".into()))?
            .map_err(|e| DomainError::internal("flush", e))
    }

    pub fn flush_blocking(&self) -> DomainResult<()> {
        self.db.flush()?;
        Ok(())
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

    /// Where a record found by id alone lives, or `None` when there is no such record.
    pub fn locate<R: Located>(&self, r: R) -> DomainResult<Option<Loc<R::Parent>>> {
        Ok(self.get::<StoredLoc>(&keys::loc(r))?.map(|l| Loc {
            org: l.org,
            parent: R::parent_from(l.parent),
        }))
    }

    /// The organizations `user` belongs to, with the role there, in id order.
    pub fn orgs_of(&self, user: UserId) -> DomainResult<Vec<(OrgId, Role)>> {
        let prefix = keys::user_orgs(user);
        self.db
            .scan_prefix(&prefix)
            .map(|r| {
                let (k, v) = r?;
                let id = <[u8; 8]>::try_from(&k[prefix.len()..])
                    .map_err(|_| DomainError::Internal("bad membership index key".into()))?;
                Ok((OrgId(u64::from_be_bytes(id)), decode(&v)?))
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
        let loc = StoredLoc {
            org: OrgId(7),
            parent: 9,
        };
        let bytes = encode(&loc).expect("encode");
        let back: StoredLoc = decode(&bytes).expect("decode");
        assert_eq!((back.org, back.parent), (OrgId(7), 9));
        let mut bad = bytes.clone();
        bad[0] = 99;
        assert!(decode::<StoredLoc>(&bad).is_err());
        assert!(decode::<StoredLoc>(&[]).is_err());
    }

    #[test]
    fn locators_are_typed_and_keep_their_parent() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let mut c = Changes::new();
        fn at<P>(parent: P) -> Loc<P> {
            Loc {
                org: OrgId(3),
                parent,
            }
        }
        c.put_loc(VarId(5), at(EnvId(8))).expect("put");
        c.put_loc(ProjectId(5), at(())).expect("put");
        store.apply(c).expect("apply");
        assert_eq!(store.locate(VarId(5)).expect("get"), Some(at(EnvId(8))));
        assert_eq!(store.locate(ProjectId(5)).expect("get"), Some(at(())));
        // Same number, other kind: not found.
        assert_eq!(store.locate(EnvId(5)).expect("get"), None);
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

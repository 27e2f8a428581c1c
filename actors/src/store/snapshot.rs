//! A consistent snapshot of the whole store while it keeps taking writes. The store is read
//! from end to end without stopping anyone; every key written meanwhile is remembered; then,
//! for a moment, writes are held back (each apply takes the barrier's shared side), the
//! remembered keys are read again as they now stand, and the store is flushed. The records read
//! first, overlaid with those read last, are the store as it stood at that moment: a key not
//! written during the scan was read at its final value, and one written is read again.

use super::Store;
use crate::error::{DomainError, DomainResult};
use std::collections::BTreeSet;
use std::sync::{Mutex, RwLock, RwLockReadGuard};

#[derive(Default)]
pub(super) struct Tracker {
    /// Writers take the shared side while applying; the end of a snapshot takes it alone.
    barrier: RwLock<()>,
    /// The keys written since the snapshot began, while one is being taken.
    written: Mutex<Option<BTreeSet<Vec<u8>>>>,
}

/// Held while a write is applied.
pub(super) struct Writing<'a>(#[allow(dead_code)] RwLockReadGuard<'a, ()>);

impl Tracker {
    /// Note `keys` for a snapshot in progress, and hold the barrier's shared side while they
    /// are written.
    pub(super) fn writing<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Writing<'_> {
        let held = self.barrier.read().unwrap_or_else(|p| p.into_inner());
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = written.as_mut() {
            set.extend(keys.into_iter().map(|k| k.as_ref().to_vec()));
        }
        Writing(held)
    }
}

/// One record of a snapshot: a key and its value, or `None` for a key deleted during the scan.
pub type Record<'a> = (&'a [u8], Option<&'a [u8]>);

impl Store {
    /// Hand every record of a consistent snapshot to `sink`, in two passes (see the module
    /// doc): a later record for a key replaces an earlier one. Writes are held back only for
    /// the second pass and a flush. One snapshot at a time.
    pub fn snapshot(
        &self,
        mut sink: impl FnMut(Record) -> std::io::Result<()>,
    ) -> DomainResult<()> {
        self.check()?;
        let io = |e: std::io::Error| DomainError::internal("writing the snapshot", e);
        let db = match &self.backend {
            super::Backend::Sled { db, .. } => db,
            super::Backend::Etcd(e) => {
                // The mirror is read under its lock, and a transaction's events are applied
                // under it at once: one scan is the store at one revision.
                for (k, v) in e.scan(b"") {
                    sink((&k, Some(&v))).map_err(io)?;
                }
                return Ok(());
            }
        };
        {
            let mut written = self
                .snapshots
                .written
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if written.is_some() {
                return Err(DomainError::invalid(
                    "backup",
                    "A backup is already running.",
                ));
            }
            *written = Some(BTreeSet::new());
        }
        let scanned: DomainResult<()> = (|| {
            for kv in db.iter() {
                let (k, v) = kv.map_err(|e| DomainError::internal("reading the store", e))?;
                sink((&k, Some(&v))).map_err(io)?;
            }
            Ok(())
        })();
        let _alone = self
            .snapshots
            .barrier
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let written = self
            .snapshots
            .written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        scanned?;
        for key in &written {
            let now = self.get_raw(key)?;
            sink((key, now.as_deref())).map_err(io)?;
        }
        // What the snapshot holds is on disk too before writes go on.
        self.flush_blocking()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Changes;
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_snapshot_under_writes_is_the_store_at_its_end() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let put = |k: &str, v: &str| {
            let mut c = Changes::new();
            c.put_raw(k.as_bytes().to_vec(), v.as_bytes().to_vec());
            store.apply(c).expect("apply");
        };
        for i in 0..100 {
            put(&format!("k{i:03}"), "old");
        }
        let mut seen: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        let mut n = 0;
        store
            .snapshot(|(k, v)| {
                // Writes land in the middle of the scan: behind it, ahead of it, deletions.
                n += 1;
                if n == 50 {
                    put("k010", "changed behind");
                    put("k090", "changed ahead");
                    put("k200", "new");
                    let mut c = Changes::new();
                    c.del(b"k020".to_vec());
                    store.apply(c).expect("del");
                }
                seen.insert(k.to_vec(), v.map(<[u8]>::to_vec));
                Ok(())
            })
            .expect("snapshot");
        let snapshot: BTreeMap<Vec<u8>, Vec<u8>> = seen
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        let now: BTreeMap<Vec<u8>, Vec<u8>> = store
            .scan_raw(b"")
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .collect::<DomainResult<_>>()
            .expect("scan");
        assert_eq!(
            snapshot, now,
            "the snapshot is the store as it stood at its end"
        );
        assert_eq!(
            snapshot.get(b"k010".as_slice()).map(Vec::as_slice),
            Some(b"changed behind".as_slice())
        );
        assert!(!snapshot.contains_key(b"k020".as_slice()));
    }
}

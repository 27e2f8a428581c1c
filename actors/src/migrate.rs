//! Copy a whole installation from one store to another (sled -> etcd, etcd -> sled), then
//! verify the copy: for every organization, and for every kind of record, the count of records
//! and a SHA-256 over their keys and values must match on both sides. Records are copied as
//! they are stored: values stay sealed, nothing is decrypted, and the target needs the same
//! master key as the source.

use crate::error::{DomainError, DomainResult};
use crate::store::{id_from, Changes, Store};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Records per transaction, and bytes: under etcd's defaults (128 operations, 1.5 MiB), so a
/// migration needs no raised limits.
const BATCH_OPS: usize = 100;
const BATCH_BYTES: usize = 1024 * 1024;

/// Count and SHA-256 of the records of one group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    pub records: u64,
    pub sha256: [u8; 32],
}

/// Group name -> tally: `org <id>` for what an organization owns under its own id, `kind <k>`
/// for every kind of record, and `all` for the whole store.
pub type Tallies = BTreeMap<String, Tally>;

/// Kinds whose keys start with the owning organization's id (see `keys`).
const ORG_KINDS: &[u8] = b"okMPAi";

fn kind_of(key: &[u8]) -> String {
    if key.starts_with(b"m/") {
        let rest = &key[2..];
        let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
        return format!("m/{}", String::from_utf8_lossy(&rest[..end]));
    }
    match key.first() {
        Some(b) if b.is_ascii_graphic() => (*b as char).to_string(),
        Some(b) => format!("0x{b:02x}"),
        None => "empty".into(),
    }
}

/// The tallies of everything in `store`, read as one consistent snapshot.
pub fn tally(store: &Store) -> DomainResult<Tallies> {
    let mut hashers: BTreeMap<String, (u64, Sha256)> = BTreeMap::new();
    let mut add = |group: String, k: &[u8], v: &[u8]| {
        let (n, h) = hashers.entry(group).or_insert_with(|| (0, Sha256::new()));
        *n += 1;
        h.update((k.len() as u64).to_be_bytes());
        h.update(k);
        h.update((v.len() as u64).to_be_bytes());
        h.update(v);
    };
    // A snapshot lists a key a second time when it changed while being read (sled): the
    // later record wins, so gather first.
    let mut records: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    store.snapshot(|(k, v)| {
        records.insert(k.to_vec(), v.map(<[u8]>::to_vec));
        Ok(())
    })?;
    for (k, v) in records
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    {
        // Etcd's own ordering key is no record of the installation.
        if k.starts_with(b"m/head/") {
            continue;
        }
        add("all".into(), k, v);
        add(format!("kind {}", kind_of(k)), k, v);
        if k.first().is_some_and(|b| ORG_KINDS.contains(b)) {
            if let Ok(org) = id_from(&k[1..]) {
                add(format!("org {org}"), k, v);
            }
        }
    }
    Ok(hashers
        .into_iter()
        .map(|(g, (n, h))| {
            (
                g,
                Tally {
                    records: n,
                    sha256: h.finalize().into(),
                },
            )
        })
        .collect())
}

/// What a migration copied, and the tallies both sides agreed on.
#[derive(Debug)]
pub struct Migrated {
    pub records: u64,
    pub tallies: Tallies,
}

/// Copy everything in `from` into `to` (which must be empty), then verify both tally the same.
pub fn migrate(from: &Store, to: &Store) -> DomainResult<Migrated> {
    if to.scan_raw(b"").next().is_some() {
        return Err(DomainError::invalid(
            "to",
            "The target store already holds records; migrate into an empty one.",
        ));
    }
    let mut records: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    from.snapshot(|(k, v)| {
        records.insert(k.to_vec(), v.map(<[u8]>::to_vec));
        Ok(())
    })?;
    let mut batch = Changes::new();
    let (mut ops, mut bytes, mut copied) = (0usize, 0usize, 0u64);
    for (k, v) in records {
        let Some(v) = v else { continue };
        if k.starts_with(b"m/head/") {
            continue;
        }
        bytes += k.len() + v.len();
        batch.put_raw(k, v);
        ops += 1;
        copied += 1;
        if ops >= BATCH_OPS || bytes >= BATCH_BYTES {
            to.apply(std::mem::take(&mut batch))?;
            (ops, bytes) = (0, 0);
        }
    }
    to.apply(batch)?;
    to.flush_blocking()?;
    let (before, after) = (tally(from)?, tally(to)?);
    if before != after {
        let differ: Vec<&String> = before
            .iter()
            .filter(|(g, t)| after.get(*g) != Some(t))
            .map(|(g, _)| g)
            .chain(after.keys().filter(|g| !before.contains_key(*g)))
            .collect();
        return Err(DomainError::Internal(format!(
            "the copy does not match its source in: {differ:?} (did a server write to the \
             source meanwhile?)"
        )));
    }
    Ok(Migrated {
        records: copied,
        tallies: after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::store::keys;

    fn filled(dir: &std::path::Path) -> Store {
        let store = Store::open(dir).expect("open");
        let mut c = Changes::new();
        for org in 1..=3u64 {
            c.put(keys::org(OrgId(org)), &org).expect("put");
            c.put(keys::project(OrgId(org), ProjectId(org * 10)), &org)
                .expect("put");
        }
        c.put(keys::user(UserId(7)), &7u64).expect("put");
        store.apply(c).expect("apply");
        store
    }

    #[test]
    fn a_copy_tallies_as_its_source_and_a_changed_record_does_not() {
        let (a, b) = (
            tempfile::tempdir().expect("tmp"),
            tempfile::tempdir().expect("tmp"),
        );
        let (from, to) = (filled(a.path()), Store::open(b.path()).expect("open"));
        let done = migrate(&from, &to).expect("migrate");
        assert_eq!(done.records, 7);
        assert_eq!(done.tallies["org 2"].records, 2);
        assert_eq!(done.tallies["kind u"].records, 1);
        // A second migration into a store that is not empty is refused.
        assert!(migrate(&from, &to).is_err());
        // One changed byte in one organization changes its tally and only its own.
        let mut c = Changes::new();
        c.put(keys::project(OrgId(2), ProjectId(20)), &99u64)
            .expect("put");
        to.apply(c).expect("apply");
        let (x, y) = (tally(&from).expect("tally"), tally(&to).expect("tally"));
        assert_ne!(x["org 2"], y["org 2"]);
        assert_eq!(x["org 1"], y["org 1"]);
        assert_eq!(x["org 2"].records, y["org 2"].records);
    }
}

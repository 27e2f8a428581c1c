//! Backup and restore. A backup is a consistent snapshot of the whole store (`Store::snapshot`:
//! taken while the server keeps taking writes) written as one encrypted, authenticated file:
//!
//! ```text
//! "KEYNEST-BACKUP/1\n"  u32 BE length + the file's key sealed by the master key
//! chunks: u32 BE length, u8 last, sealed(records)   (index and `last` in the AAD)
//! records: u8 tag (1 put, 2 delete), u32 BE key length, key, [u32 BE value length, value]
//! ```
//!
//! Everything in the store is in it, metadata included (emails, names, audit entries), and none
//! of it in plaintext; values stay sealed under their organizations' keys inside it too. A
//! restore refuses a file that was changed, cut short or reordered, and one the given master key
//! did not make (its header cannot be opened). It writes a fresh data directory; the server is
//! then started on it.

use crate::crypto::{Keyring, StreamKey};
use crate::error::{DomainError, DomainResult};
use crate::store::{keys, Changes, Store};
use std::io::{Read, Write};
use std::path::Path;

const MAGIC: &[u8] = b"KEYNEST-BACKUP/1\n";
/// Plaintext gathered before a chunk is sealed.
const CHUNK: usize = 1024 * 1024;
const PUT: u8 = 1;
const DELETE: u8 = 2;

/// What a backup or a restore wrote.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub records: u64,
    pub bytes: u64,
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> DomainError {
    move |e| DomainError::internal(what, e)
}

struct ChunkWriter<W: Write> {
    out: W,
    key: StreamKey,
    index: u64,
    buf: zeroize::Zeroizing<Vec<u8>>,
    written: u64,
}

impl<W: Write> ChunkWriter<W> {
    fn seal(&mut self, last: bool) -> DomainResult<()> {
        let blob = self.key.seal_chunk(self.index, last, &self.buf)?;
        let len = u32::try_from(blob.len()).map_err(|_| DomainError::Internal("chunk".into()))?;
        self.out
            .write_all(&len.to_be_bytes())
            .map_err(io("backup"))?;
        self.out
            .write_all(&[u8::from(last)])
            .map_err(io("backup"))?;
        self.out.write_all(&blob).map_err(io("backup"))?;
        self.written += 5 + blob.len() as u64;
        self.index += 1;
        self.buf.clear();
        Ok(())
    }

    fn record(&mut self, key: &[u8], value: Option<&[u8]>) -> DomainResult<()> {
        let len = |n: usize| u32::try_from(n).map_err(|_| DomainError::Internal("record".into()));
        self.buf.push(if value.is_some() { PUT } else { DELETE });
        self.buf.extend_from_slice(&len(key.len())?.to_be_bytes());
        self.buf.extend_from_slice(key);
        if let Some(v) = value {
            self.buf.extend_from_slice(&len(v.len())?.to_be_bytes());
            self.buf.extend_from_slice(v);
        }
        if self.buf.len() >= CHUNK {
            self.seal(false)?;
        }
        Ok(())
    }
}

/// Write a backup of `store` to `out`, sealed for `keyring`'s master key.
pub fn write(store: &Store, keyring: &Keyring, mut out: impl Write) -> DomainResult<Summary> {
    let (sealed_key, key) = keyring.new_stream_key()?;
    out.write_all(MAGIC).map_err(io("backup"))?;
    let len = u32::try_from(sealed_key.len()).map_err(|_| DomainError::Internal("key".into()))?;
    out.write_all(&len.to_be_bytes()).map_err(io("backup"))?;
    out.write_all(&sealed_key).map_err(io("backup"))?;
    let mut w = ChunkWriter {
        out,
        key,
        index: 0,
        buf: zeroize::Zeroizing::new(Vec::with_capacity(CHUNK + 128 * 1024)),
        written: (MAGIC.len() + 4 + sealed_key.len()) as u64,
    };
    let mut records = 0u64;
    let mut failed = None;
    store
        .snapshot(|(k, v)| {
            records += 1;
            w.record(k, v).map_err(|e| {
                let msg = e.to_string();
                failed = Some(e);
                std::io::Error::other(msg)
            })
        })
        .map_err(|e| failed.take().unwrap_or(e))?;
    w.seal(true)?;
    w.out.flush().map_err(io("backup"))?;
    Ok(Summary {
        records,
        bytes: w.written,
    })
}

fn read_exact_or_end(input: &mut impl Read, buf: &mut [u8]) -> DomainResult<bool> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(refused("the file is cut short")),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DomainError::internal("reading the backup", e)),
        }
    }
    Ok(true)
}

fn refused(why: &str) -> DomainError {
    DomainError::invalid("backup", format!("Not a usable KeyNest backup: {why}."))
}

/// Rebuild a store in `data_dir` (which must hold none) from a backup read from `input`.
pub fn restore(input: impl Read, keyring: &Keyring, data_dir: &Path) -> DomainResult<Summary> {
    restore_to(input, keyring, || {
        if data_dir.join("db").exists() {
            return Err(DomainError::invalid(
                "data dir",
                "The data directory already holds a store; restore into a new one.",
            ));
        }
        Store::open(data_dir)
    })
}

/// Rebuild the store `open` opens (it must be empty: an etcd prefix no installation uses yet)
/// from a backup read from `input`.
pub fn restore_to(
    mut input: impl Read,
    keyring: &Keyring,
    open: impl FnOnce() -> DomainResult<Store>,
) -> DomainResult<Summary> {
    let mut magic = vec![0u8; MAGIC.len()];
    if !read_exact_or_end(&mut input, &mut magic)? || magic != MAGIC {
        return Err(refused("it does not start as one"));
    }
    let mut len = [0u8; 4];
    if !read_exact_or_end(&mut input, &mut len)? {
        return Err(refused("the file is cut short"));
    }
    let mut sealed_key = vec![0u8; u32::from_be_bytes(len) as usize];
    if sealed_key.len() > 1024 || !read_exact_or_end(&mut input, &mut sealed_key)? {
        return Err(refused("its header is damaged"));
    }
    let key = keyring.open_stream_key(&sealed_key).map_err(|_| {
        DomainError::invalid(
            "master key",
            "This backup was made under another master key; give the key of the server it \
             came from.",
        )
    })?;
    let store = open()?;
    if store.scan_raw(b"").next().is_some() {
        return Err(DomainError::invalid(
            "store",
            "The store already holds records; restore into a new one.",
        ));
    }
    let mut summary = Summary::default();
    let mut index = 0u64;
    loop {
        let mut head = [0u8; 5];
        if !read_exact_or_end(&mut input, &mut head)? {
            return Err(refused("the file is cut short"));
        }
        let n = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let last = head[4] == 1;
        if n > 64 * CHUNK {
            return Err(refused("a chunk is damaged"));
        }
        let mut blob = vec![0u8; n];
        if !read_exact_or_end(&mut input, &mut blob)? {
            return Err(refused("the file is cut short"));
        }
        summary.bytes += 5 + n as u64;
        let plain = key
            .open_chunk(index, last, &blob)
            .map_err(|_| refused("it was changed, reordered or damaged"))?;
        summary.records += apply_records(&store, &plain)?;
        index += 1;
        // sled keeps what is applied and not yet flushed in memory: a 1M-variable restore held
        // 11 GiB without this. Every 32 chunks (~32 MiB) it goes to disk.
        if index.is_multiple_of(32) {
            store.flush_blocking()?;
        }
        if last {
            break;
        }
    }
    let mut rest = [0u8; 1];
    if read_exact_or_end(&mut input, &mut rest)? {
        return Err(refused("something follows its last chunk"));
    }
    match store.get_raw(keys::CHECK)? {
        Some(check) if keyring.verify_check_value(&check) => {}
        _ => return Err(refused("its store does not open under this master key")),
    }
    store.flush_blocking()?;
    Ok(summary)
}

fn apply_records(store: &Store, mut plain: &[u8]) -> DomainResult<u64> {
    let take = |n: usize, plain: &mut &[u8]| -> DomainResult<Vec<u8>> {
        if plain.len() < n {
            return Err(refused("a record is damaged"));
        }
        let (a, b) = plain.split_at(n);
        *plain = b;
        Ok(a.to_vec())
    };
    let mut changes = Changes::new();
    let mut n: u64 = 0;
    while !plain.is_empty() {
        let tag = take(1, &mut plain)?[0];
        let klen = u32::from_be_bytes(take(4, &mut plain)?.try_into().unwrap_or_default());
        let key = take(klen as usize, &mut plain)?;
        match tag {
            PUT => {
                let vlen = u32::from_be_bytes(take(4, &mut plain)?.try_into().unwrap_or_default());
                changes.put_raw(key, take(vlen as usize, &mut plain)?);
            }
            DELETE => changes.del(key),
            _ => return Err(refused("a record is damaged")),
        }
        n += 1;
        // Small batches: sled holds a large one whole in memory while applying it.
        if n.is_multiple_of(256) {
            store.apply(std::mem::take(&mut changes))?;
        }
    }
    store.apply(changes)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    fn filled() -> (tempfile::TempDir, Store, Keyring) {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let keyring = Keyring::new(&MasterKey::generate().expect("key"));
        let mut c = Changes::new();
        c.put_raw(keys::CHECK.to_vec(), keyring.check_value().expect("check"));
        for i in 0..3_000u32 {
            c.put_raw(format!("k{i:05}").into_bytes(), vec![b'v'; 700]);
        }
        store.apply(c).expect("apply");
        (dir, store, keyring)
    }

    fn all(store: &Store) -> Vec<(Vec<u8>, Vec<u8>)> {
        store
            .scan_raw(b"")
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .collect::<DomainResult<_>>()
            .expect("scan")
    }

    #[test]
    fn a_backup_restores_to_the_same_store_and_nothing_in_it_is_plaintext() {
        let (_dir, store, keyring) = filled();
        let mut file = Vec::new();
        let made = write(&store, &keyring, &mut file).expect("backup");
        assert_eq!(made.bytes, file.len() as u64);
        assert!(made.bytes > 2 * CHUNK as u64, "several chunks");
        assert!(
            !file.windows(6).any(|w| w == b"k00042"),
            "keys are not in plaintext"
        );
        let target = tempfile::tempdir().expect("tmp");
        let restored = restore(file.as_slice(), &keyring, target.path()).expect("restore");
        assert_eq!(restored.records, made.records);
        // The restore's store closes as its flush thread ends, just after `restore` returns.
        let mut again = Store::open(target.path());
        for _ in 0..100 {
            if again.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            again = Store::open(target.path());
        }
        assert_eq!(all(&again.expect("reopen")), all(&store));
    }

    #[test]
    fn a_changed_cut_or_foreign_backup_is_refused() {
        let (_dir, store, keyring) = filled();
        let mut file = Vec::new();
        write(&store, &keyring, &mut file).expect("backup");
        let attempt = |bytes: &[u8], ring: &Keyring| {
            let target = tempfile::tempdir().expect("tmp");
            restore(bytes, ring, target.path())
        };
        let mut flipped = file.clone();
        let at = file.len() / 2;
        flipped[at] ^= 1;
        assert!(attempt(&flipped, &keyring).is_err(), "a changed byte");
        assert!(
            attempt(&file[..file.len() - 10], &keyring).is_err(),
            "cut short"
        );
        let chunk_end = file.len() - 1;
        assert!(
            attempt(&file[..chunk_end], &keyring).is_err(),
            "last byte missing"
        );
        let mut longer = file.clone();
        longer.push(0);
        assert!(
            attempt(&longer, &keyring).is_err(),
            "something after the end"
        );
        let other = Keyring::new(&MasterKey::generate().expect("key"));
        let e = attempt(&file, &other).expect_err("another master key");
        assert!(format!("{e:?}").contains("another master key"), "{e:?}");
        // Positive control: the untouched file restores.
        assert!(attempt(&file, &keyring).is_ok());
    }
}

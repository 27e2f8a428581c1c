//! The key hierarchy (DESIGN.md, "Keys and encryption"): a master key (KEK) seals one random
//! data key (DEK) per organization and version; a DEK seals variable values. Everything sealed
//! here is XChaCha20-Poly1305 with a fresh random 24-byte nonce and associated data naming where
//! the blob lives, so a blob copied onto another record, organization or version fails to open.
//!
//! Blob layout: `[FORMAT][key version: u32 BE][nonce: 24][ciphertext + tag: 16]`.
//! Key material zeroizes on drop and never prints: `Debug` is redacted on every type here.
//! `write_private` is here too: the one way a secret reaches a file (the master key file, and the
//! client's token and exports), created owner-only from the first byte.

use crate::error::{DomainError, DomainResult};
use crate::model::SecretValue;
use crate::model::{EnvId, OrgId, VarId};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use std::fmt;
use std::path::Path;
use zeroize::Zeroizing;

const FORMAT: u8 = 1;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
pub const TAG_LEN: usize = 16;

/// Fill `buf` from the operating system's random source.
pub fn random_bytes(buf: &mut [u8]) -> DomainResult<()> {
    getrandom::fill(buf).map_err(|e| DomainError::internal("os random source", e))
}

/// SHA-256 of a bearer token: what the store keeps instead of the token.
pub type TokenHash = [u8; 32];

pub fn hash_token(token: &str) -> TokenHash {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// SHA-256 of the concatenation of `parts`.
pub fn digest(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A stored token hash read back from an index value.
pub fn token_hash_from(bytes: &[u8]) -> DomainResult<TokenHash> {
    bytes
        .try_into()
        .map_err(|_| DomainError::Internal("a token index holds no token hash".into()))
}

/// A new bearer token's secret part: 160 random bits as 40 lowercase hex characters.
pub fn new_token_hex() -> DomainResult<zeroize::Zeroizing<String>> {
    let mut raw = zeroize::Zeroizing::new([0u8; 20]);
    random_bytes(raw.as_mut())?;
    Ok(zeroize::Zeroizing::new(hex::encode(raw.as_ref())))
}

/// Does `s` have the shape `new_token_hex` gives (40 lowercase hex characters)?
pub fn is_token_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A 256-bit key and its cipher; the cipher zeroizes its copy of the key on drop.
struct SealingKey {
    version: u32,
    cipher: XChaCha20Poly1305,
}

impl SealingKey {
    fn new(version: u32, bytes: &[u8; 32]) -> Self {
        SealingKey {
            version,
            cipher: XChaCha20Poly1305::new(Key::from_slice(bytes)),
        }
    }

    /// The blob is built in one buffer: header, then the plaintext encrypted in place, then the
    /// tag (one copy of the plaintext, no intermediate ciphertext vector).
    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> DomainResult<Vec<u8>> {
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        out.push(FORMAT);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.resize(HEADER_LEN, 0);
        random_bytes(&mut out[5..HEADER_LEN])?;
        out.extend_from_slice(plaintext);
        let (head, body) = out.split_at_mut(HEADER_LEN);
        let tag = self
            .cipher
            .encrypt_in_place_detached(XNonce::from_slice(&head[5..]), aad, body)
            .map_err(|_| DomainError::Internal("seal failed".into()))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn open(&self, blob: &[u8], aad: &[u8]) -> DomainResult<Zeroizing<Vec<u8>>> {
        let (version, nonce, ct) = split(blob)?;
        if version != self.version {
            return Err(DomainError::Internal(
                "a sealed value names another key version".into(),
            ));
        }
        let (ct, tag) = ct.split_at(ct.len() - TAG_LEN);
        let mut plain = Zeroizing::new(ct.to_vec());
        self.cipher
            .decrypt_in_place_detached(
                XNonce::from_slice(nonce),
                aad,
                &mut plain,
                Tag::from_slice(tag),
            )
            .map_err(|_| DomainError::Internal("a sealed value failed to open".into()))?;
        Ok(plain)
    }
}

/// The blob's key version, nonce and ciphertext, after checking its format byte and length.
fn split(blob: &[u8]) -> DomainResult<(u32, &[u8], &[u8])> {
    if blob.len() < HEADER_LEN + TAG_LEN || blob[0] != FORMAT {
        return Err(DomainError::Internal(
            "sealed blob has an unknown format".into(),
        ));
    }
    let version = u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]]);
    Ok((version, &blob[5..HEADER_LEN], &blob[HEADER_LEN..]))
}

/// The version of the key that sealed `blob`.
pub fn key_version(blob: &[u8]) -> DomainResult<u32> {
    split(blob).map(|(v, _, _)| v)
}

/// The master key: 32 bytes, from `KEYNEST_MASTER_KEY` (64 hex chars) or a key file.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn from_hex(s: &str) -> Result<MasterKey, String> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(format!(
                "the master key must be 64 hex characters, got {}",
                s.len()
            ));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(s, &mut key[..])
            .map_err(|_| "the master key must be 64 hex characters".to_string())?;
        Ok(MasterKey(key))
    }

    pub fn generate() -> DomainResult<MasterKey> {
        let mut key = Zeroizing::new([0u8; 32]);
        random_bytes(&mut key[..])?;
        Ok(MasterKey(key))
    }

    /// Read the key file at `path`, or create it (mode 0600) with a new random key when it does
    /// not exist. Returns the key and whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(MasterKey, bool), String> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                MasterKey::from_hex(&text)
                    .map(|k| (k, false))
                    .map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate().map_err(|e| e.to_string())?;
                let hex = Zeroizing::new(hex::encode(&key.0[..]));
                write_private(path, hex.as_bytes(), IfExists::Fail)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                Ok((key, true))
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }
}

/// What `write_private` does when the file is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Fail with `AlreadyExists`: a master key file is never overwritten, not even by a second
    /// server racing this one to create it.
    Fail,
    /// Truncate and rewrite it (the client's config file, an export), narrowing its mode first.
    Replace,
}

/// Write `bytes` to `path` readable by its owner only (0600 on Unix), and sync it. A new file is
/// created with that mode, so it is never readable by others, not even for a moment. Lives here,
/// public, because the server's key file and the client's token and export files need the same
/// care and should get it from one place.
pub fn write_private(path: &Path, bytes: &[u8], if_exists: IfExists) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    match if_exists {
        IfExists::Fail => opts.create_new(true),
        IfExists::Replace => opts.create(true).truncate(true),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    if if_exists == IfExists::Replace {
        use std::os::unix::fs::PermissionsExt;
        // An existing file keeps its mode on open: narrow it before writing.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.sync_all()
}

/// The KEK: seals data keys and the check value; never touches a variable's value.
pub struct Keyring {
    kek: SealingKey,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

const CHECK_AAD: &[u8] = b"keynest/check/v1";
const CHECK_PLAINTEXT: &[u8] = b"keynest master key check";
const RECORDS_KEY_AAD: &[u8] = b"keynest/records-key/v1";
const STREAM_KEY_AAD: &[u8] = b"keynest/backup-key/v1";

/// The key of one backup file, itself sealed by the master key in the file's header. Each chunk
/// is sealed with its index and whether it is the last in the associated data, so chunks cannot
/// be reordered, dropped or the file cut short without the restore noticing.
pub struct StreamKey(SealingKey);

impl fmt::Debug for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamKey(<redacted>)")
    }
}

impl StreamKey {
    fn aad(index: u64, last: bool) -> [u8; 17] {
        let mut aad = [0u8; 17];
        aad[..8].copy_from_slice(b"kn/bak/1");
        aad[8..16].copy_from_slice(&index.to_be_bytes());
        aad[16] = u8::from(last);
        aad
    }

    pub fn seal_chunk(&self, index: u64, last: bool, plain: &[u8]) -> DomainResult<Vec<u8>> {
        self.0.seal(plain, &Self::aad(index, last))
    }

    pub fn open_chunk(
        &self,
        index: u64,
        last: bool,
        blob: &[u8],
    ) -> DomainResult<Zeroizing<Vec<u8>>> {
        self.0.open(blob, &Self::aad(index, last))
    }
}

impl Keyring {
    pub fn new(master: &MasterKey) -> Keyring {
        Keyring {
            kek: SealingKey::new(0, &master.0),
        }
    }

    /// A sealed known value, stored once, so that a wrong master key is caught at start.
    pub fn check_value(&self) -> DomainResult<Vec<u8>> {
        self.kek.seal(CHECK_PLAINTEXT, CHECK_AAD)
    }

    pub fn verify_check_value(&self, blob: &[u8]) -> bool {
        matches!(self.kek.open(blob, CHECK_AAD), Ok(p) if p.as_slice() == CHECK_PLAINTEXT)
    }

    fn dek_aad(org: OrgId, version: u32) -> Vec<u8> {
        let mut aad = b"keynest/dek/v1".to_vec();
        aad.extend_from_slice(&org.be());
        aad.extend_from_slice(&version.to_be_bytes());
        aad
    }

    /// A new random data key for `org`, returned sealed (to store) and open (to use).
    pub fn new_data_key(&self, org: OrgId, version: u32) -> DomainResult<(Vec<u8>, DataKey)> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random_bytes(&mut bytes[..])?;
        let sealed = self.kek.seal(&bytes[..], &Self::dek_aad(org, version))?;
        Ok((sealed, DataKey::from_bytes(org, version, &bytes)))
    }

    /// The key that seals kept answers (`idempotency`), new: sealed (to store) and open.
    pub fn new_records_key(&self) -> DomainResult<(Vec<u8>, DataKey)> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random_bytes(&mut bytes[..])?;
        let sealed = self.kek.seal(&bytes[..], RECORDS_KEY_AAD)?;
        Ok((sealed, DataKey::from_bytes(OrgId(0), 0, &bytes)))
    }

    pub fn open_records_key(&self, sealed: &[u8]) -> DomainResult<DataKey> {
        let bytes = self.kek.open(sealed, RECORDS_KEY_AAD)?;
        let arr: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| DomainError::Internal("the records key has the wrong length".into()))?;
        Ok(DataKey::from_bytes(OrgId(0), 0, arr))
    }

    /// A new key for one backup file: sealed (for the file's header) and open.
    pub fn new_stream_key(&self) -> DomainResult<(Vec<u8>, StreamKey)> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random_bytes(&mut bytes[..])?;
        let sealed = self.kek.seal(&bytes[..], STREAM_KEY_AAD)?;
        Ok((sealed, StreamKey(SealingKey::new(0, &bytes))))
    }

    /// A backup file's key; an error when this master key did not seal it.
    pub fn open_stream_key(&self, sealed: &[u8]) -> DomainResult<StreamKey> {
        let bytes = self.kek.open(sealed, STREAM_KEY_AAD)?;
        let arr: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| DomainError::Internal("a backup key has the wrong length".into()))?;
        Ok(StreamKey(SealingKey::new(0, arr)))
    }

    pub fn open_data_key(&self, org: OrgId, version: u32, sealed: &[u8]) -> DomainResult<DataKey> {
        let bytes = self.kek.open(sealed, &Self::dek_aad(org, version))?;
        let arr: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| DomainError::Internal("a data key has the wrong length".into()))?;
        Ok(DataKey::from_bytes(org, version, arr))
    }
}

/// What the master key seals in the store (the backup files' keys live in the files instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KekSealed {
    Check,
    RecordsKey,
    DataKey(OrgId, u32),
}

impl KekSealed {
    fn aad(self) -> Vec<u8> {
        match self {
            KekSealed::Check => CHECK_AAD.to_vec(),
            KekSealed::RecordsKey => RECORDS_KEY_AAD.to_vec(),
            KekSealed::DataKey(org, version) => Keyring::dek_aad(org, version),
        }
    }
}

impl Keyring {
    /// `blob` (sealed by this master key as `what`) sealed again by `to`, for a master-key
    /// rotation: the plaintext never leaves this function, and an item this key did not seal is
    /// an error rather than something carried over unopened.
    pub fn reseal(&self, to: &Keyring, what: KekSealed, blob: &[u8]) -> DomainResult<Vec<u8>> {
        let aad = what.aad();
        let plain = self.kek.open(blob, &aad)?;
        to.kek.seal(&plain, &aad)
    }
}

/// The master key in use, replaceable while the server runs (master-key rotation). Whoever seals
/// something with it that goes into the store holds it (`hold`) until that batch is applied; the
/// rotation takes it exclusively (`replace`), so it re-seals everything applied before it and
/// nothing sealed by the old key is applied after it.
pub struct KeyringCell(std::sync::RwLock<std::sync::Arc<Keyring>>);

impl fmt::Debug for KeyringCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyringCell(<redacted>)")
    }
}

impl KeyringCell {
    pub fn new(keyring: Keyring) -> KeyringCell {
        KeyringCell(std::sync::RwLock::new(std::sync::Arc::new(keyring)))
    }

    /// The keyring now, for opening what the store holds (hold it instead when sealing).
    pub fn current(&self) -> std::sync::Arc<Keyring> {
        self.hold().clone()
    }

    /// The keyring, held: a master-key rotation waits until the guard is dropped. Hold it from
    /// sealing until the batch is applied, and for reads that must see the store and the key
    /// agree (opening the data keys). No `await` while holding it.
    pub fn hold(&self) -> std::sync::RwLockReadGuard<'_, std::sync::Arc<Keyring>> {
        // A panic elsewhere cannot leave the keyring half-written: it is one pointer.
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Exclusive: for the master-key rotation only.
    pub fn replace(&self) -> std::sync::RwLockWriteGuard<'_, std::sync::Arc<Keyring>> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The master key files of a data directory: `master.key`, and `master.key.new` while a
/// master-key rotation is between writing the new key and putting it in place. The new key is
/// written (and synced) before the store is re-sealed, and renamed over the old one only once the
/// re-sealed store is durable; so after a crash at any point, one of the two opens the store and
/// `settle` puts the files right.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    pub current: std::path::PathBuf,
    pub pending: std::path::PathBuf,
}

impl KeyFiles {
    pub fn in_dir(data_dir: &Path) -> KeyFiles {
        KeyFiles {
            current: data_dir.join("master.key"),
            pending: data_dir.join("master.key.new"),
        }
    }

    /// Write `key` as the pending key (0600, synced, its directory synced).
    pub fn write_pending(&self, key: &MasterKey) -> std::io::Result<()> {
        let hex = Zeroizing::new(hex::encode(&key.0[..]));
        write_private(&self.pending, hex.as_bytes(), IfExists::Replace)?;
        sync_dir(&self.pending)
    }

    /// Put the pending key in place of the current one (atomic rename, directory synced).
    pub fn promote(&self) -> std::io::Result<()> {
        std::fs::rename(&self.pending, &self.current)?;
        sync_dir(&self.current)
    }

    /// After a start found that `given` opens the store (`Ok(None)`: a pending key from a
    /// rotation that never committed is deleted) or not: the pending key, if there is one and
    /// `opens` it, put in place and returned.
    pub fn settle(
        &self,
        given_opens: bool,
        opens: impl Fn(&MasterKey) -> bool,
    ) -> Result<Option<MasterKey>, String> {
        let pending = match std::fs::read_to_string(&self.pending) {
            Ok(text) => Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", self.pending.display())),
        };
        let show = |e: std::io::Error| format!("{}: {e}", self.pending.display());
        if given_opens {
            // The store is still sealed by the key given: the rotation never committed, and the
            // pending key opens nothing.
            std::fs::remove_file(&self.pending).map_err(show)?;
            sync_dir(&self.pending).map_err(show)?;
            return Ok(None);
        }
        match MasterKey::from_hex(&pending) {
            Ok(key) if opens(&key) => {
                self.promote().map_err(show)?;
                Ok(Some(key))
            }
            _ => Ok(None),
        }
    }
}

/// Sync the directory holding `path`, so that a file created or renamed in it stays.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// Where a value lives; the associated data every seal and open of a value is bound to. The
/// binding is only as good as where the slot comes from: the organization's reader builds it from
/// a record it has checked to be stored under the key of that same environment, variable and
/// version (`OrgReader::placed`), never from a record's word alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueSlot {
    pub org: OrgId,
    pub env: EnvId,
    pub var: VarId,
    pub version: u32,
}

impl ValueSlot {
    fn aad(&self) -> [u8; 40] {
        let mut aad = [0u8; 40];
        aad[..8].copy_from_slice(b"kn/val/1");
        aad[8..16].copy_from_slice(&self.org.be());
        aad[16..24].copy_from_slice(&self.env.be());
        aad[24..32].copy_from_slice(&self.var.be());
        aad[32..36].copy_from_slice(&self.version.to_be_bytes());
        aad
    }
}

/// One organization's data key at one version.
pub struct DataKey {
    org: OrgId,
    key: SealingKey,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DataKey(org {}, v{}, <redacted>)",
            self.org, self.key.version
        )
    }
}

impl DataKey {
    fn from_bytes(org: OrgId, version: u32, bytes: &[u8; 32]) -> DataKey {
        DataKey {
            org,
            key: SealingKey::new(version, bytes),
        }
    }

    pub fn version(&self) -> u32 {
        self.key.version
    }

    /// Seal a record that is not a variable's value (a kept answer), bound to `aad`. Callers
    /// give an `aad` that starts with its own `kn/<kind>/` label, so it can never be taken for
    /// a value's (`kn/val/1`).
    pub fn seal_bytes(&self, aad: &[u8], plaintext: &[u8]) -> DomainResult<Vec<u8>> {
        debug_assert!(!aad.starts_with(b"kn/val/"));
        self.key.seal(plaintext, aad)
    }

    pub fn open_bytes(&self, aad: &[u8], blob: &[u8]) -> DomainResult<Zeroizing<Vec<u8>>> {
        self.key.open(blob, aad)
    }

    pub fn seal(&self, slot: ValueSlot, plaintext: &str) -> DomainResult<Vec<u8>> {
        debug_assert_eq!(slot.org, self.org);
        self.key.seal(plaintext.as_bytes(), &slot.aad())
    }

    pub fn open(&self, slot: ValueSlot, blob: &[u8]) -> DomainResult<SecretValue> {
        let mut bytes = self.key.open(blob, &slot.aad())?;
        // Moved, not copied, into the string; on failure the bytes are zeroized on drop.
        String::from_utf8(std::mem::take(&mut *bytes))
            .map(SecretValue::new)
            .map_err(|e| {
                drop(Zeroizing::new(e.into_bytes()));
                DomainError::Internal("a sealed value is not UTF-8".into())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::new(&MasterKey::generate().expect("random"))
    }

    fn slot(var: u64, version: u32) -> ValueSlot {
        ValueSlot {
            org: OrgId(1),
            env: EnvId(2),
            var: VarId(var),
            version,
        }
    }

    #[test]
    fn seal_open_round_trip_keeps_bytes_exact() {
        let (_, dek) = keyring().new_data_key(OrgId(1), 1).expect("dek");
        for value in [
            "",
            " padded ",
            "multi\nline\r\n",
            "ünïcødé ✓",
            &"x".repeat(65536),
        ] {
            let blob = dek.seal(slot(3, 1), value).expect("seal");
            assert_eq!(dek.open(slot(3, 1), &blob).expect("open").expose(), value);
            if value.len() >= 8 {
                assert!(!blob.windows(value.len()).any(|w| w == value.as_bytes()));
            }
        }
    }

    #[test]
    fn ciphertext_moved_to_another_record_fails_to_open() {
        let (_, dek) = keyring().new_data_key(OrgId(1), 1).expect("dek");
        let blob = dek.seal(slot(3, 1), "s3cret").expect("seal");
        assert!(dek.open(slot(4, 1), &blob).is_err(), "other variable");
        assert!(dek.open(slot(3, 2), &blob).is_err(), "other version");
        let other_env = ValueSlot {
            env: EnvId(9),
            ..slot(3, 1)
        };
        assert!(dek.open(other_env, &blob).is_err(), "other environment");
    }

    #[test]
    fn a_data_key_opens_only_under_its_org_version_and_master_key() {
        let ring = keyring();
        let (sealed, _) = ring.new_data_key(OrgId(1), 1).expect("dek");
        assert!(ring.open_data_key(OrgId(1), 1, &sealed).is_ok());
        assert!(ring.open_data_key(OrgId(2), 1, &sealed).is_err());
        assert!(ring.open_data_key(OrgId(1), 2, &sealed).is_err());
        assert!(keyring().open_data_key(OrgId(1), 1, &sealed).is_err());
    }

    #[test]
    fn check_value_detects_a_wrong_master_key() {
        let ring = keyring();
        let check = ring.check_value().expect("check");
        assert!(ring.verify_check_value(&check));
        assert!(!keyring().verify_check_value(&check));
    }

    #[test]
    fn tampered_or_truncated_blobs_fail_cleanly() {
        let (_, dek) = keyring().new_data_key(OrgId(1), 1).expect("dek");
        let blob = dek.seal(slot(3, 1), "value").expect("seal");
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 1;
            assert!(dek.open(slot(3, 1), &bad).is_err(), "flipped byte {i}");
        }
        for n in 0..blob.len() {
            assert!(
                dek.open(slot(3, 1), &blob[..n]).is_err(),
                "truncated to {n}"
            );
        }
    }

    #[test]
    fn reseal_moves_each_item_to_the_new_key_only() {
        let (old, new) = (keyring(), keyring());
        let (sealed, dek) = old.new_data_key(OrgId(1), 2).expect("dek");
        let what = KekSealed::DataKey(OrgId(1), 2);
        let moved = old.reseal(&new, what, &sealed).expect("reseal");
        assert!(old.open_data_key(OrgId(1), 2, &moved).is_err());
        let opened = new.open_data_key(OrgId(1), 2, &moved).expect("open");
        let blob = dek.seal(slot(3, 1), "v").expect("seal");
        assert_eq!(opened.open(slot(3, 1), &blob).expect("open").expose(), "v");
        // Re-sealed under another item's label, or by a key that did not seal it: refused.
        assert!(old
            .reseal(&new, KekSealed::DataKey(OrgId(1), 3), &sealed)
            .is_err());
        assert!(new.reseal(&old, what, &sealed).is_err());
        let check = old.check_value().expect("check");
        let check = old.reseal(&new, KekSealed::Check, &check).expect("check");
        assert!(new.verify_check_value(&check) && !old.verify_check_value(&check));
    }

    #[test]
    fn key_files_settle_to_whichever_key_opens() {
        let dir = tempfile::tempdir().expect("dir");
        let files = KeyFiles::in_dir(dir.path());
        let (old, new) = (
            MasterKey::generate().expect("k"),
            MasterKey::generate().expect("k"),
        );
        write_private(
            &files.current,
            hex::encode(&old.0[..]).as_bytes(),
            IfExists::Fail,
        )
        .expect("write");
        // No pending key: nothing to do.
        assert!(files.settle(true, |_| false).expect("settle").is_none());
        // Never committed: the old key opens, the pending one is deleted.
        files.write_pending(&new).expect("pending");
        assert!(files.settle(true, |_| true).expect("settle").is_none());
        assert!(!files.pending.exists());
        // Committed, not yet renamed: the pending key is put in place.
        files.write_pending(&new).expect("pending");
        let is_new = |k: &MasterKey| k.0[..] == new.0[..];
        let got = files
            .settle(false, is_new)
            .expect("settle")
            .expect("new key");
        assert!(is_new(&got) && !files.pending.exists());
        let text = std::fs::read_to_string(&files.current).expect("read");
        assert!(is_new(&MasterKey::from_hex(&text).expect("hex")));
    }

    #[test]
    fn master_key_hex_parsing() {
        assert!(MasterKey::from_hex(&"ab".repeat(32)).is_ok());
        assert!(MasterKey::from_hex("abc").is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(!format!("{:?}", MasterKey::from_hex(&"ab".repeat(32)).expect("k")).contains("ab"));
    }
}

//! `keynest run --fallback FILE`: an encrypted copy of the last variables fetched, used when the
//! server cannot be reached so that a deploy or a laptop on a plane still starts. Only an
//! unreachable or failing server falls back: a refusal (a revoked token, a role that lost access,
//! a deleted environment) is an answer, and the copy must not outlive it.
//!
//! The file is `MAGIC | salt (16) | nonce (24) | XChaCha20-Poly1305 ciphertext`, the magic and
//! salt as associated data. The key is Argon2id (19 MiB, 2 passes, 1 lane: OWASP's minimum) of
//! the token and the file's random salt, so the copy opens only with the token that saved it and
//! a file taken off a disk is as hard to open as the token is to guess. The plaintext is JSON:
//! the server URL, the environment as asked for (`Wanted`) and its id, when it was saved, and the
//! variables; opening checks that it is the copy of the environment being asked for.

use crate::cli::commands::Wanted;
use crate::cli::CliError;
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use keynest_actors::crypto::{write_private, IfExists};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use zeroize::Zeroizing;

const MAGIC: &[u8; 8] = b"KNFALLB1";
const SALT: usize = 16;
const NONCE: usize = 24;

#[derive(Serialize, Deserialize)]
pub struct Copy {
    pub url: String,
    pub wanted: Wanted,
    pub environment: u64,
    /// Seconds since the Unix epoch.
    pub saved_at: u64,
    pub variables: BTreeMap<String, String>,
}

impl Drop for Copy {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for v in self.variables.values_mut() {
            v.zeroize();
        }
    }
}

fn key(token: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, CliError> {
    let params = Params::new(19 * 1024, 2, 1, Some(32))
        .map_err(|e| CliError::usage(format!("fallback key parameters: {e}")))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(token.as_bytes(), salt, out.as_mut())
        .map_err(|e| CliError::usage(format!("deriving the fallback key failed: {e}")))?;
    Ok(out)
}

fn cipher(key: &[u8; 32]) -> Result<XChaCha20Poly1305, CliError> {
    XChaCha20Poly1305::new_from_slice(key)
        .map_err(|e| CliError::usage(format!("fallback key: {e}")))
}

/// Seal `copy` under `token` and replace `path` with it (written 0600 beside it, then renamed, so
/// a crash leaves the old copy or the new one, never half of one).
pub fn save(path: &Path, token: &str, copy: &Copy) -> Result<(), CliError> {
    let mut header = [0u8; MAGIC.len() + SALT];
    header[..MAGIC.len()].copy_from_slice(MAGIC);
    let mut nonce = [0u8; NONCE];
    getrandom::fill(&mut header[MAGIC.len()..])
        .and_then(|()| getrandom::fill(&mut nonce))
        .map_err(|e| CliError::usage(format!("no random numbers: {e}")))?;
    let plain = Zeroizing::new(
        serde_json::to_vec(copy).map_err(|e| CliError::usage(format!("fallback copy: {e}")))?,
    );
    let k = key(token, &header[MAGIC.len()..])?;
    let sealed = cipher(&k)?
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &header,
            },
        )
        .map_err(|_| CliError::usage("sealing the fallback copy failed"))?;
    let mut bytes = Vec::with_capacity(header.len() + NONCE + sealed.len());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&sealed);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    write_private(&tmp, &bytes, IfExists::Replace)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))
}

/// The copy in `path`, if `token` is the one that saved it.
pub fn open(path: &Path, token: &str) -> Result<Copy, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    let head = MAGIC.len() + SALT;
    if bytes.len() < head + NONCE || &bytes[..MAGIC.len()] != MAGIC {
        return Err(CliError::usage(format!(
            "{} is not a keynest fallback copy",
            path.display()
        )));
    }
    let (header, rest) = bytes.split_at(head);
    let (nonce, sealed) = rest.split_at(NONCE);
    let k = key(token, &header[MAGIC.len()..])?;
    let plain = Zeroizing::new(
        cipher(&k)?
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: header,
                },
            )
            .map_err(|_| {
                CliError::auth(format!(
                    "cannot open {}: it was saved with another token, or it has been changed",
                    path.display()
                ))
            })?,
    );
    serde_json::from_slice(&plain)
        .map_err(|e| CliError::usage(format!("{} is damaged: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::{open, save, Copy};
    use crate::cli::commands::Wanted;

    #[test]
    fn a_copy_opens_with_its_token_and_not_with_another_or_after_a_change() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("fallback");
        let copy = Copy {
            url: "http://x".into(),
            wanted: Wanted {
                org: None,
                project: Some("web".into()),
                env: "production".into(),
            },
            environment: 3,
            saved_at: 1,
            variables: [("API_KEY".to_string(), "sk_live".to_string())].into(),
        };
        save(&path, "token-a", &copy).expect("save");
        let back = open(&path, "token-a").expect("the right token opens it");
        assert_eq!(
            back.variables.get("API_KEY").map(String::as_str),
            Some("sk_live")
        );
        let wrong = open(&path, "token-b")
            .err()
            .expect("another token does not");
        assert_eq!(wrong.code, crate::cli::Exit::Auth);
        let mut bytes = std::fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        assert!(open(&path, "token-a").is_err(), "a changed byte is caught");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("sk_live") && !text.contains("API_KEY"),
            "nothing in clear"
        );
    }
}

//! `Idempotency-Key`: the first outcome of a keyed write is kept with the change it guards (in
//! the same atomic batch), and a retry with the same key from the same caller within 24 hours is
//! answered with it instead of being applied again. So a client that timed out, or was told
//! 503 "may or may not have been applied", can simply retry.
//!
//! A kept answer may hold values (a created variable is answered with its value), so it is
//! sealed, under a key of its own that the master key seals, with its scope and key hash as the
//! associated data. Only successful outcomes are kept: a refused write changed nothing, and its
//! retry is simply judged again. Expired answers are deleted a few at a time by later keyed
//! writes, so their number follows the keyed write rate of the last day.

use crate::crypto::DataKey;
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::store::{keys, Changes, Store};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How long an answer is kept.
pub const KEEP_MICROS: i64 = 24 * 3600 * 1_000_000;
/// Expired answers deleted by one keyed write at most.
const SWEEP: usize = 8;

#[derive(Serialize, Deserialize)]
struct IdemRecord {
    created_at: Ts,
    fingerprint: [u8; 32],
    /// The answer as JSON, sealed.
    sealed: Vec<u8>,
}

/// Whose key it is: a user, or a service token (each has its own keys).
fn scope(caller: &Caller) -> [u8; 9] {
    let (kind, id) = match &caller.service {
        Some(g) => (b's', g.token.0),
        None => (b'u', caller.user.0),
    };
    let mut s = [0u8; 9];
    s[0] = kind;
    s[1..].copy_from_slice(&id.to_be_bytes());
    s
}

fn aad(scope: &[u8; 9], key: &[u8; 32]) -> Vec<u8> {
    [b"kn/idem/1".as_slice(), scope, key].concat()
}

/// The kept answer to `caller`'s key, if there is one: `Ok(Some)` to answer again,
/// `Ok(None)` to go ahead, an error when the key came with another request.
pub fn replay<T: DeserializeOwned>(
    store: &Store,
    records: &DataKey,
    caller: &Caller,
) -> DomainResult<Option<T>> {
    let Some(idem) = &caller.idempotency else {
        return Ok(None);
    };
    let scope = scope(caller);
    let Some(rec) = store.get::<IdemRecord>(&keys::idem(&scope, &idem.key))? else {
        return Ok(None);
    };
    if Ts::now().0 - rec.created_at.0 > KEEP_MICROS {
        return Ok(None);
    }
    if rec.fingerprint != idem.fingerprint {
        return Err(DomainError::invalid(
            "Idempotency-Key",
            "This key was already used with another request; use a new key for a new request.",
        ));
    }
    let json = records.open_bytes(&aad(&scope, &idem.key), &rec.sealed)?;
    serde_json::from_slice(&json)
        .map(Some)
        .map_err(|e| DomainError::internal("a kept answer does not read back", e))
}

/// Keep `out` as the answer to `caller`'s key, in `changes` (the batch of the change itself),
/// and delete a few expired answers.
pub fn remember<T: Serialize>(
    store: &Store,
    records: &DataKey,
    changes: &mut Changes,
    caller: &Caller,
    out: &T,
) -> DomainResult<()> {
    let Some(idem) = &caller.idempotency else {
        return Ok(());
    };
    let scope = scope(caller);
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(out).map_err(|e| DomainError::internal("keeping an answer", e))?,
    );
    let now = Ts::now();
    let rec = IdemRecord {
        created_at: now,
        fingerprint: idem.fingerprint,
        sealed: records.seal_bytes(&aad(&scope, &idem.key), &json)?,
    };
    changes.put(keys::idem(&scope, &idem.key), &rec)?;
    changes.put_raw(keys::idem_by_age(now.0, &scope, &idem.key), Vec::new());
    sweep(store, changes, now)
}

/// Delete up to `SWEEP` answers older than a day (oldest first).
fn sweep(store: &Store, changes: &mut Changes, now: Ts) -> DomainResult<()> {
    for entry in store.scan_keys(&keys::idem_ages()).take(SWEEP) {
        let rest = entry?;
        let (created, tail) = rest.split_at(8.min(rest.len()));
        let created = i64::from_be_bytes(created.try_into().unwrap_or([0xff; 8]));
        if now.0 - created <= KEEP_MICROS {
            break;
        }
        changes.del([keys::idem_ages().as_slice(), &rest].concat());
        changes.del(keys::idem_from_tail(tail));
    }
    Ok(())
}

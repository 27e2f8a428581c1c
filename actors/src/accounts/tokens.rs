//! The token cache: which session a login token is, answered from a DashMap of token hashes in
//! front of the store, so that the check every request makes is one SHA-256, one map look-up and
//! a comparison of times. It judges a session's lifetimes on each use, from the times it holds,
//! and sends a use to be recorded (`RecordUse`) at most every `SessionPolicy::record_every`.
//! Ending sessions is `sessions`'s, through the accounts actor.

use crate::crypto::{hash_token, is_token_hex, TokenHash};
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::store::{keys, Store};
use actix::prelude::*;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::OnceLock;

/// What the cache holds of a session: enough to judge it on every use without the store.
struct Live {
    user: UserId,
    created_at: Ts,
    /// The latest use this process has seen (microseconds; kept only under an idle timeout).
    used: AtomicI64,
    /// The latest use sent to the store to be recorded.
    recorded: AtomicI64,
}

impl From<&SessionRecord> for Live {
    fn from(s: &SessionRecord) -> Self {
        Live {
            user: s.user,
            created_at: s.created_at,
            used: AtomicI64::new(s.last_used_at.0),
            recorded: AtomicI64::new(s.last_used_at.0),
        }
    }
}

/// Token -> session, answered from memory after the first use of a token.
pub struct Tokens {
    cache: DashMap<TokenHash, Live>,
    store: Store,
    policy: SessionPolicy,
    /// Where uses go to be recorded: the accounts actor, once started.
    recorder: OnceLock<Recipient<RecordUse>>,
}

impl Tokens {
    pub fn new(store: Store, policy: SessionPolicy) -> Self {
        Tokens {
            cache: DashMap::new(),
            store,
            policy,
            recorder: OnceLock::new(),
        }
    }

    /// Send uses to `recorder` from now on (the accounts actor, which is started after this).
    pub fn record_uses_with(&self, recorder: Recipient<RecordUse>) {
        let _ = self.recorder.set(recorder);
    }

    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// The user a token belongs to, or `None` for a token that is malformed, unknown or ended;
    /// refused (`Unauthorized`, "session expired") once its session has outlived a lifetime.
    /// Counts as a use of the session from `ip`.
    pub fn authenticate(
        &self,
        token: &str,
        ip: Option<&str>,
    ) -> DomainResult<Option<(UserId, TokenHash)>> {
        if !is_token_hex(token) {
            return Ok(None);
        }
        let hash = hash_token(token);
        let now = Ts::now();
        if let Some(live) = self.cache.get(&hash) {
            // Several nodes (etcd): another node may have ended the session. The store here is
            // this node's mirror, current up to the request's read barrier: one look-up in memory.
            // Its stored last use also counts: uses on other nodes (see `elsewhere`).
            let mut stored = None;
            if self.store.is_shared() {
                match self.store.get::<SessionRecord>(&keys::session(&hash))? {
                    Some(s) => stored = Some(s.last_used_at),
                    None => {
                        drop(live);
                        self.cache.remove(&hash);
                        return Ok(None);
                    }
                }
            }
            return self.use_session(&hash, &live, stored, now, ip).map(Some);
        }
        // The store is read while the entry is locked, and every ending deletes from the store
        // before the cache: an ended session can never be put back by a racing reader.
        let live = match self.cache.entry(hash) {
            Entry::Occupied(e) => e.into_ref(),
            Entry::Vacant(v) => match self.store.get::<SessionRecord>(&keys::session(&hash))? {
                Some(s) => v.insert(Live::from(&s)),
                None => return Ok(None),
            },
        };
        self.use_session(&hash, &live, None, now, ip).map(Some)
    }

    /// Several nodes (etcd): the latest use of a session on any node, as far as its stored
    /// `last_used_at` can tell. Another node records a use only every `record_every`, so its
    /// latest use may be up to that much later than the stored one: the idle clock is read
    /// that much later (a session idles out at most `record_every` late, never early).
    /// On sled, where this process sees every use, nothing (the earliest time).
    fn elsewhere(&self, stored: Option<Ts>) -> Ts {
        match stored {
            Some(at) if self.store.is_shared() => {
                Ts(at.0.saturating_add(self.policy.record_every()))
            }
            _ => Ts(i64::MIN),
        }
    }

    fn use_session(
        &self,
        hash: &TokenHash,
        live: &Live,
        stored: Option<Ts>,
        now: Ts,
        ip: Option<&str>,
    ) -> DomainResult<(UserId, TokenHash)> {
        let used = Ts(live.used.load(Relaxed)).max(self.elsewhere(stored));
        if self.policy.expired(live.created_at, used, now) {
            return Err(DomainError::Unauthorized(SESSION_EXPIRED.into()));
        }
        if self.policy.idle_timeout.is_some() {
            live.used.fetch_max(now.0, Relaxed);
        }
        // Of the requests in one recording window, the one that moves `recorded` sends the use.
        let recorded = live.recorded.load(Relaxed);
        if now.0.saturating_sub(recorded) >= self.policy.record_every()
            && live
                .recorded
                .compare_exchange(recorded, now.0, Relaxed, Relaxed)
                .is_ok()
        {
            if let Some(recorder) = self.recorder.get() {
                recorder.do_send(RecordUse {
                    hash: *hash,
                    at: now,
                    ip: ip.map(str::to_string),
                });
            }
        }
        Ok((live.user, *hash))
    }

    /// Whether the session `s` of `hash` has outlived the policy at `now`, judged with the
    /// latest use this process has seen (which the stored record may not show yet) and, with
    /// several nodes, the stored one plus the recording slack (see `elsewhere`).
    pub(super) fn outlived(&self, hash: &TokenHash, s: &SessionRecord, now: Ts) -> bool {
        let stored = s.last_used_at.max(self.elsewhere(Some(s.last_used_at)));
        let used = self
            .cache
            .get(hash)
            .map_or(stored, |l| Ts(l.used.load(Relaxed)).max(stored));
        self.policy.expired(s.created_at, used, now)
    }

    pub(super) fn forget(&self, hash: &TokenHash) {
        self.cache.remove(hash);
    }
}

/// Sent by `Tokens` to the accounts actor: record when and from where a session was last used.
/// The actor writes it, so that it can never bring back a session ended a moment before.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RecordUse {
    pub(super) hash: TokenHash,
    pub(super) at: Ts,
    pub(super) ip: Option<String>,
}

//! Login sessions: one per register or login, each the life of one login token. This file owns
//! the session records kept beside the tokens and every way a session ends: logout, revoking
//! one, logging out everywhere, and expiry under the `SessionPolicy` (judged on each use by the
//! token cache, `tokens.rs`, and swept out of the store here). Users and passwords are
//! `accounts.rs`'s; the check made again where an organization's change is made is
//! `org/access.rs`'s (`session_alive`), which reads the same records.
//!
//! Every ending is a change of the accounts actor, applied and flushed before it answers
//! (`durable`), and deletes from the store before the cache, so that no racing request can put
//! an ended session back into the cache. Recording when and from where a session was last used
//! is bookkeeping: written at most every `SessionPolicy::record_every`, by the actor (so it can
//! never revive a session ended meanwhile) and never flushed on its own.

use super::tokens::RecordUse;
use super::{durable, AccountsActor};
use crate::audit::{self, Event};
use crate::crypto::{hash_token, new_token_hex, token_hash_from, TokenHash};
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::page::{PageRequest, Paged, Window};
use crate::store::etcd::Fence;
use crate::store::{decode, keys, Changes, Store};
use actix::prelude::*;
use zeroize::Zeroizing;

/// Before anything is served: store the policy this process enforces (so `session_alive` judges
/// by it too), and give each login token from before sessions existed (a `t` record with no `T`
/// beside it) its session, so it keeps working and can be listed and revoked. Such a session was
/// created when its token was, from an unknown address; its last use, unknown too, counts from
/// now, so that an idle timeout does not end every old token at the first start.
pub fn prepare(store: &Store, policy: SessionPolicy) -> DomainResult<()> {
    let mut changes = store.changes();
    let mut changed = false;
    let stored: Option<SessionPolicy> = store.get(keys::SESSION_POLICY)?;
    if stored.unwrap_or_default() != policy {
        if store.is_shared() && stored.is_some() {
            // Several nodes share one stored policy (read by the organization actors): the
            // last node started wins, so nodes run with different settings disagree.
            log::warn!(
                "the session policy stored by another node differs from this node's \
                 (KEYNEST_SESSION_IDLE_TIMEOUT / KEYNEST_SESSION_MAX_AGE); this node's replaces \
                 it: give every node the same settings"
            );
        }
        if policy.is_off() {
            changes.del(keys::SESSION_POLICY.to_vec());
        } else {
            changes.put(keys::SESSION_POLICY.to_vec(), &policy)?;
        }
        changed = true;
    }
    let mut old = Vec::new();
    for kv in store.scan_entries(&keys::tokens()) {
        let (hash, raw) = kv?;
        let hash = token_hash_from(&hash)?;
        if !store.contains(&keys::session(&hash))? {
            old.push((decode::<TokenRecord>(&raw)?, hash));
        }
    }
    // Ids in the order the tokens were made, so that the listing's "newest first" holds.
    old.sort_by_key(|(t, _)| t.created_at);
    let now = Ts::now();
    for (i, (t, hash)) in old.iter().enumerate() {
        let s = SessionRecord {
            id: SessionId(store.next_id("session")?),
            user: t.user,
            created_at: t.created_at,
            created_ip: None,
            last_used_at: now,
            last_used_ip: None,
        };
        changes.put(keys::session(hash), &s)?;
        changes.put_raw(keys::user_session(s.user, s.id), hash.to_vec());
        changed = true;
        // Nothing is served yet, so batches need not be one: a large store is not one huge one.
        if i % 4096 == 4095 {
            store.apply(std::mem::take(&mut changes))?;
        }
    }
    if changed {
        store.apply(changes)?;
        store.flush_blocking()?;
    }
    if !old.is_empty() {
        log::info!(
            "gave {} login tokens from before sessions a session each",
            old.len()
        );
    }
    Ok(())
}

/// A new login token for `user` and its session, begun from `ip`, written into `changes`. The
/// token is returned this once; only its hash is stored.
pub(super) fn issue(
    store: &Store,
    changes: &mut Changes,
    user: UserId,
    ip: Option<String>,
) -> DomainResult<Zeroizing<String>> {
    let token = new_token_hex()?;
    let hash = hash_token(&token);
    let now = Ts::now();
    let rec = TokenRecord {
        user,
        created_at: now,
    };
    changes.put(keys::token(&hash), &rec)?;
    let s = SessionRecord {
        id: SessionId(store.next_id("session")?),
        user,
        created_at: now,
        created_ip: ip.clone(),
        last_used_at: now,
        last_used_ip: ip,
    };
    changes.put(keys::session(&hash), &s)?;
    changes.put_raw(keys::user_session(user, s.id), hash.to_vec());
    Ok(token)
}

/// The deletes that end the session `s` of `hash`: its token, its record, its index entry.
fn end(changes: &mut Changes, hash: &TokenHash, s: &SessionRecord) {
    changes.del(keys::token(hash));
    changes.del(keys::session(hash));
    changes.del(keys::user_session(s.user, s.id));
}

/// Sessions ended per batch by the sweep: each batch is one durable change of the accounts
/// actor, so a login waits behind at most this many deletions.
const SWEEP_BATCH: usize = 256;

/// How many times a session's use is merged again with another node's record of it.
const RECORD_USE_TRIES: usize = 8;

/// Delete every session that has outlived the policy, in batches of `SWEEP_BATCH`. Candidates
/// are found here, reading the store off the actor; the actor judges each again, with the cache's
/// view of its latest use, before deleting it. Answers how many were deleted.
pub async fn sweep(
    store: &Store,
    accounts: &Addr<AccountsActor>,
    policy: SessionPolicy,
    fence: Option<Fence>,
) -> DomainResult<usize> {
    if policy.is_off() {
        return Ok(0);
    }
    let now = Ts::now();
    let mut ended = 0;
    let mut batch = Vec::new();
    for (i, kv) in store.scan_entries(&keys::sessions()).enumerate() {
        let (hash, raw) = kv?;
        let s: SessionRecord = decode(&raw)?;
        // The stored last use is never later than the real one: this finds every candidate.
        if policy.expired(s.created_at, s.last_used_at, now) {
            batch.push(token_hash_from(&hash)?);
        }
        if batch.len() == SWEEP_BATCH {
            let hashes = std::mem::take(&mut batch);
            let fence = fence.clone();
            ended += accounts.send(ExpireSessions { hashes, fence }).await??;
        } else if i % 1024 == 1023 {
            // A long scan leaves the thread to the requests beside it now and then.
            tokio::task::yield_now().await;
        }
    }
    if !batch.is_empty() {
        let hashes = batch;
        ended += accounts.send(ExpireSessions { hashes, fence }).await??;
    }
    Ok(ended)
}

#[derive(Message)]
#[rtype(result = "DomainResult<()>")]
pub struct Logout {
    pub caller: Caller,
    pub token: TokenHash,
}

/// The caller's sessions, newest first.
#[derive(Message)]
#[rtype(result = "DomainResult<Paged<SessionView>>")]
pub struct ListSessions {
    pub caller: Caller,
    pub page: PageRequest,
}

/// End one of the caller's own sessions. Another user's session id is `NotFound`, exactly as an
/// id that does not exist.
#[derive(Message)]
#[rtype(result = "DomainResult<()>")]
pub struct RevokeSession {
    pub caller: Caller,
    pub id: SessionId,
}

/// End every session of the caller, or every one but the calling one (`keep_current`).
/// Answers how many were ended.
#[derive(Message)]
#[rtype(result = "DomainResult<usize>")]
pub struct LogoutAll {
    pub caller: Caller,
    pub keep_current: bool,
}

/// Sent by the sweep: end those of these sessions that have outlived the policy.
#[derive(Message)]
#[rtype(result = "DomainResult<usize>")]
struct ExpireSessions {
    hashes: Vec<TokenHash>,
    /// Etcd: applied only while this node still holds the sweep (see `store::etcd::Leader`).
    fence: Option<Fence>,
}

impl AccountsActor {
    /// Apply `changes`, which end the sessions of `hashes`, then drop those from the cache:
    /// store first, cache second (see `Tokens::authenticate`).
    fn apply_endings(&self, changes: Changes, hashes: &[TokenHash]) -> DomainResult<()> {
        self.store.apply(changes)?;
        for hash in hashes {
            self.tokens.forget(hash);
        }
        Ok(())
    }

    fn logout(&self, msg: Logout) -> DomainResult<()> {
        let user = self.store.user(msg.caller.user)?;
        let mut changes = self.store.changes();
        let session: Option<SessionRecord> = self.store.get(&keys::session(&msg.token))?;
        let mut event = Event::new(None, "user_logout", "user", msg.caller.user.0);
        match &session {
            Some(s) => {
                end(&mut changes, &msg.token, s);
                event = event.detail("session", s.id.to_string());
            }
            // Ended meanwhile: the token may still be there if it predates sessions.
            None => changes.del(keys::token(&msg.token)),
        }
        audit::record(
            &self.store,
            &mut changes,
            user.as_ref(),
            msg.caller.ip,
            event,
        )?;
        self.apply_endings(changes, &[msg.token])
    }

    fn list_sessions(&self, msg: ListSessions) -> DomainResult<Paged<SessionView>> {
        let prefix = keys::user_sessions(msg.caller.user);
        let count = self.store.count(&prefix)? as usize;
        // Ids grow with time: the index read backwards is newest first.
        Window::page(msg.page)
            .apply(self.store.scan_raw(&prefix).rev())
            .into_iter()
            .map(|kv| {
                let hash = token_hash_from(&kv?.1)?;
                let s: SessionRecord = self.store.get(&keys::session(&hash))?.ok_or_else(|| {
                    DomainError::Internal("session index without its session".into())
                })?;
                Ok(SessionView::new(&s, msg.caller.session == Some(hash)))
            })
            .collect::<DomainResult<_>>()
            .map(|items| Paged { count, items })
    }

    fn revoke_session(&self, msg: RevokeSession) -> DomainResult<()> {
        let index = keys::user_session(msg.caller.user, msg.id);
        let hash = self
            .store
            .get_raw(&index)?
            .ok_or(DomainError::NotFound("session"))?;
        let hash = token_hash_from(&hash)?;
        let s: SessionRecord = self
            .store
            .get(&keys::session(&hash))?
            .ok_or(DomainError::NotFound("session"))?;
        let mut changes = self.store.changes();
        end(&mut changes, &hash, &s);
        let user = self.store.user(msg.caller.user)?;
        let event = Event::new(None, "session_revoked", "session", s.id.0);
        audit::record(
            &self.store,
            &mut changes,
            user.as_ref(),
            msg.caller.ip,
            event,
        )?;
        self.apply_endings(changes, &[hash])
    }

    fn logout_all(&self, msg: LogoutAll) -> DomainResult<usize> {
        let user = self.store.user(msg.caller.user)?;
        let keep = msg.caller.session.filter(|_| msg.keep_current);
        let mut changes = self.store.changes();
        let mut ended = Vec::new();
        for kv in self.store.scan_raw(&keys::user_sessions(msg.caller.user)) {
            let hash = token_hash_from(&kv?.1)?;
            if Some(hash) == keep {
                continue;
            }
            let Some(s) = self.store.get::<SessionRecord>(&keys::session(&hash))? else {
                continue;
            };
            end(&mut changes, &hash, &s);
            let event =
                Event::new(None, "session_revoked", "session", s.id.0).detail("by", "logout_all");
            audit::record(
                &self.store,
                &mut changes,
                user.as_ref(),
                msg.caller.ip.clone(),
                event,
            )?;
            ended.push(hash);
        }
        self.apply_endings(changes, &ended)?;
        Ok(ended.len())
    }

    fn expire_sessions(&self, msg: ExpireSessions) -> DomainResult<usize> {
        let now = Ts::now();
        let mut changes = self.store.changes();
        changes.fenced(msg.fence);
        let mut ended = Vec::new();
        for hash in msg.hashes {
            let Some(s) = self.store.get::<SessionRecord>(&keys::session(&hash))? else {
                continue;
            };
            if !self.tokens.outlived(&hash, &s, now) {
                continue;
            }
            end(&mut changes, &hash, &s);
            let user = self.store.user(s.user)?;
            let event = Event::new(None, "session_expired", "session", s.id.0);
            audit::record(&self.store, &mut changes, user.as_ref(), None, event)?;
            ended.push(hash);
        }
        self.apply_endings(changes, &ended)?;
        Ok(ended.len())
    }

    fn record_use(&self, msg: RecordUse) -> DomainResult<()> {
        let key = keys::session(&msg.hash);
        // Several nodes: another node recording a use of the same session at the same moment
        // refuses this write (`Contended`); it is merged again with what that node wrote, so
        // that the later use is kept whichever node saw it.
        for _ in 0..RECORD_USE_TRIES {
            // Only a session still there: on the actor, so never one ended a moment ago.
            let Some(mut s) = self.store.get::<SessionRecord>(&key)? else {
                return Ok(());
            };
            if s.last_used_at >= msg.at {
                return Ok(());
            }
            s.last_used_at = msg.at;
            s.last_used_ip = msg.ip.clone();
            match self.store.put_volatile(&key, &s) {
                Err(DomainError::Contended) => continue,
                other => return other,
            }
        }
        Err(DomainError::Contended)
    }
}

impl Handler<Logout> for AccountsActor {
    type Result = AtomicResponse<Self, DomainResult<()>>;

    fn handle(&mut self, msg: Logout, _: &mut Self::Context) -> Self::Result {
        durable(self.store.clone(), self.logout(msg))
    }
}

impl Handler<ListSessions> for AccountsActor {
    type Result = DomainResult<Paged<SessionView>>;

    /// On the actor: every change of it is durable before it takes the next message, so the
    /// list never shows a login a failed flush could take back.
    fn handle(&mut self, msg: ListSessions, _: &mut Self::Context) -> Self::Result {
        self.list_sessions(msg)
    }
}

impl Handler<RevokeSession> for AccountsActor {
    type Result = AtomicResponse<Self, DomainResult<()>>;

    fn handle(&mut self, msg: RevokeSession, _: &mut Self::Context) -> Self::Result {
        durable(self.store.clone(), self.revoke_session(msg))
    }
}

impl Handler<LogoutAll> for AccountsActor {
    type Result = AtomicResponse<Self, DomainResult<usize>>;

    fn handle(&mut self, msg: LogoutAll, _: &mut Self::Context) -> Self::Result {
        durable(self.store.clone(), self.logout_all(msg))
    }
}

impl Handler<ExpireSessions> for AccountsActor {
    type Result = AtomicResponse<Self, DomainResult<usize>>;

    fn handle(&mut self, msg: ExpireSessions, _: &mut Self::Context) -> Self::Result {
        durable(self.store.clone(), self.expire_sessions(msg))
    }
}

impl Handler<RecordUse> for AccountsActor {
    type Result = ();

    fn handle(&mut self, msg: RecordUse, _: &mut Self::Context) {
        if let Err(e) = self.record_use(msg) {
            log::warn!("could not record a session's use: {e}");
        }
    }
}

#[cfg(test)]
mod tests;

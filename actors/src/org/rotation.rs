//! Data-key rotation of one organization (DESIGN.md, "Keys and encryption"): a new data key
//! version is added and used for every new value at once; the values and versions sealed under
//! older versions are then sealed again in the background, in small batches, each one an ordinary
//! durable write of this actor, so other messages (reads and writes) run between them. Once the
//! last batch is written the older keys are deleted from the store and forgotten, so they open
//! nothing. What is left to do is stored (`keys::rotation`), so a rotation survives a restart:
//! the registry sends the actor of an organization with one `ContinueKeyRotation` when it starts
//! it, and `Keynest::open` starts those actors.
//!
//! Every batch is audited as `key_rotation_progress` (the write path requires an entry, and a
//! record of when each part of the organization's data was re-sealed is worth having: about one
//! entry per `BATCH` values), between `key_rotation_started` and `key_rotated`.

use super::{routed, Durable, OrgActor, OrgReader, Tx};
use crate::audit::Event;
use crate::crypto::{key_version, KeyringCell};
use crate::error::{Details, DomainError, DomainResult};
use crate::model::*;
use crate::store::{self, keys, Store};
use actix::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Values and versions looked at per batch: a batch holds the actor for a few milliseconds.
pub const BATCH: u64 = 256;

/// How long a failed batch waits before it is tried again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(30);

/// A rotation in progress, as stored: from which key version to which, and how far it got
/// (the last variable done, by environment id then variable id; every version of a variable is
/// done in the batch that does the variable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotation {
    pub from: u32,
    pub to: u32,
    pub env: u64,
    pub var: u64,
    pub done: u64,
    pub total: u64,
    /// Who started it: the batches are audited under their name.
    pub by: UserId,
}

impl KeyRotation {
    /// Whether the variable `var` of environment `env` is past the cursor (not yet done).
    fn ahead(&self, env: u64, var: u64) -> bool {
        (env, var) > (self.env, self.var)
    }

    fn progress(&self) -> RotationProgress {
        RotationProgress {
            done: self.done.min(self.total),
            total: self.total,
        }
    }
}

/// Start a new data key version for the organization (admins only).
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<OrgView>")]
pub struct RotateOrgKey {
    pub caller: Caller,
    pub org: OrgId,
    /// Seals the new data key; held from sealing until the key is applied to the store, so a
    /// master-key rotation cannot slip in between.
    pub keyring: Arc<KeyringCell>,
}

/// Do the next batch of the organization's rotation, if one is in progress.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct ContinueKeyRotation;

routed! {
    RotateOrgKey => Org(org);
}

impl Handler<RotateOrgKey> for OrgActor {
    type Result = Durable<OrgView>;

    fn handle(&mut self, msg: RotateOrgKey, _: &mut Self::Context) -> Self::Result {
        let RotateOrgKey {
            caller, keyring, ..
        } = msg;
        let ring = keyring.hold();
        let mut opened = None;
        let written = self.commit(&caller, |tx| {
            tx.r.admin(&caller, "organization", "rotate the organization's key")?;
            let org = tx.r.id();
            if tx.r.store().contains(&keys::rotation(org))? {
                return Err(DomainError::Conflict(Details::Text(
                    "A key rotation of this organization is still running; wait for it to finish."
                        .into(),
                )));
            }
            let from = tx.r.key_version();
            let to = from + 1;
            let (sealed, key) = ring.new_data_key(org, to)?;
            tx.put_raw(keys::dek(org, to), sealed);
            let state = KeyRotation {
                from,
                to,
                env: 0,
                var: 0,
                done: 0,
                total: count_values(tx.r)?,
                by: caller.user,
            };
            tx.put(keys::rotation(org), &state)?;
            opened = Some(key);
            let mut view = tx.r.org_view(&tx.r.org()?, Role::Admin)?;
            view.key = KeyView {
                version: to,
                rotation: Some(state.progress()),
            };
            let ev =
                tx.r.event("key_rotation_started", "organization", org.0)
                    .detail("from_version", from.to_string())
                    .detail("to_version", to.to_string())
                    .detail("total", state.total.to_string());
            Ok((view, ev))
        });
        drop(ring);
        // Once the new key is durable, and before any other message: new values use it.
        let started = written.map(move |res, act, ctx| {
            if res.is_ok() {
                if let Some(key) = opened {
                    act.reader.add_key(key);
                }
                ctx.notify(ContinueKeyRotation);
            }
            res
        });
        AtomicResponse::new(Box::pin(started))
    }
}

impl Handler<ContinueKeyRotation> for OrgActor {
    type Result = ();

    fn handle(&mut self, _: ContinueKeyRotation, ctx: &mut Self::Context) {
        let org = self.reader.id();
        let state = match self.reader.store().get::<KeyRotation>(&keys::rotation(org)) {
            Ok(Some(state)) if !self.deleted => state,
            Ok(_) => return,
            Err(e) => {
                log::warn!("org {org}: key rotation paused, cannot read its progress: {e}");
                return;
            }
        };
        let caller = Caller::user(state.by, None);
        let batch = self.commit(&caller, move |tx| next_batch(tx, state));
        let after = batch.map(move |res, act, ctx| match res {
            Ok(None) => ctx.notify(ContinueKeyRotation),
            Ok(Some(to)) => {
                act.reader.retire_keys_except(to);
                log::info!("org {org}: data key rotated to v{to}; older versions deleted");
            }
            Err(e) => {
                log::warn!("org {org}: a key rotation batch failed ({e}); trying again later");
                ctx.run_later(RETRY, |_, ctx| ctx.notify(ContinueKeyRotation));
            }
        });
        ctx.wait(after);
    }
}

/// The organization's environments, in id order.
fn env_ids(store: &Store, org: OrgId) -> DomainResult<Vec<u64>> {
    let mut envs = Vec::new();
    for p in store.scan_keys(&keys::projects(org)) {
        let project = ProjectId(store::id_from(&p?)?);
        for e in store.scan_keys(&keys::envs(project)) {
            envs.push(store::id_from(&e?)?);
        }
    }
    envs.sort_unstable();
    Ok(envs)
}

/// Every value and kept version of the organization.
fn count_values(r: &OrgReader) -> DomainResult<u64> {
    let store = r.store();
    let mut n = 0;
    for env in env_ids(store, r.id())? {
        for k in store.scan_keys(&keys::vars(EnvId(env))) {
            n += 1;
            let var = VarId(store::id_from(&k?)?);
            n += store.scan_keys(&keys::versions(var)).count() as u64;
        }
    }
    Ok(n)
}

/// Re-seal the next `BATCH` values and versions; `Some(to)` once the rotation is finished (the
/// older keys and the progress record are deleted in the same batch).
fn next_batch(tx: &mut Tx, mut st: KeyRotation) -> DomainResult<(Option<u32>, Event)> {
    let r = tx.r;
    let org = r.id();
    let store = r.store().clone();
    let mut seen = 0;
    let mut more = false;
    'envs: for env in env_ids(&store, org)? {
        if env < st.env {
            continue;
        }
        for entry in store.scan_entries(&keys::vars(EnvId(env))) {
            let (k, raw) = entry?;
            let var = store::id_from(&k)?;
            if !st.ahead(env, var) {
                continue;
            }
            if seen >= BATCH {
                more = true;
                break 'envs;
            }
            let mut v: Variable = store::decode(&raw)?;
            seen += 1;
            if key_version(&v.sealed)? != st.to {
                let value = r.open(&v)?;
                v.sealed = r.seal_with(st.to, &v, &value)?;
                tx.put(keys::var(v.env, v.id), &v)?;
            }
            for e in store.scan_entries(&keys::versions(v.id)) {
                let (_, raw) = e?;
                let mut old: VariableVersion = store::decode(&raw)?;
                seen += 1;
                if key_version(&old.sealed)? != st.to {
                    // The version's value is bound to its own version number (see `history`).
                    let at = Variable {
                        version: old.version,
                        sealed: std::mem::take(&mut old.sealed),
                        ..v.clone()
                    };
                    let value = r.open(&at)?;
                    old.sealed = r.seal_with(st.to, &at, &value)?;
                    tx.put(keys::version(v.id, old.version), &old)?;
                }
            }
            (st.env, st.var) = (env, var);
        }
    }
    st.done += seen;
    if more {
        tx.put(keys::rotation(org), &st)?;
        let ev = r
            .event("key_rotation_progress", "organization", org.0)
            .detail("to_version", st.to.to_string())
            .detail("done", st.done.min(st.total).to_string())
            .detail("total", st.total.to_string());
        return Ok((None, ev));
    }
    // Every value written since the rotation started used the new key, and every older one has
    // been passed by the cursor: nothing is sealed by another version any more.
    for k in store.scan_keys(&keys::deks(org)) {
        let k = k?;
        let version = <[u8; 4]>::try_from(k.as_ref())
            .map(u32::from_be_bytes)
            .map_err(|_| DomainError::Internal("bad data key id".into()))?;
        if version != st.to {
            tx.del(keys::dek(org, version));
        }
    }
    tx.del(keys::rotation(org));
    let ev = r
        .event("key_rotated", "organization", org.0)
        .detail("from_version", st.from.to_string())
        .detail("to_version", st.to.to_string())
        .detail("total", st.total.to_string());
    Ok((Some(st.to), ev))
}

impl OrgReader {
    /// The data key version in use, and the rotation's progress if one is running.
    pub(crate) fn key_view(&self) -> DomainResult<KeyView> {
        let running = self
            .store()
            .get::<KeyRotation>(&keys::rotation(self.id()))?;
        Ok(KeyView {
            version: running
                .as_ref()
                .map_or_else(|| self.key_version(), |s| s.to),
            rotation: running.map(|s| s.progress()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_orders_by_environment_then_variable() {
        let st = KeyRotation {
            from: 1,
            to: 2,
            env: 5,
            var: 10,
            done: 0,
            total: 0,
            by: UserId(1),
        };
        assert!(!st.ahead(5, 10), "the last one done");
        assert!(!st.ahead(5, 9) && !st.ahead(4, 99));
        assert!(st.ahead(5, 11) && st.ahead(6, 1));
        let fresh = KeyRotation {
            env: 0,
            var: 0,
            ..st
        };
        assert!(
            fresh.ahead(1, 1),
            "a new rotation starts before every variable"
        );
    }

    #[test]
    fn progress_never_shows_more_than_the_total() {
        let st = KeyRotation {
            from: 1,
            to: 2,
            env: 0,
            var: 0,
            done: 700,
            total: 600,
            by: UserId(1),
        };
        assert_eq!(
            st.progress(),
            RotationProgress {
                done: 600,
                total: 600
            }
        );
    }
}

//! Finds or starts the actor of an organization, with its reader (the data keys opened once).
//! Organization actors are spread over one arbiter per core; an organization always lands on the
//! same one.

use crate::crypto::{DataKey, KeyringCell};
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::org::{ContinueKeyRotation, OrgActor, OrgReader, Quotas};
use crate::store::{keys, Store};
use actix::prelude::*;
use dashmap::DashMap;
use std::sync::Arc;

pub struct Registry {
    store: Store,
    keyring: Arc<KeyringCell>,
    records: Arc<DataKey>,
    quotas: Quotas,
    arbiters: Vec<ArbiterHandle>,
    actors: DashMap<OrgId, Addr<OrgActor>>,
    readers: DashMap<OrgId, OrgReader>,
}

impl Registry {
    /// Must be called inside a running actix System.
    pub fn new(
        store: Store,
        keyring: Arc<KeyringCell>,
        records: Arc<DataKey>,
        quotas: Quotas,
        workers: usize,
    ) -> Registry {
        let arbiters = (0..workers.max(1))
            .map(|_| Arbiter::new().handle())
            .collect();
        Registry {
            store,
            keyring,
            records,
            quotas,
            arbiters,
            actors: DashMap::new(),
            readers: DashMap::new(),
        }
    }

    /// The actor of `org`, started on first use. `NotFound` when the organization does not exist.
    pub fn get(&self, org: OrgId) -> DomainResult<Addr<OrgActor>> {
        if let Some(addr) = self.actors.get(&org) {
            if addr.connected() {
                let addr = addr.clone();
                if let Some(r) = self.readers.get(&org).map(|r| r.clone()) {
                    r.refresh_keys()?;
                }
                return Ok(addr);
            }
        }
        if self.store.org(org)?.is_none() {
            self.actors.remove(&org);
            return Err(DomainError::NotFound("organization"));
        }
        // Open the data keys here, so that a store that cannot be read fails this request
        // instead of starting an actor that cannot work.
        let deks = crate::org::open_deks(&self.store, &self.keyring, org)?;
        // The reader goes in first: whoever finds the actor can then always find the reader.
        let reader = self
            .readers
            .entry(org)
            .or_insert_with(|| {
                let records = self.records.clone();
                OrgReader::new(org, self.store.clone(), deks, records, self.quotas)
                    .with_master(self.keyring.clone())
            })
            .clone();
        reader.refresh_keys()?;
        let rotating = self.store.contains(&keys::rotation(org))?;
        let entry = self.actors.entry(org).or_insert_with(|| {
            let arbiter = &self.arbiters[(org.0 as usize) % self.arbiters.len()];
            let addr = OrgActor::start_in_arbiter(arbiter, move |_| OrgActor::new(reader));
            // A data-key rotation left running (by a restart, or an actor stopped while idle)
            // goes on from where it was.
            if rotating {
                addr.do_send(ContinueKeyRotation);
            }
            addr
        });
        Ok(entry.clone())
    }

    /// The read side of `org`, for reads on the caller's thread (started with its actor).
    pub fn reader(&self, org: OrgId) -> DomainResult<OrgReader> {
        if let Some(r) = self.readers.get(&org) {
            let r = r.clone();
            r.refresh_keys()?;
            return Ok(r);
        }
        self.get(org)?;
        self.readers
            .get(&org)
            .map(|r| r.clone())
            .ok_or(DomainError::NotFound("organization"))
    }

    /// Organization actors started and not forgotten (loaded on first use, kept until the
    /// organization is deleted).
    pub fn loaded(&self) -> usize {
        self.actors.len()
    }

    /// Forget a deleted organization's actor and reader.
    pub fn forget(&self, org: OrgId) {
        self.actors.remove(&org);
        self.readers.remove(&org);
    }

    pub fn stop(&self) {
        for a in &self.arbiters {
            a.stop();
        }
    }
}

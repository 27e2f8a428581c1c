//! Finds or starts the actor of an organization, and creates organizations (a new organization
//! has no actor yet, so its first records are written here). Organization actors are spread over
//! one arbiter per core; an organization always lands on the same one.

use crate::audit::{self, Event};
use crate::crypto::Keyring;
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::org::OrgActor;
use crate::reader::OrgReader;
use crate::store::{keys, Changes, Store};
use actix::prelude::*;
use dashmap::DashMap;
use std::sync::Arc;

/// The first data key version of every organization.
pub const FIRST_DEK_VERSION: u32 = 1;

/// Add a new organization with `creator` as its admin to `changes`, with its data key and its
/// audit entry. Used by registration (the personal organization) and by `CreateOrganization`.
pub fn new_org_changes(
    store: &Store,
    keyring: &Keyring,
    changes: &mut Changes,
    creator: &User,
    name: String,
    description: String,
    ip: Option<String>,
) -> DomainResult<Organization> {
    let now = Ts::now();
    let org = Organization {
        id: OrgId(store.next_id("org")?),
        name,
        description,
        created_at: now,
        updated_at: now,
        created_by: creator.id,
    };
    let (sealed_dek, _) = keyring.new_data_key(org.id, FIRST_DEK_VERSION)?;
    changes.put(keys::org(org.id), &org)?;
    changes.put_raw(keys::dek(org.id, FIRST_DEK_VERSION), sealed_dek);
    let membership = Membership {
        role: Role::Admin,
        joined_at: now,
    };
    changes.put(keys::member(org.id, creator.id), &membership)?;
    changes.put(keys::user_org(creator.id, org.id), &Role::Admin)?;
    let event = Event::new(
        Some(org.id),
        "organization_created",
        "organization",
        org.id.0,
    )
    .detail("name", &org.name);
    audit::record(store, changes, Some(creator), ip, event)?;
    Ok(org)
}

pub struct Registry {
    store: Store,
    keyring: Arc<Keyring>,
    arbiters: Vec<ArbiterHandle>,
    actors: DashMap<OrgId, Addr<OrgActor>>,
    readers: DashMap<OrgId, OrgReader>,
}

impl Registry {
    /// Must be called inside a running actix System.
    pub fn new(store: Store, keyring: Arc<Keyring>, workers: usize) -> Registry {
        let arbiters = (0..workers.max(1))
            .map(|_| Arbiter::new().handle())
            .collect();
        Registry {
            store,
            keyring,
            arbiters,
            actors: DashMap::new(),
            readers: DashMap::new(),
        }
    }

    /// The actor of `org`, started on first use. `NotFound` when the organization does not exist.
    pub fn get(&self, org: OrgId) -> DomainResult<Addr<OrgActor>> {
        if let Some(addr) = self.actors.get(&org) {
            if addr.connected() {
                return Ok(addr.clone());
            }
        }
        if self.store.org(org)?.is_none() {
            self.actors.remove(&org);
            return Err(DomainError::NotFound("organization"));
        }
        // Open the data keys here, so that a store that cannot be read fails this request
        // instead of starting an actor that cannot work.
        let deks = self
            .store
            .scan_entries(&keys::deks(org))
            .map(|kv| {
                let (k, v) = kv?;
                let version = u32::from_be_bytes(
                    k.as_ref()
                        .try_into()
                        .map_err(|_| DomainError::Internal("bad data key id".into()))?,
                );
                self.keyring.open_data_key(org, version, &v)
            })
            .collect::<DomainResult<Vec<_>>>()?;
        // The reader goes in first: whoever finds the actor can then always find the reader.
        let reader = self
            .readers
            .entry(org)
            .or_insert_with(|| OrgReader::new(org, self.store.clone(), deks))
            .clone();
        let entry = self.actors.entry(org).or_insert_with(|| {
            let arbiter = &self.arbiters[(org.0 as usize) % self.arbiters.len()];
            OrgActor::start_in_arbiter(arbiter, move |_| OrgActor::new(reader))
        });
        Ok(entry.clone())
    }

    /// The read side of `org`, for reads on the caller's thread (started with its actor).
    pub fn reader(&self, org: OrgId) -> DomainResult<OrgReader> {
        if let Some(r) = self.readers.get(&org) {
            return Ok(r.clone());
        }
        self.get(org)?;
        self.readers
            .get(&org)
            .map(|r| r.clone())
            .ok_or(DomainError::NotFound("organization"))
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

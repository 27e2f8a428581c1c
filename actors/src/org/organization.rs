//! The organization's own record: read, rename, delete (with everything it owns), and the
//! records a new organization starts with. A new organization has no actor yet, so `new_org`
//! adds its first records to a batch its caller writes (registration, `Keynest::create_org`).

use super::{routed, Durable, OrgActor};
use crate::audit::{self, Event};
use crate::crypto::Keyring;
use crate::error::DomainResult;
use crate::input::{NamePatch, NewOrg};
use crate::model::*;
use crate::store::{self, keys, Changes, Store};
use actix::prelude::*;

/// The first data key version of every organization.
pub const FIRST_DEK_VERSION: u32 = 1;

/// Add a new organization with `creator` as its admin to `changes`, with its data key and its
/// audit entry.
pub fn new_org(
    store: &Store,
    keyring: &Keyring,
    changes: &mut Changes,
    creator: &User,
    input: NewOrg,
    ip: Option<String>,
) -> DomainResult<Organization> {
    let now = Ts::now();
    let org = Organization {
        id: OrgId(store.next_id("org")?),
        name: input.name,
        description: input.description,
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

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<OrgView>")]
pub struct GetOrganization {
    pub caller: Caller,
    pub org: OrgId,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<OrgView>")]
pub struct UpdateOrganization {
    pub caller: Caller,
    pub org: OrgId,
    pub patch: NamePatch,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct DeleteOrganization {
    pub caller: Caller,
    pub org: OrgId,
}

routed! {
    GetOrganization => Org(org);
    UpdateOrganization => Org(org);
    DeleteOrganization => Org(org);
}

impl Handler<GetOrganization> for OrgActor {
    type Result = DomainResult<OrgView>;

    fn handle(&mut self, msg: GetOrganization, _: &mut Self::Context) -> Self::Result {
        let r = self.read()?;
        let role = r.role(&msg.caller, "organization")?;
        r.org_view(&r.org()?, role)
    }
}

impl Handler<UpdateOrganization> for OrgActor {
    type Result = Durable<OrgView>;

    fn handle(&mut self, msg: UpdateOrganization, _: &mut Self::Context) -> Self::Result {
        let UpdateOrganization { caller, patch, .. } = msg;
        self.write(&caller, |tx| {
            tx.r.admin(&caller, "organization", "change the organization")?;
            let mut org = tx.r.org()?;
            if let Some(name) = patch.name {
                org.name = name;
            }
            if let Some(d) = patch.description {
                org.description = d;
            }
            org.updated_at = Ts::now();
            tx.put(keys::org(org.id), &org)?;
            let ev =
                tx.r.event("organization_updated", "organization", org.id.0)
                    .detail("name", &org.name);
            Ok((tx.r.org_view(&org, Role::Admin)?, ev))
        })
    }
}

impl Handler<DeleteOrganization> for OrgActor {
    type Result = Durable<()>;

    fn handle(&mut self, msg: DeleteOrganization, _: &mut Self::Context) -> Self::Result {
        self.write(&msg.caller, |tx| {
            tx.r.admin(&msg.caller, "organization", "delete the organization")?;
            let org = tx.r.org()?;
            let store = tx.r.store().clone();
            for p in store.scan::<Project>(&keys::projects(org.id)) {
                tx.remove_project(&p?)?;
            }
            for k in store.scan_keys(&keys::members(org.id)) {
                let user = UserId(store::id_from(&k?)?);
                tx.del(keys::member(org.id, user));
                tx.del(keys::user_org(user, org.id));
            }
            for inv in store.scan::<Invitation>(&keys::invitations(org.id)) {
                let inv = inv?;
                tx.del(keys::invitation(org.id, inv.id));
                tx.del(keys::email_invitation(
                    &inv.email.to_lowercase(),
                    org.id,
                    inv.id,
                ));
            }
            for k in store.scan_keys(&keys::deks(org.id)) {
                tx.del([keys::deks(org.id), k?.to_vec()].concat());
            }
            tx.del(keys::rotation(org.id));
            tx.del(keys::org(org.id));
            tx.retire();
            let ev =
                tx.r.event("organization_deleted", "organization", org.id.0)
                    .detail("name", &org.name);
            Ok(((), ev))
        })
    }
}

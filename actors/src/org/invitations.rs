//! Invitations, the only way into an organization besides creating it. An admin invites an email;
//! whoever holds the account with that email (now, or after registering with it) sees the
//! invitation and accepts or declines it, and only accepting makes the membership, in one write
//! with its audit entry. So adding someone neither forces a membership on them nor tells the
//! admin anything about accounts: the answer to inviting is built from what the admin gave and
//! reads the same whether the email has an account or not. On the invitee's side, someone else's
//! invitation reads exactly as a missing one. Admins list their organization's invitations and
//! revoke them; an invitation can be accepted until it expires (`input::INVITATION_DAYS`).
//!
//! Invitations live under their organization, indexed by lower-cased email (`i` and `I` in
//! `store::keys`), so an invitee's listing reads only their own. `addressed_to` and
//! `invitation_org` read that index for the facade, which then asks each organization's actor:
//! the actor alone checks and changes its invitations.

use super::{routed, Durable, OrgActor, OrgReader, Tx};
use crate::audit::Event;
use crate::error::{DomainError, DomainResult};
use crate::input::NewMember;
use crate::model::*;
use crate::page::{PageRequest, Paged, Window};
use crate::store::{self, keys, Store};
use actix::prelude::*;

/// Invite an email (admins). Answers the invitation, never anything about an account.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<InvitationView>")]
pub struct InviteMember {
    pub caller: Caller,
    pub org: OrgId,
    pub input: NewMember,
}

/// The organization's invitations, pending and expired (admins).
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Paged<InvitationView>>")]
pub struct ListInvitations {
    pub caller: Caller,
    pub org: OrgId,
    pub page: PageRequest,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct RevokeInvitation {
    pub caller: Caller,
    pub org: OrgId,
    pub id: InvitationId,
}

/// One invitation as its invitee sees it; `NotFound` unless it is addressed to the caller and
/// can still be accepted.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<ReceivedInvitationView>")]
pub struct GetReceivedInvitation {
    pub caller: Caller,
    pub org: OrgId,
    pub id: InvitationId,
}

/// Join the organization with the invitation's role; answers the organization as its members
/// see it.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<OrgView>")]
pub struct AcceptInvitation {
    pub caller: Caller,
    pub org: OrgId,
    pub id: InvitationId,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct DeclineInvitation {
    pub caller: Caller,
    pub org: OrgId,
    pub id: InvitationId,
}

routed! {
    InviteMember => Org(org);
    ListInvitations => Org(org);
    RevokeInvitation => Org(org);
}

/// Sent by the invitee, who is not a member yet: the actor checks that the invitation is theirs.
macro_rules! routed_to_invitee {
    ($($msg:ident),+) => {
        $(impl super::Routed for $msg {
            fn route(&self) -> super::Route {
                super::Route::Org(self.org)
            }
            fn caller(&self) -> &Caller {
                &self.caller
            }
            fn members_only(&self) -> bool {
                false
            }
        })+
    };
}

routed_to_invitee!(GetReceivedInvitation, DeclineInvitation);

impl super::Routed for AcceptInvitation {
    fn route(&self) -> super::Route {
        super::Route::Org(self.org)
    }
    fn caller(&self) -> &Caller {
        &self.caller
    }
    fn members_only(&self) -> bool {
        false
    }
    fn joins(&self) -> Option<UserId> {
        Some(self.caller.user)
    }
}

/// The user an invitation would be for: the caller's own account, asked for with a login token
/// that still exists. A service token never answers invitations, whoever created it.
fn invitee(store: &Store, caller: &Caller) -> DomainResult<User> {
    if caller.service.is_some() {
        return Err(DomainError::Forbidden(
            "A service token can only read and write the variables of its environment.".into(),
        ));
    }
    super::access::session_alive(store, caller)?;
    store
        .user(caller.user)?
        .ok_or_else(|| DomainError::Unauthorized("Invalid token.".into()))
}

/// The invitations addressed to the caller's email, as (organization, invitation) in
/// organization order, expired ones included: one prefix scan of the email index.
pub fn addressed_to(store: &Store, caller: &Caller) -> DomainResult<Vec<(OrgId, InvitationId)>> {
    let email = invitee(store, caller)?.email.to_lowercase();
    store
        .scan_keys(&keys::email_invitations(&email))
        .map(|k| {
            let k = k?;
            let org = OrgId(store::id_from(&k)?);
            let id = InvitationId(store::id_from(k.get(8..).unwrap_or_default())?);
            Ok((org, id))
        })
        .collect()
}

/// The organization that sent invitation `id` if it is addressed to the caller; `NotFound`
/// otherwise, exactly as for an id that does not exist.
pub fn invitation_org(store: &Store, caller: &Caller, id: InvitationId) -> DomainResult<OrgId> {
    addressed_to(store, caller)?
        .into_iter()
        .find(|(_, i)| *i == id)
        .map(|(org, _)| org)
        .ok_or(DomainError::NotFound("invitation"))
}

impl OrgReader {
    fn invitation(&self, id: InvitationId) -> DomainResult<Invitation> {
        self.store()
            .get(&keys::invitation(self.id(), id))?
            .ok_or(DomainError::NotFound("invitation"))
    }

    /// Invitation `id` of this organization with its invitee, if it is addressed to the caller
    /// and not expired; anything else reads as a missing id.
    fn invitation_for(
        &self,
        caller: &Caller,
        id: InvitationId,
    ) -> DomainResult<(User, Invitation)> {
        let user = invitee(self.store(), caller)?;
        let inv = self.invitation(id)?;
        if inv.email.to_lowercase() != user.email.to_lowercase() || inv.expired(Ts::now()) {
            return Err(DomainError::NotFound("invitation"));
        }
        Ok((user, inv))
    }

    fn invitation_view(&self, i: &Invitation, now: Ts) -> DomainResult<InvitationView> {
        Ok(InvitationView::new(i, self.name_of(i.invited_by)?, now))
    }

    fn received_view(&self, i: &Invitation) -> DomainResult<ReceivedInvitationView> {
        Ok(ReceivedInvitationView {
            id: i.id,
            organization: self.id(),
            organization_name: self.org()?.name,
            invited_by_name: self.name_of(i.invited_by)?,
            role: i.role,
            created_at: i.created_at.rfc3339(),
            expires_at: i.expires_at.rfc3339(),
        })
    }

    fn invitation_event(&self, action: &'static str, i: &Invitation) -> Event {
        self.event(action, "invitation", i.id.0)
            .detail("email", &i.email)
            .detail("role", i.role.as_str())
    }
}

impl Tx<'_> {
    /// Delete an invitation with its entry in the email index.
    fn remove_invitation(&mut self, i: &Invitation) {
        self.del(keys::invitation(i.org, i.id));
        self.del(keys::email_invitation(&i.email.to_lowercase(), i.org, i.id));
    }
}

impl Handler<InviteMember> for OrgActor {
    type Result = Durable<InvitationView>;

    fn handle(&mut self, msg: InviteMember, _: &mut Self::Context) -> Self::Result {
        let InviteMember { caller, input, .. } = msg;
        self.write(&caller, |tx| {
            // Admin first: anyone else learns nothing about the email at all.
            tx.r.admin(&caller, "organization", "invite members")?;
            let r = tx.r;
            let org = r.id();
            let email = input.email.lower();
            // Refused only for a member, whom the admin sees in the member list anyway. Whether
            // any other email has an account changes nothing below.
            if let Some(user) = r.store().get::<UserId>(&keys::email(&email))? {
                if r.store().membership(org, user)?.is_some() {
                    return Err(DomainError::conflict(
                        "email",
                        "This email belongs to a member already.",
                    ));
                }
            }
            let now = Ts::now();
            let sent = r
                .store()
                .scan_keys(&keys::email_org_invitations(&email, org))
                .map(|k| Ok(InvitationId(store::id_from(&k?)?)))
                .collect::<DomainResult<Vec<_>>>()?;
            for id in sent {
                let old = r.invitation(id)?;
                if !old.expired(now) {
                    return Err(DomainError::conflict(
                        "email",
                        "This email has a pending invitation already; revoke it to invite again.",
                    ));
                }
                // An expired invitation makes way for the new one.
                tx.remove_invitation(&old);
            }
            let inv = Invitation {
                id: InvitationId(r.store().next_id("invitation")?),
                org,
                email: input.email.as_str().to_string(),
                role: input.role,
                invited_by: caller.user,
                created_at: now,
                expires_at: Ts(now.0 + (input.expires_in_days * 86_400_000_000.0) as i64),
            };
            tx.put(keys::invitation(org, inv.id), &inv)?;
            tx.put_raw(keys::email_invitation(&email, org, inv.id), Vec::new());
            let ev = r.invitation_event("invitation_created", &inv);
            Ok((r.invitation_view(&inv, now)?, ev))
        })
    }
}

impl Handler<ListInvitations> for OrgActor {
    type Result = DomainResult<Paged<InvitationView>>;

    fn handle(&mut self, msg: ListInvitations, _: &mut Self::Context) -> Self::Result {
        let r = self.read()?;
        r.admin(&msg.caller, "organization", "see invitations")?;
        let prefix = keys::invitations(r.id());
        let count = r.store().count(&prefix)? as usize;
        let now = Ts::now();
        let items = Window::page(msg.page)
            .apply(r.store().scan::<Invitation>(&prefix))
            .into_iter()
            .map(|i| r.invitation_view(&i?, now))
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<RevokeInvitation> for OrgActor {
    type Result = Durable<()>;

    fn handle(&mut self, msg: RevokeInvitation, _: &mut Self::Context) -> Self::Result {
        let RevokeInvitation { caller, id, .. } = msg;
        self.write(&caller, |tx| {
            tx.r.admin(&caller, "organization", "revoke invitations")?;
            let inv = tx.r.invitation(id)?;
            tx.remove_invitation(&inv);
            Ok(((), tx.r.invitation_event("invitation_revoked", &inv)))
        })
    }
}

impl Handler<GetReceivedInvitation> for OrgActor {
    type Result = DomainResult<ReceivedInvitationView>;

    fn handle(&mut self, msg: GetReceivedInvitation, _: &mut Self::Context) -> Self::Result {
        let r = self.read()?;
        let (_, inv) = r.invitation_for(&msg.caller, msg.id)?;
        r.received_view(&inv)
    }
}

impl Handler<AcceptInvitation> for OrgActor {
    type Result = Durable<OrgView>;

    fn handle(&mut self, msg: AcceptInvitation, _: &mut Self::Context) -> Self::Result {
        let AcceptInvitation { caller, id, .. } = msg;
        self.write(&caller, |tx| {
            let (user, inv) = tx.r.invitation_for(&caller, id)?;
            let org = tx.r.id();
            if tx.r.store().membership(org, user.id)?.is_some() {
                return Err(DomainError::conflict(
                    "invitation",
                    "You are a member of this organization already.",
                ));
            }
            let after = super::room_for_organization(tx.r.store(), tx.r.quotas(), user.id)?;
            tx.put(keys::joins(user.id), &after)?;
            let m = Membership {
                role: inv.role,
                joined_at: Ts::now(),
            };
            tx.put(keys::member(org, user.id), &m)?;
            tx.put(keys::user_org(user.id, org), &m.role)?;
            tx.remove_invitation(&inv);
            let mut view = tx.r.org_view(&tx.r.org()?, m.role)?;
            // Counted before this batch lands, which adds the new member.
            view.member_count += 1;
            let ev =
                tx.r.member_event("invitation_accepted", &user)
                    .detail("invitation_id", inv.id.to_string())
                    .detail("role", m.role.as_str());
            Ok((view, ev))
        })
    }
}

impl Handler<DeclineInvitation> for OrgActor {
    type Result = Durable<()>;

    fn handle(&mut self, msg: DeclineInvitation, _: &mut Self::Context) -> Self::Result {
        let DeclineInvitation { caller, id, .. } = msg;
        self.write(&caller, |tx| {
            let (_, inv) = tx.r.invitation_for(&caller, id)?;
            tx.remove_invitation(&inv);
            Ok(((), tx.r.invitation_event("invitation_declined", &inv)))
        })
    }
}

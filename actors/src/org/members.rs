//! Membership of an organization: every member can list, admins change roles and remove, and
//! anyone may leave. An organization always keeps at least one admin. Nobody is added directly:
//! admins invite an email and the invitee accepts (`invitations`), so adding someone neither
//! forces a membership on them nor tells the admin whether the email has an account.

use super::{routed, Durable, OrgActor, OrgReader};
use crate::audit::Event;
use crate::error::{Details, DomainError, DomainResult};
use crate::input::RoleChange;
use crate::model::*;
use crate::page::{PageRequest, Paged, Window};
use crate::store::{self, keys};
use actix::prelude::*;

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Paged<MemberView>>")]
pub struct ListMembers {
    pub caller: Caller,
    pub org: OrgId,
    pub page: PageRequest,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<MemberView>")]
pub struct ChangeMemberRole {
    pub caller: Caller,
    pub org: OrgId,
    pub user: UserId,
    pub change: RoleChange,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct RemoveMember {
    pub caller: Caller,
    pub org: OrgId,
    pub user: UserId,
}

routed! {
    ListMembers => Org(org);
    ChangeMemberRole => Org(org);
    RemoveMember => Org(org);
}

impl OrgReader {
    fn member(&self, user: UserId) -> DomainResult<(User, Membership)> {
        let m = self
            .store()
            .membership(self.id(), user)?
            .ok_or(DomainError::NotFound("member"))?;
        let u = self
            .store()
            .user(user)?
            .ok_or(DomainError::NotFound("member"))?;
        Ok((u, m))
    }

    fn admin_count(&self) -> DomainResult<usize> {
        let mut n = 0;
        for m in self.store().scan::<Membership>(&keys::members(self.id())) {
            if m?.role.is_admin() {
                n += 1;
            }
        }
        Ok(n)
    }

    fn refuse_last_admin(&self, m: &Membership) -> DomainResult<()> {
        if m.role.is_admin() && self.admin_count()? <= 1 {
            return Err(DomainError::Conflict(Details::Text(
                "This is the organization's last admin; make another member admin first.".into(),
            )));
        }
        Ok(())
    }

    pub(super) fn member_event(&self, action: &'static str, u: &User) -> Event {
        self.event(action, "member", u.id.0)
            .detail("member_email", &u.email)
            .detail("member_username", &u.username)
    }
}

impl Handler<ListMembers> for OrgActor {
    type Result = DomainResult<Paged<MemberView>>;

    fn handle(&mut self, msg: ListMembers, _: &mut Self::Context) -> Self::Result {
        let r = self.read()?;
        r.role(&msg.caller, "organization")?;
        let prefix = keys::members(r.id());
        let count = r.store().count(&prefix)? as usize;
        let items = Window::page(msg.page)
            .apply(r.store().scan_keys(&prefix))
            .into_iter()
            .map(|k| {
                let (u, m) = r.member(UserId(store::id_from(&k?)?))?;
                Ok(MemberView::new(&u, &m))
            })
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<ChangeMemberRole> for OrgActor {
    type Result = Durable<MemberView>;

    fn handle(&mut self, msg: ChangeMemberRole, _: &mut Self::Context) -> Self::Result {
        let ChangeMemberRole {
            caller,
            user,
            change,
            ..
        } = msg;
        self.write(&caller, |tx| {
            tx.r.admin(&caller, "organization", "change roles")?;
            let (user, mut m) = tx.r.member(user)?;
            if m.role.is_admin() && !change.role.is_admin() {
                tx.r.refuse_last_admin(&m)?;
            }
            let old = m.role;
            m.role = change.role;
            tx.put(keys::member(tx.r.id(), user.id), &m)?;
            tx.put(keys::user_org(user.id, tx.r.id()), &m.role)?;
            let ev =
                tx.r.member_event("member_role_changed", &user)
                    .detail("old_role", old.as_str())
                    .detail("role", m.role.as_str());
            Ok((MemberView::new(&user, &m), ev))
        })
    }
}

impl Handler<RemoveMember> for OrgActor {
    type Result = Durable<()>;

    fn handle(&mut self, msg: RemoveMember, _: &mut Self::Context) -> Self::Result {
        let RemoveMember { caller, user, .. } = msg;
        self.write(&caller, |tx| {
            if user != caller.user {
                tx.r.admin(&caller, "organization", "remove other members")?;
            } else {
                tx.r.role(&caller, "organization")?;
            }
            let (user, m) = tx.r.member(user)?;
            tx.r.refuse_last_admin(&m)?;
            tx.del(keys::member(tx.r.id(), user.id));
            tx.del(keys::user_org(user.id, tx.r.id()));
            let ev =
                tx.r.member_event("member_removed", &user)
                    .detail("role", m.role.as_str());
            Ok(((), ev))
        })
    }
}

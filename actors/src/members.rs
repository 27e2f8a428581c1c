//! Membership of an organization, handled by the organization's own actor: every member can
//! list, admins add, change roles and remove, and anyone may leave. An organization always keeps
//! at least one admin.

use crate::audit::Event;
use crate::error::{DomainError, DomainResult};
use crate::input::NewMember;
use crate::model::*;
use crate::org::{OrgActor, Write};
use crate::page::{PageRequest, Paged, Window};
use crate::store::{self, keys, Changes};
use actix::prelude::*;

#[derive(Message)]
#[rtype(result = "DomainResult<Paged<MemberView>>")]
pub struct ListMembers {
    pub caller: Caller,
    pub page: PageRequest,
}

#[derive(Message)]
#[rtype(result = "DomainResult<MemberView>")]
pub struct AddMember {
    pub caller: Caller,
    pub input: NewMember,
}

#[derive(Message)]
#[rtype(result = "DomainResult<MemberView>")]
pub struct ChangeMemberRole {
    pub caller: Caller,
    pub user: UserId,
    pub role: Role,
}

#[derive(Message)]
#[rtype(result = "DomainResult<()>")]
pub struct RemoveMember {
    pub caller: Caller,
    pub user: UserId,
}

impl OrgActor {
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
            return Err(DomainError::Conflict(crate::error::Details::Text(
                "This is the organization's last admin; make another member admin first.".into(),
            )));
        }
        Ok(())
    }

    fn member_event(&self, action: &'static str, u: &User) -> Event {
        self.event(action, "member", u.id.0)
            .detail("member_email", &u.email)
            .detail("member_username", &u.username)
    }
}

impl Handler<ListMembers> for OrgActor {
    type Result = DomainResult<Paged<MemberView>>;

    fn handle(&mut self, msg: ListMembers, _: &mut Self::Context) -> Self::Result {
        self.role(&msg.caller, "organization")?;
        let prefix = keys::members(self.id());
        let count = self.store().count(&prefix)? as usize;
        let items = Window::page(msg.page)
            .apply(self.store().scan_keys(&prefix))
            .into_iter()
            .map(|k| {
                let (u, m) = self.member(UserId(store::id_from(&k?)?))?;
                Ok(MemberView::new(&u, &m))
            })
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<AddMember> for OrgActor {
    type Result = Write<MemberView>;

    fn handle(&mut self, msg: AddMember, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            // Admin first: a non-admin learns nothing about which emails have accounts.
            self.admin(&msg.caller, "organization", "add members")?;
            let id: UserId = self
                .store()
                .get(&keys::email(&msg.input.email.lower()))?
                .ok_or(DomainError::NotFound("account with this email"))?;
            let user = self
                .store()
                .user(id)?
                .ok_or(DomainError::NotFound("account with this email"))?;
            if self.store().membership(self.id(), id)?.is_some() {
                return Err(DomainError::conflict(
                    "email",
                    "This user is already a member.",
                ));
            }
            let m = Membership {
                role: msg.input.role,
                joined_at: Ts::now(),
            };
            let mut c = Changes::new();
            c.put(keys::member(self.id(), id), &m)?;
            c.put(keys::user_org(id, self.id()), &m.role)?;
            let ev = self
                .member_event("member_added", &user)
                .detail("role", m.role.as_str());
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, MemberView::new(&user, &m)))
        })();
        self.commit(change)
    }
}

impl Handler<ChangeMemberRole> for OrgActor {
    type Result = Write<MemberView>;

    fn handle(&mut self, msg: ChangeMemberRole, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            self.admin(&msg.caller, "organization", "change roles")?;
            let (user, mut m) = self.member(msg.user)?;
            if m.role.is_admin() && !msg.role.is_admin() {
                self.refuse_last_admin(&m)?;
            }
            let old = m.role;
            m.role = msg.role;
            let mut c = Changes::new();
            c.put(keys::member(self.id(), user.id), &m)?;
            c.put(keys::user_org(user.id, self.id()), &m.role)?;
            let ev = self
                .member_event("member_role_changed", &user)
                .detail("old_role", old.as_str())
                .detail("role", m.role.as_str());
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, MemberView::new(&user, &m)))
        })();
        self.commit(change)
    }
}

impl Handler<RemoveMember> for OrgActor {
    type Result = Write<()>;

    fn handle(&mut self, msg: RemoveMember, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            if msg.user != msg.caller.user {
                self.admin(&msg.caller, "organization", "remove other members")?;
            } else {
                self.role(&msg.caller, "organization")?;
            }
            let (user, m) = self.member(msg.user)?;
            self.refuse_last_admin(&m)?;
            let mut c = Changes::new();
            c.del(keys::member(self.id(), user.id));
            c.del(keys::user_org(user.id, self.id()));
            let ev = self
                .member_event("member_removed", &user)
                .detail("role", m.role.as_str());
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, ()))
        })();
        self.commit(change)
    }
}

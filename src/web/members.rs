//! An organization's members: roles, removing (or leaving), and the invitations its admins send
//! and revoke. Accepting is on the organizations page (`orgs.rs`).

use crate::http::error::ApiError;
use crate::http::AppState;
use crate::web::layout::{self, button, csrf, when, Crumb};
use crate::web::orgs::{org, org_crumbs, role_badge};
use crate::web::{all, done, page, Posted, WebResult, WebUser};
use actix_web::{web, HttpRequest};
use keynest_actors::input::{NewMember, RoleChange};
use keynest_actors::model::{InvitationId, OrgId, Role, UserId};
use keynest_actors::org::{
    ChangeMemberRole, InviteMember, ListInvitations, ListMembers, RemoveMember, RevokeInvitation,
};
use maud::{html, Markup};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page(
        web::resource("/orgs/{id}/members/")
            .route(web::get().to(list_members))
            .route(web::post().to(invite_member)),
    ))
    .service(page(
        web::resource("/orgs/{id}/members/{user}/role/").route(web::post().to(change_role)),
    ))
    .service(page(
        web::resource("/orgs/{id}/members/{user}/remove/").route(web::post().to(remove_member)),
    ))
    .service(page(
        web::resource("/orgs/{id}/invitations/{inv}/revoke/")
            .route(web::post().to(revoke_invitation)),
    ));
}

fn role_select(name: &str, current: Role) -> Markup {
    html! {
        select name=(name) aria-label="Role" {
            @for r in [Role::Viewer, Role::Editor, Role::Admin] {
                option value=(r.as_str()) selected[r == current] { (r.as_str()) }
            }
        }
    }
}

async fn list_members(
    state: web::Data<AppState>,
    user: WebUser,
    req: HttpRequest,
    id: web::Path<u64>,
) -> WebResult {
    let o = org(&state, &user, OrgId(*id)).await?;
    let members = all(|page| {
        state.kn.ask(ListMembers {
            caller: user.caller.clone(),
            org: o.id,
            page,
        })
    })
    .await?;
    let admin = o.user_role.is_admin();
    let invitations = if admin {
        all(|page| {
            state.kn.ask(ListInvitations {
                caller: user.caller.clone(),
                org: o.id,
                page,
            })
        })
        .await?
    } else {
        Vec::new()
    };
    let base = format!("/orgs/{}/", o.id.0);
    let body = html! {
        h1 { "Members of " (o.name) }
        div.table-wrap {
            table {
                thead { tr { th { "Name" } th { "Email" } th { "Role" } th { "Joined" } th {} } }
                tbody {
                    @for m in &members {
                        @let me = m.id == user.id();
                        tr {
                            td { (m.full_name) " " span.muted { "@" (m.username) } @if me { " " span.badge { "you" } } }
                            td { (m.email) }
                            td {
                                @if admin {
                                    form.inline method="post" action=(format!("{base}members/{}/role/", m.id.0)) {
                                        (csrf(&user))
                                        (role_select("role", m.role))
                                        button.secondary.small type="submit" { "Change" }
                                    }
                                } @else { (role_badge(m.role)) }
                            }
                            td { (when(&m.joined_at)) }
                            td.right {
                                @if me {
                                    (button(&user, &format!("{base}members/{}/remove/", m.id.0), "Leave", "danger small", Some("Leave this organization?")))
                                } @else if admin {
                                    (button(&user, &format!("{base}members/{}/remove/", m.id.0), "Remove", "danger small", Some("Remove this member?")))
                                }
                            }
                        }
                    }
                }
            }
        }
        @if admin {
            section.card {
                h2 { "Invite someone" }
                p.muted { "They join once they accept, from their own Organizations page." }
                form.row-form method="post" action=(format!("{base}members/")) {
                    (csrf(&user))
                    label { span { "Email" } input type="email" name="email" required; }
                    label { span { "Role" } (role_select("role", Role::Viewer)) }
                    label { span { "Valid for (days)" } input type="number" name="expires_in_days" min="0" max="30" step="any" value="7"; }
                    button.primary type="submit" { "Send invitation" }
                }
            }
            @if !invitations.is_empty() {
                h2 { "Invitations sent" }
                div.table-wrap {
                    table {
                        thead { tr { th { "Email" } th { "Role" } th { "Status" } th { "Expires" } th {} } }
                        tbody {
                            @for i in &invitations {
                                tr {
                                    td { (i.email) }
                                    td { (role_badge(i.role)) }
                                    td { (format!("{:?}", i.status).to_lowercase()) }
                                    td { (when(&i.expires_at)) }
                                    td.right { (button(&user, &format!("{base}invitations/{}/revoke/", i.id.0), "Revoke", "danger small", Some("Revoke this invitation?"))) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut crumbs = org_crumbs(&o);
    crumbs.push(Crumb("Members".into(), None));
    Ok(layout::render(&req, Some(&user), "Members", &crumbs, body))
}

async fn invite_member(state: web::Data<AppState>, form: Posted, id: web::Path<u64>) -> WebResult {
    let back = format!("/orgs/{}/members/", *id);
    let outcome = async {
        let input = NewMember::parse(&form.json())?;
        let msg = InviteMember {
            caller: form.user.caller.clone(),
            org: OrgId(*id),
            input,
        };
        let inv = state.kn.ask(msg).await?;
        Ok(format!("Invitation sent to {}.", inv.email))
    }
    .await;
    Ok(done(&back, outcome))
}

async fn change_role(
    state: web::Data<AppState>,
    form: Posted,
    path: web::Path<(u64, u64)>,
) -> WebResult {
    let (org, member) = path.into_inner();
    let outcome = async {
        let msg = ChangeMemberRole {
            caller: form.user.caller.clone(),
            org: OrgId(org),
            user: UserId(member),
            change: RoleChange::parse(&form.json())?,
        };
        let m = state.kn.ask(msg).await?;
        Ok(format!("{} is now {}.", m.username, m.role.as_str()))
    }
    .await;
    Ok(done(&format!("/orgs/{org}/members/"), outcome))
}

async fn remove_member(
    state: web::Data<AppState>,
    form: Posted,
    path: web::Path<(u64, u64)>,
) -> WebResult {
    let (org, member) = path.into_inner();
    let msg = RemoveMember {
        caller: form.user.caller.clone(),
        org: OrgId(org),
        user: UserId(member),
    };
    let outcome = state.kn.ask(msg).await.map_err(ApiError::from);
    if outcome.is_ok() && member == form.user.id().0 {
        return Ok(done("/orgs/", Ok("You left the organization.".into())));
    }
    Ok(done(
        &format!("/orgs/{org}/members/"),
        outcome.map(|_| "Member removed.".into()),
    ))
}

async fn revoke_invitation(
    state: web::Data<AppState>,
    form: Posted,
    path: web::Path<(u64, u64)>,
) -> WebResult {
    let (org, inv) = path.into_inner();
    let msg = RevokeInvitation {
        caller: form.user.caller.clone(),
        org: OrgId(org),
        id: InvitationId(inv),
    };
    let outcome = state.kn.ask(msg).await.map_err(ApiError::from);
    Ok(done(
        &format!("/orgs/{org}/members/"),
        outcome.map(|_| "Invitation revoked.".into()),
    ))
}

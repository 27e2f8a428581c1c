//! Organizations: the list (with invitations received), one organization's projects, renaming,
//! members and roles, invitations sent and received.

use crate::http::error::ApiError;
use crate::http::AppState;
use crate::web::layout::{self, button, csrf, when, Crumb};
use crate::web::{all, done, page, Posted, WebResult, WebUser};
use actix_web::{web, HttpRequest};
use keynest_actors::input::{NamePatch, NewMember, NewOrg, NewProject, RoleChange};
use keynest_actors::model::{InvitationId, OrgId, OrgView, Role, UserId};
use keynest_actors::org::{
    AcceptInvitation, ChangeMemberRole, CreateProject, DeclineInvitation, GetOrganization,
    InviteMember, ListInvitations, ListMembers, RemoveMember, RevokeInvitation, UpdateOrganization,
};
use maud::{html, Markup};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page(
        web::resource("/orgs/")
            .route(web::get().to(list_orgs))
            .route(web::post().to(create_org)),
    ))
    .service(page(
        web::resource("/orgs/{id}/").route(web::get().to(get_org)),
    ))
    .service(page(
        web::resource("/orgs/{id}/rename/").route(web::post().to(rename_org)),
    ))
    .service(page(
        web::resource("/orgs/{id}/projects/").route(web::post().to(create_project)),
    ))
    .service(page(
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
    ))
    .service(page(
        web::resource("/invitations/{id}/accept/").route(web::post().to(accept_invitation)),
    ))
    .service(page(
        web::resource("/invitations/{id}/decline/").route(web::post().to(decline_invitation)),
    ));
}

/// The organization as the caller sees it (404 for outsiders), for breadcrumbs and roles.
pub async fn org(state: &AppState, user: &WebUser, id: OrgId) -> Result<OrgView, ApiError> {
    let msg = GetOrganization {
        caller: user.caller.clone(),
        org: id,
    };
    Ok(state.kn.ask(msg).await?)
}

pub fn org_crumbs(o: &OrgView) -> Vec<Crumb> {
    vec![
        Crumb("Organizations".into(), Some("/orgs/".into())),
        Crumb(o.name.clone(), Some(format!("/orgs/{}/", o.id.0))),
    ]
}

fn role_badge(r: Role) -> Markup {
    html! { span class=(format!("badge role-{}", r.as_str())) { (r.as_str()) } }
}

async fn list_orgs(state: web::Data<AppState>, user: WebUser, req: HttpRequest) -> WebResult {
    let orgs = all(|p| state.kn.list_orgs(user.caller.clone(), p)).await?;
    let invitations = all(|p| state.kn.list_received_invitations(user.caller.clone(), p)).await?;
    let body = html! {
        h1 { "Organizations" }
        @if !invitations.is_empty() {
            section.card {
                h2 { "Invitations for you" }
                ul.plain {
                    @for i in &invitations {
                        li.row {
                            span { strong { (i.organization_name) } " — " (i.invited_by_name) " invites you as " (role_badge(i.role)) }
                            span.grow {}
                            (button(&user, &format!("/invitations/{}/accept/", i.id.0), "Accept", "primary small", None))
                            (button(&user, &format!("/invitations/{}/decline/", i.id.0), "Decline", "secondary small", Some("Decline this invitation?")))
                        }
                    }
                }
            }
        }
        div.table-wrap {
            table {
                thead { tr { th { "Name" } th { "Your role" } th.num { "Projects" } th.num { "Members" } } }
                tbody {
                    @for o in &orgs {
                        tr {
                            td { a href=(format!("/orgs/{}/", o.id.0)) { (o.name) } }
                            td { (role_badge(o.user_role)) }
                            td.num { (o.project_count) }
                            td.num { (o.member_count) }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "New organization" }
            form.row-form method="post" action="/orgs/" {
                (csrf(&user))
                label { span { "Name" } input name="name" required maxlength="100"; }
                label { span { "Description" } input name="description" maxlength="1000"; }
                button.primary type="submit" { "Create organization" }
            }
        }
    };
    Ok(layout::render(
        &req,
        Some(&user),
        "Organizations",
        &[Crumb("Organizations".into(), None)],
        body,
    ))
}

async fn create_org(state: web::Data<AppState>, form: Posted) -> WebResult {
    let outcome = async {
        let input = NewOrg::parse(&form.json())?;
        Ok::<_, ApiError>(state.kn.create_org(form.user.caller.clone(), input).await?)
    }
    .await;
    Ok(match outcome {
        Ok(o) => done(
            &format!("/orgs/{}/", o.id.0),
            Ok("Organization created.".into()),
        ),
        Err(e) => done("/orgs/", Err(e)),
    })
}

async fn get_org(
    state: web::Data<AppState>,
    user: WebUser,
    req: HttpRequest,
    id: web::Path<u64>,
) -> WebResult {
    let o = org(&state, &user, OrgId(*id)).await?;
    let projects = all(|p| {
        state
            .kn
            .list_projects(user.caller.clone(), Some(o.id), None, p)
    })
    .await?;
    let base = format!("/orgs/{}/", o.id.0);
    let body = html! {
        div.title-row {
            h1 { (o.name) }
            (role_badge(o.user_role))
            span.grow {}
            a.button.secondary href=(format!("{base}members/")) { "Members (" (o.member_count) ")" }
        }
        @if !o.description.is_empty() { p.muted { (o.description) } }
        h2 { "Projects" }
        @if projects.is_empty() { p.muted { "No projects yet." } }
        @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Project" } th { "Description" } th.num { "Environments" } th { "Created by" } } }
                    tbody {
                        @for p in &projects {
                            tr {
                                td { a href=(format!("/projects/{}/", p.id.0)) { (p.name) } }
                                td { (p.description) }
                                td.num { (p.environment_count) }
                                td { (p.created_by_name) }
                            }
                        }
                    }
                }
            }
        }
        @if o.user_role.can_write() {
            section.card {
                h2 { "New project" }
                form.row-form method="post" action=(format!("{base}projects/")) {
                    (csrf(&user))
                    label { span { "Name" } input name="name" required maxlength="100"; }
                    label { span { "Description" } input name="description" maxlength="1000"; }
                    button.primary type="submit" { "Create project" }
                }
            }
        }
        @if o.user_role.is_admin() {
            section.card {
                h2 { "Rename organization" }
                form.row-form method="post" action=(format!("{base}rename/")) {
                    (csrf(&user))
                    label { span { "Name" } input name="name" value=(o.name) required maxlength="100"; }
                    label { span { "Description" } input name="description" value=(o.description) maxlength="1000"; }
                    button.secondary type="submit" { "Save" }
                }
            }
        }
    };
    let mut crumbs = org_crumbs(&o);
    crumbs[1].1 = None;
    Ok(layout::render(&req, Some(&user), &o.name, &crumbs, body))
}

async fn rename_org(state: web::Data<AppState>, form: Posted, id: web::Path<u64>) -> WebResult {
    let back = format!("/orgs/{}/", *id);
    let outcome = async {
        let msg = UpdateOrganization {
            caller: form.user.caller.clone(),
            org: OrgId(*id),
            patch: NamePatch::parse(&form.json())?,
        };
        state.kn.ask(msg).await?;
        Ok("Organization saved.".to_string())
    }
    .await;
    Ok(done(&back, outcome))
}

async fn create_project(state: web::Data<AppState>, form: Posted, id: web::Path<u64>) -> WebResult {
    let back = format!("/orgs/{}/", *id);
    let outcome = async {
        let mut body = form.json();
        body.insert("organization".into(), (*id).into());
        let msg = CreateProject {
            caller: form.user.caller.clone(),
            input: NewProject::parse(&body)?,
        };
        Ok::<_, ApiError>(state.kn.ask(msg).await?)
    }
    .await;
    Ok(match outcome {
        Ok(p) => done(
            &format!("/projects/{}/", p.id.0),
            Ok("Project created.".into()),
        ),
        Err(e) => done(&back, Err(e)),
    })
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

async fn accept_invitation(
    state: web::Data<AppState>,
    form: Posted,
    id: web::Path<u64>,
) -> WebResult {
    let id = InvitationId(*id);
    let outcome = async {
        let org = state.kn.invitation_org(&form.user.caller, id)?;
        let msg = AcceptInvitation {
            caller: form.user.caller.clone(),
            org,
            id,
        };
        Ok::<_, ApiError>(state.kn.ask(msg).await?)
    }
    .await;
    Ok(match outcome {
        Ok(o) => done(
            &format!("/orgs/{}/", o.id.0),
            Ok(format!("You joined {}.", o.name)),
        ),
        Err(e) => done("/orgs/", Err(e)),
    })
}

async fn decline_invitation(
    state: web::Data<AppState>,
    form: Posted,
    id: web::Path<u64>,
) -> WebResult {
    let id = InvitationId(*id);
    let outcome = async {
        let org = state.kn.invitation_org(&form.user.caller, id)?;
        let msg = DeclineInvitation {
            caller: form.user.caller.clone(),
            org,
            id,
        };
        state.kn.ask(msg).await?;
        Ok("Invitation declined.".to_string())
    }
    .await;
    Ok(done("/orgs/", outcome))
}

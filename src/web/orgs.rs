//! Organizations: the list (with the invitations received, to accept or decline), one
//! organization's projects, renaming it, creating projects. Members are in `members.rs`.

use crate::http::error::ApiError;
use crate::http::AppState;
use crate::web::layout::{self, button, csrf, Crumb};
use crate::web::{all, done, page, Posted, WebResult, WebUser};
use actix_web::{web, HttpRequest};
use keynest_actors::input::{NamePatch, NewOrg, NewProject};
use keynest_actors::model::{InvitationId, OrgId, OrgView, Role};
use keynest_actors::org::{
    AcceptInvitation, CreateProject, DeclineInvitation, GetOrganization, UpdateOrganization,
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

pub fn role_badge(r: Role) -> Markup {
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

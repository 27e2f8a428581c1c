//! A project: its environments (create, and from there rename and delete), renaming and deleting
//! the project, and comparing two of its environments.

use crate::http::error::ApiError;
use crate::http::AppState;
use crate::web::layout::{self, button, csrf, when, Crumb};
use crate::web::orgs::{org, org_crumbs};
use crate::web::{all, done, page, Posted, WebResult, WebUser};
use actix_web::{web, HttpRequest};
use keynest_actors::input::{Comparison, NewEnvironment, ProjectPatch};
use keynest_actors::model::{EnvironmentType, OrgView, ProjectId, ProjectView};
use keynest_actors::org::{
    CompareEnvironments, CreateEnvironment, DeleteProject, GetProject, UpdateProject,
};
use maud::{html, Markup};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page(
        web::resource("/projects/{id}/").route(web::get().to(get_project)),
    ))
    .service(page(
        web::resource("/projects/{id}/rename/").route(web::post().to(rename_project)),
    ))
    .service(page(
        web::resource("/projects/{id}/delete/").route(web::post().to(delete_project)),
    ))
    .service(page(
        web::resource("/projects/{id}/environments/").route(web::post().to(create_environment)),
    ))
    .service(page(
        web::resource("/projects/{id}/compare/").route(web::get().to(compare_environments)),
    ));
}

pub const ENV_TYPES: [EnvironmentType; 4] = [
    EnvironmentType::Development,
    EnvironmentType::Staging,
    EnvironmentType::Production,
    EnvironmentType::Testing,
];

pub fn type_name(t: EnvironmentType) -> String {
    format!("{t:?}").to_lowercase()
}

pub fn type_select(current: EnvironmentType) -> Markup {
    html! {
        select name="environment_type" {
            @for t in ENV_TYPES {
                option value=(type_name(t)) selected[t == current] { (type_name(t)) }
            }
        }
    }
}

/// The project and its organization as the caller sees them.
pub async fn project(
    state: &AppState,
    user: &WebUser,
    id: ProjectId,
) -> Result<(ProjectView, OrgView), ApiError> {
    let msg = GetProject {
        caller: user.caller.clone(),
        id,
    };
    let p: ProjectView = state.kn.ask(msg).await?;
    let o = org(state, user, p.organization).await?;
    Ok((p, o))
}

pub fn project_crumbs(p: &ProjectView, o: &OrgView) -> Vec<Crumb> {
    let mut c = org_crumbs(o);
    c.push(Crumb(
        p.name.clone(),
        Some(format!("/projects/{}/", p.id.0)),
    ));
    c
}

async fn get_project(
    state: web::Data<AppState>,
    user: WebUser,
    req: HttpRequest,
    id: web::Path<u64>,
) -> WebResult {
    let (p, o) = project(&state, &user, ProjectId(*id)).await?;
    let envs = all(|page| {
        state
            .kn
            .list_environments(user.caller.clone(), Some(p.id), None, page)
    })
    .await?;
    let base = format!("/projects/{}/", p.id.0);
    let role = o.user_role;
    let body = html! {
        div.title-row {
            h1 { (p.name) }
            span.grow {}
            @if role.is_admin() {
                (button(&user, &format!("{base}delete/"), "Delete project", "danger",
                    Some("Delete this project with all its environments and variables?")))
            }
        }
        @if !p.description.is_empty() { p.muted { (p.description) } }
        h2 { "Environments" }
        @if envs.is_empty() { p.muted { "No environments yet." } }
        @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Environment" } th { "Type" } th.num { "Variables" } th { "Updated" } } }
                    tbody {
                        @for e in &envs {
                            tr {
                                td { a href=(format!("/envs/{}/", e.id.0)) { (e.name) } }
                                td { span class=(format!("badge env-{}", type_name(e.environment_type))) { (type_name(e.environment_type)) } }
                                td.num { (e.variable_count) }
                                td { (when(&e.updated_at)) }
                            }
                        }
                    }
                }
            }
        }
        @if envs.len() >= 2 && role.can_write() {
            section.card {
                h2 { "Compare two environments" }
                form.row-form method="get" action=(format!("{base}compare/")) {
                    label { span { "Source" }
                        select name="source" { @for e in &envs { option value=(e.id.0) { (e.name) } } } }
                    label { span { "Target" }
                        select name="target" { @for (i, e) in envs.iter().enumerate() { option value=(e.id.0) selected[i == 1] { (e.name) } } } }
                    button.secondary type="submit" { "Compare" }
                }
            }
        }
        @if role.can_write() {
            section.card {
                h2 { "New environment" }
                form.row-form method="post" action=(format!("{base}environments/")) {
                    (csrf(&user))
                    label { span { "Name" } input name="name" required maxlength="100"; }
                    label { span { "Type" } (type_select(EnvironmentType::Development)) }
                    label { span { "Description" } input name="description" maxlength="1000"; }
                    button.primary type="submit" { "Create environment" }
                }
            }
            section.card {
                h2 { "Rename project" }
                form.row-form method="post" action=(format!("{base}rename/")) {
                    (csrf(&user))
                    label { span { "Name" } input name="name" value=(p.name) required maxlength="100"; }
                    label { span { "Description" } input name="description" value=(p.description) maxlength="1000"; }
                    button.secondary type="submit" { "Save" }
                }
            }
        }
    };
    let mut crumbs = project_crumbs(&p, &o);
    if let Some(last) = crumbs.last_mut() {
        last.1 = None;
    }
    Ok(layout::render(&req, Some(&user), &p.name, &crumbs, body))
}

async fn rename_project(state: web::Data<AppState>, form: Posted, id: web::Path<u64>) -> WebResult {
    let back = format!("/projects/{}/", *id);
    let outcome = async {
        let msg = UpdateProject {
            caller: form.user.caller.clone(),
            id: ProjectId(*id),
            patch: ProjectPatch::parse(&form.json())?,
        };
        state.kn.ask(msg).await?;
        Ok("Project saved.".to_string())
    }
    .await;
    Ok(done(&back, outcome))
}

async fn delete_project(state: web::Data<AppState>, form: Posted, id: web::Path<u64>) -> WebResult {
    let outcome = async {
        let (p, _) = project(&state, &form.user, ProjectId(*id)).await?;
        let msg = DeleteProject {
            caller: form.user.caller.clone(),
            id: p.id,
        };
        state.kn.ask(msg).await?;
        Ok::<_, ApiError>(p)
    }
    .await;
    Ok(match outcome {
        Ok(p) => done(
            &format!("/orgs/{}/", p.organization.0),
            Ok(format!("Project {} deleted.", p.name)),
        ),
        Err(e) => done(&format!("/projects/{}/", *id), Err(e)),
    })
}

async fn create_environment(
    state: web::Data<AppState>,
    form: Posted,
    id: web::Path<u64>,
) -> WebResult {
    let outcome = async {
        let mut body = form.json();
        body.insert("project".into(), (*id).into());
        let msg = CreateEnvironment {
            caller: form.user.caller.clone(),
            input: NewEnvironment::parse(&body)?,
        };
        Ok::<_, ApiError>(state.kn.ask(msg).await?)
    }
    .await;
    Ok(match outcome {
        Ok(e) => done(
            &format!("/envs/{}/", e.id.0),
            Ok("Environment created.".into()),
        ),
        Err(e) => done(&format!("/projects/{}/", *id), Err(e)),
    })
}

async fn compare_environments(
    state: web::Data<AppState>,
    user: WebUser,
    req: HttpRequest,
    id: web::Path<u64>,
    q: web::Query<Vec<(String, String)>>,
) -> WebResult {
    let (p, o) = project(&state, &user, ProjectId(*id)).await?;
    let get = |n: &str| q.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let msg = CompareEnvironments {
        caller: user.caller.clone(),
        project: p.id,
        input: Comparison::parse(get("source"), get("target")).map_err(ApiError::from)?,
    };
    let c = state.kn.query(msg).await?;
    let list = |title: &str, keys: &[String], class: &str| {
        html! {
            section.card {
                h2 { (title) " " span.muted { "(" (keys.len()) ")" } }
                @if keys.is_empty() { p.muted { "None." } }
                @else { ul.keys { @for k in keys { li class=(class) { code { (k) } } } } }
            }
        }
    };
    let body = html! {
        h1 { "Compare " (c.source.name) " with " (c.target.name) }
        p.muted { "Keys only, and whether their values are equal; no value is shown." }
        div.grid {
            (list(&format!("Only in {}", c.source.name), &c.only_in_source, "only"))
            (list(&format!("Only in {}", c.target.name), &c.only_in_target, "only"))
            (list("Different values", &c.different, "diff"))
            (list("Same values", &c.same, "same"))
        }
    };
    let mut crumbs = project_crumbs(&p, &o);
    crumbs.push(Crumb("Compare".into(), None));
    Ok(layout::render(&req, Some(&user), "Compare", &crumbs, body))
}

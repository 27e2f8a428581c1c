//! An environment: its variables (values hidden; revealed one at a time by `vars::reveal`),
//! adding one, bulk edit, import and export, renaming and deleting the environment. Its service
//! tokens are in `tokens.rs`.

use crate::http::error::ApiError;
use crate::http::transfer::{self, Upload};
use crate::http::AppState;
use crate::web::layout::{self, button, csrf, pager, when, Crumb};
use crate::web::projects::{project, project_crumbs, type_name, type_select};
use crate::web::{done, page, page_number, secret, window, Checked, Posted, WebResult, WebUser};
use actix_web::{web, HttpRequest};
use keynest_actors::formats::Format;
use keynest_actors::input::{EnvironmentPatch, NewVariable};
use keynest_actors::model::{EnvId, EnvironmentView, OrgView, ProjectView};
use keynest_actors::org::{CreateVariable, DeleteEnvironment, GetEnvironment, UpdateEnvironment};
use keynest_actors::page::MAX_PAGE_SIZE;
use maud::html;
use zeroize::Zeroizing;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page(
        web::resource("/envs/{id}/").route(web::get().to(get_environment)),
    ))
    .service(page(
        web::resource("/envs/{id}/rename/").route(web::post().to(rename_environment)),
    ))
    .service(page(
        web::resource("/envs/{id}/delete/").route(web::post().to(delete_environment)),
    ))
    .service(page(
        web::resource("/envs/{id}/variables/").route(web::post().to(create_variable)),
    ))
    .service(page(
        web::resource("/envs/{id}/bulk/").route(web::post().to(bulk_edit)),
    ))
    .service(page(
        web::resource("/envs/{id}/import/").route(web::post().to(import_file)),
    ))
    .service(secret(
        web::resource("/envs/{id}/export/").route(web::get().to(export_file)),
    ));
}

/// Variables shown on one page of an environment.
const ENV_PAGE: usize = 500;

/// The environment, its project and organization, as the caller sees them.
pub async fn environment(
    state: &AppState,
    user: &WebUser,
    id: EnvId,
) -> Result<(EnvironmentView, ProjectView, OrgView), ApiError> {
    let msg = GetEnvironment {
        caller: user.caller.clone(),
        id,
    };
    let e: EnvironmentView = state.kn.ask(msg).await?;
    let (p, o) = project(state, user, e.project).await?;
    Ok((e, p, o))
}

pub fn env_crumbs(e: &EnvironmentView, p: &ProjectView, o: &OrgView) -> Vec<Crumb> {
    let mut c = project_crumbs(p, o);
    c.push(Crumb(e.name.clone(), Some(format!("/envs/{}/", e.id.0))));
    c
}

async fn get_environment(
    state: web::Data<AppState>,
    user: WebUser,
    req: HttpRequest,
    id: web::Path<u64>,
) -> WebResult {
    let (e, p, o) = environment(&state, &user, EnvId(*id)).await?;
    // Up to 500 variables a page (a default environment holds at most 10,000): each facade page
    // of 100 skips the ones before it, so one page of all 10,000 would read ~500,000 rows.
    let n = page_number(&req);
    let per = ENV_PAGE / MAX_PAGE_SIZE;
    let first = (n - 1).saturating_mul(per).saturating_add(1);
    let listed = window(
        |page| state.kn.list_variables(&user.caller, e.id, page),
        first,
        per,
    )
    .await?;
    let (total, vars) = (listed.count, listed.items);
    let base = format!("/envs/{}/", e.id.0);
    let role = o.user_role;
    let write = role.can_write();
    let body = html! {
        div.title-row {
            h1 { (e.name) }
            span class=(format!("badge env-{}", type_name(e.environment_type))) { (type_name(e.environment_type)) }
            span.grow {}
            @if write {
                div.menu {
                    a.button.secondary href=(format!("{base}export/?format=env")) download { "Export .env" }
                    a.button.secondary href=(format!("{base}export/?format=json")) download { "JSON" }
                    a.button.secondary href=(format!("{base}export/?format=yaml")) download { "YAML" }
                }
            }
            @if write { a.button.secondary href=(format!("{base}tokens/")) { "Service tokens" } }
        }
        @if !e.description.is_empty() { p.muted { (e.description) } }
        @if !write { p.notice { "You are a viewer here: you see the keys, not the values." } }
        div.toolbar {
            label.search {
                span.sr-only { "Search keys" }
                input #filter type="search" placeholder="Search keys…" autocomplete="off" aria-controls="vars";
            }
            span.muted #count { (vars.len()) " variables" @if total > vars.len() { " (of " (total) ": search filters this page)" } }
        }
        div.table-wrap {
            table #vars {
                thead { tr { th { "Key" } th { "Value" } th.num.wide { "Version" } th.wide { "Updated" } th {} } }
                tbody {
                    @for v in &vars {
                        tr data-key=(v.key.to_lowercase()) {
                            td.key { code { (v.key) } }
                            td.value {
                                @if write {
                                    span.masked data-value { "••••••••" }
                                    " "
                                    button.small.secondary type="button" data-reveal=(format!("/vars/{}/reveal/", v.id.0)) aria-label=(format!("Reveal {}", v.key)) { "Reveal" }
                                    " "
                                    button.small.secondary type="button" data-copy=(format!("/vars/{}/reveal/", v.id.0)) aria-label=(format!("Copy {}", v.key)) { "Copy" }
                                } @else {
                                    span.muted { "hidden" }
                                }
                            }
                            td.num.wide { (v.version) }
                            td.wide { (when(&v.updated_at)) }
                            td.right {
                                a.button.small.secondary href=(format!("/vars/{}/", v.id.0)) { @if write { "Edit · history" } @else { "History" } }
                            }
                        }
                    }
                }
            }
        }
        @if vars.is_empty() { p.muted { "No variables yet." } }
        (pager(&base, n, ENV_PAGE, total))
        @if write {
            div.grid {
                section.card {
                    h2 { "Add a variable" }
                    form.stack method="post" action=(format!("{base}variables/")) {
                        (csrf(&user))
                        label { span { "Key" } input name="key" required pattern="[A-Za-z_][A-Za-z0-9_]*" maxlength="255" autocomplete="off" spellcheck="false"; }
                        label { span { "Value" } textarea name="value" rows="2" autocomplete="off" spellcheck="false" {} }
                        button.primary type="submit" { "Add variable" }
                    }
                }
                section.card {
                    h2 { "Bulk edit" }
                    p.muted { "One KEY=value per line (.env syntax). Every key is set at once; keys not listed are left alone." }
                    form.stack method="post" action=(format!("{base}bulk/")) {
                        (csrf(&user))
                        label { span.sr-only { "Variables" } textarea name="data" rows="4" placeholder="API_KEY=abc\nDEBUG=true" autocomplete="off" spellcheck="false" required {} }
                        button.primary type="submit" { "Save all" }
                    }
                }
                section.card {
                    h2 { "Import a file" }
                    p.muted { ".env, .json or .yaml; the name's extension picks the format." }
                    form.stack method="post" enctype="multipart/form-data" action=(format!("{base}import/?csrf={}", user.csrf_token())) {
                        label { span { "File" } input type="file" name="file" required; }
                        label.check { input type="checkbox" name="overwrite" value="false"; span { "Keep existing values (do not overwrite)" } }
                        button.primary type="submit" { "Import" }
                    }
                }
                section.card {
                    h2 { "Environment settings" }
                    form.stack method="post" action=(format!("{base}rename/")) {
                        (csrf(&user))
                        label { span { "Name" } input name="name" value=(e.name) required maxlength="100"; }
                        label { span { "Type" } (type_select(e.environment_type)) }
                        label { span { "Description" } input name="description" value=(e.description) maxlength="1000"; }
                        button.secondary type="submit" { "Save" }
                    }
                    @if role.is_admin() {
                        (button(&user, &format!("{base}delete/"), "Delete environment", "danger", Some("Delete this environment and all its variables?")))
                    }
                }
            }
        }
    };
    let mut crumbs = env_crumbs(&e, &p, &o);
    if let Some(last) = crumbs.last_mut() {
        last.1 = None;
    }
    Ok(layout::render(&req, Some(&user), &e.name, &crumbs, body))
}

async fn rename_environment(
    state: web::Data<AppState>,
    form: Posted,
    id: web::Path<u64>,
) -> WebResult {
    let outcome = async {
        let msg = UpdateEnvironment {
            caller: form.user.caller.clone(),
            id: EnvId(*id),
            patch: EnvironmentPatch::parse(&form.json())?,
        };
        state.kn.ask(msg).await?;
        Ok("Environment saved.".to_string())
    }
    .await;
    Ok(done(&format!("/envs/{}/", *id), outcome))
}

async fn delete_environment(
    state: web::Data<AppState>,
    form: Posted,
    id: web::Path<u64>,
) -> WebResult {
    let outcome = async {
        let (e, ..) = environment(&state, &form.user, EnvId(*id)).await?;
        let msg = DeleteEnvironment {
            caller: form.user.caller.clone(),
            id: e.id,
        };
        state.kn.ask(msg).await?;
        Ok::<_, ApiError>(e)
    }
    .await;
    Ok(match outcome {
        Ok(e) => done(
            &format!("/projects/{}/", e.project.0),
            Ok(format!("Environment {} deleted.", e.name)),
        ),
        Err(err) => done(&format!("/envs/{}/", *id), Err(err)),
    })
}

async fn create_variable(
    state: web::Data<AppState>,
    form: Posted,
    id: web::Path<u64>,
) -> WebResult {
    let outcome = async {
        let mut body = form.json();
        body.insert("environment".into(), (*id).into());
        let msg = CreateVariable {
            caller: form.user.caller.clone(),
            input: NewVariable::parse(&body)?,
        };
        let v = state.kn.ask(msg).await?;
        Ok(format!("{} added.", v.key))
    }
    .await;
    Ok(done(&format!("/envs/{}/", *id), outcome))
}

/// What an import or bulk edit did, as one line.
fn summary_line(
    outcome: Result<
        (
            keynest_actors::org::ImportSummary,
            Vec<keynest_actors::formats::Failure>,
        ),
        ApiError,
    >,
) -> Result<String, ApiError> {
    outcome.map(|(s, failures)| {
        let mut line = format!(
            "{} added, {} updated, {} left as they were, {} failed.",
            s.imported, s.updated, s.skipped, s.failed
        );
        for f in failures.iter().take(5) {
            let at = match (&f.line, &f.key) {
                (Some(l), _) => format!("line {l}"),
                (None, Some(k)) => k.clone(),
                _ => String::new(),
            };
            line.push_str(&format!(" {at}: {}", f.reason));
        }
        line
    })
}

async fn bulk_edit(state: web::Data<AppState>, form: Posted, id: web::Path<u64>) -> WebResult {
    let upload = Upload {
        data: Zeroizing::new(form.get("data").unwrap_or_default().as_bytes().to_vec()),
        format: Some(Format::Env),
        overwrite: true,
    };
    let outcome = transfer::import(&state, form.user.caller.clone(), EnvId(*id), upload).await;
    Ok(done(&format!("/envs/{}/", *id), summary_line(outcome)))
}

async fn import_file(
    state: web::Data<AppState>,
    Checked(user): Checked,
    req: HttpRequest,
    id: web::Path<u64>,
    payload: web::Payload,
) -> WebResult {
    let outcome = async {
        let upload = transfer::read_multipart(&req, payload).await?;
        transfer::import(&state, user.caller.clone(), EnvId(*id), upload).await
    }
    .await;
    Ok(done(&format!("/envs/{}/", *id), summary_line(outcome)))
}

async fn export_file(
    state: web::Data<AppState>,
    user: WebUser,
    id: web::Path<u64>,
    q: web::Query<Vec<(String, String)>>,
) -> WebResult {
    let format = match q
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.as_str())
    {
        None | Some("env") => Format::Env,
        Some("json") => Format::Json,
        Some("yaml") => Format::Yaml,
        Some(_) => return Err(ApiError::bad_request("Use format env, json or yaml.").into()),
    };
    Ok(transfer::export(&state, user.caller.clone(), EnvId(*id), format).await?)
}

//! One variable: its history with rollback, changing its value or key, deleting it, and
//! revealing its value (the only dashboard answer that carries a value: `reveal`, a POST with
//! the CSRF header, uncompressed, `no-store`, its body zeroized once sent).

use crate::http::error::{ApiError, ErrorCode};
use crate::http::secret_body::SecretBuf;
use crate::http::AppState;
use crate::web::envs::{env_crumbs, environment};
use crate::web::layout::{self, button, csrf, pager, when, Crumb};
use crate::web::{done, page, page_number, secret, Checked, Posted, WebResult, WebUser};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::input::{Rollback, VariablePatch};
use keynest_actors::model::{VarId, VariableView};
use keynest_actors::org::{DeleteVariable, ListVersions, RollbackVariable, UpdateVariable};
use keynest_actors::page::PageRequest;
use maud::html;
use serde_json::{Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page(
        web::resource("/vars/{id}/")
            .route(web::get().to(get_variable))
            .route(web::post().to(update_value)),
    ))
    .service(page(
        web::resource("/vars/{id}/rename/").route(web::post().to(rename_key)),
    ))
    .service(page(
        web::resource("/vars/{id}/delete/").route(web::post().to(delete_variable)),
    ))
    .service(page(
        web::resource("/vars/{id}/rollback/").route(web::post().to(rollback_variable)),
    ))
    .service(secret(
        web::resource("/vars/{id}/reveal/").route(web::post().to(reveal)),
    ));
}

const HISTORY_PAGE: usize = 20;

async fn variable(state: &AppState, user: &WebUser, id: VarId) -> Result<VariableView, ApiError> {
    Ok(state.kn.get_variable(&user.caller, id).await?)
}

async fn get_variable(
    state: web::Data<AppState>,
    user: WebUser,
    req: HttpRequest,
    id: web::Path<u64>,
) -> WebResult {
    let v = variable(&state, &user, VarId(*id)).await?;
    let (e, p, o) = environment(&state, &user, v.environment).await?;
    let n = page_number(&req);
    let versions = state
        .kn
        .query(ListVersions {
            caller: user.caller.clone(),
            var: v.id,
            page: PageRequest::new(n, HISTORY_PAGE).unwrap_or_default(),
        })
        .await?;
    let write = o.user_role.can_write();
    let base = format!("/vars/{}/", v.id.0);
    let body = html! {
        div.title-row {
            h1 { code { (v.key) } }
            span.badge { "version " (v.version) }
            span.grow {}
            @if write {
                (button(&user, &format!("{base}delete/"), "Delete", "danger", Some("Delete this variable and its history?")))
            }
        }
        @if write {
            div.grid {
                section.card {
                    h2 { "Value" }
                    p {
                        span.masked data-value { "••••••••" } " "
                        button.small.secondary type="button" data-reveal=(format!("{base}reveal/")) { "Reveal" } " "
                        button.small.secondary type="button" data-copy=(format!("{base}reveal/")) { "Copy" }
                    }
                    form.stack method="post" action=(base) {
                        (csrf(&user))
                        label { span { "New value" } textarea name="value" rows="3" autocomplete="off" spellcheck="false" {} }
                        button.primary type="submit" { "Save new version" }
                    }
                }
                section.card {
                    h2 { "Key" }
                    form.stack method="post" action=(format!("{base}rename/")) {
                        (csrf(&user))
                        label { span { "Key" } input name="key" value=(v.key) required pattern="[A-Za-z_][A-Za-z0-9_]*" maxlength="255" spellcheck="false"; }
                        button.secondary type="submit" { "Rename" }
                    }
                }
            }
        }
        h2 { "History" }
        div.table-wrap {
            table #history {
                thead { tr { th.num { "Version" } th { "Saved" } th { "By" } th {} } }
                tbody {
                    @for ver in &versions.items {
                        tr {
                            td.num { (ver.version) }
                            td { (when(&ver.created_at)) }
                            td { (ver.created_by_name) }
                            td.right {
                                @if ver.version == v.version { span.badge { "current" } }
                                @else if write {
                                    form.inline method="post" action=(format!("{base}rollback/")) data-confirm=(format!("Make version {}'s value current again?", ver.version)) {
                                        (csrf(&user))
                                        input type="hidden" name="version" value=(ver.version);
                                        button.secondary.small type="submit" { "Roll back to this" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (pager(&base, n, HISTORY_PAGE, versions.count))
    };
    let mut crumbs = env_crumbs(&e, &p, &o);
    crumbs.push(Crumb(v.key.clone(), None));
    Ok(layout::render(&req, Some(&user), &v.key, &crumbs, body))
}

async fn update_value(state: web::Data<AppState>, form: Posted, id: web::Path<u64>) -> WebResult {
    let mut body = Map::new();
    body.insert(
        "value".into(),
        Value::String(form.get("value").unwrap_or_default().to_string()),
    );
    patch(&state, &form, VarId(*id), body).await
}

async fn rename_key(state: web::Data<AppState>, form: Posted, id: web::Path<u64>) -> WebResult {
    let mut body = Map::new();
    body.insert(
        "key".into(),
        Value::String(form.get("key").unwrap_or_default().trim().to_string()),
    );
    patch(&state, &form, VarId(*id), body).await
}

async fn patch(state: &AppState, form: &Posted, id: VarId, body: Map<String, Value>) -> WebResult {
    let outcome = async {
        let msg = UpdateVariable {
            caller: form.user.caller.clone(),
            id,
            patch: VariablePatch::parse(&body)?,
        };
        let v = state.kn.ask(msg).await?;
        Ok(format!("{} saved as version {}.", v.key, v.version))
    }
    .await;
    Ok(done(&format!("/vars/{}/", id.0), outcome))
}

async fn delete_variable(
    state: web::Data<AppState>,
    form: Posted,
    id: web::Path<u64>,
) -> WebResult {
    let outcome = async {
        let v = variable(&state, &form.user, VarId(*id)).await?;
        state
            .kn
            .ask(DeleteVariable {
                caller: form.user.caller.clone(),
                id: v.id,
            })
            .await?;
        Ok::<_, ApiError>(v)
    }
    .await;
    Ok(match outcome {
        Ok(v) => done(
            &format!("/envs/{}/", v.environment.0),
            Ok(format!("{} deleted.", v.key)),
        ),
        Err(e) => done(&format!("/vars/{}/", *id), Err(e)),
    })
}

async fn rollback_variable(
    state: web::Data<AppState>,
    form: Posted,
    id: web::Path<u64>,
) -> WebResult {
    let outcome = async {
        let msg = RollbackVariable {
            caller: form.user.caller.clone(),
            var: VarId(*id),
            input: Rollback::parse(&form.json())?,
        };
        let v = state.kn.ask(msg).await?;
        Ok(format!("{} rolled back; now version {}.", v.key, v.version))
    }
    .await;
    Ok(done(&format!("/vars/{}/", *id), outcome))
}

/// The value as `text/plain`, for the page's Reveal and Copy buttons. A viewer is refused here
/// too (the facade gives viewers no value), not only by the missing button.
async fn reveal(
    state: web::Data<AppState>,
    Checked(user): Checked,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let v = variable(&state, &user, VarId(*id)).await?;
    let Some(value) = &v.decrypted_value else {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "Viewers cannot read values.",
        ));
    };
    let mut buf = SecretBuf::with_capacity(value.expose().len());
    buf.push(value.expose().as_bytes());
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(buf.into_bytes()))
}

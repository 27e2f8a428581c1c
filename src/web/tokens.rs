//! An environment's service tokens: create (the token is shown on the answer page only, once),
//! list, revoke.

use crate::http::error::ApiError;
use crate::http::AppState;
use crate::web::envs::{env_crumbs, environment};
use crate::web::layout::{self, button, csrf, when, Crumb};
use crate::web::{all, done, page, secret, Posted, WebError, WebResult, WebUser};
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::input::NewServiceToken;
use keynest_actors::model::{EnvId, ServiceTokenId};
use keynest_actors::org::service_tokens::{
    CreateServiceToken, ListServiceTokens, RevokeServiceToken,
};
use maud::html;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page(
        web::resource("/envs/{id}/tokens/").route(web::get().to(list_tokens)),
    ))
    .service(secret(
        web::resource("/envs/{id}/tokens/new/").route(web::post().to(create_token)),
    ))
    .service(page(
        web::resource("/envs/{id}/tokens/{token}/revoke/").route(web::post().to(revoke_token)),
    ));
}

async fn tokens_page(
    state: &AppState,
    user: &WebUser,
    req: &HttpRequest,
    id: EnvId,
    created: Option<(String, keynest_actors::model::SecretValue)>,
) -> WebResult {
    let (e, p, o) = environment(state, user, id).await?;
    let tokens = all(|page| {
        state.kn.ask(ListServiceTokens {
            caller: user.caller.clone(),
            env: e.id,
            page,
        })
    })
    .await?;
    let base = format!("/envs/{}/tokens/", e.id.0);
    let body = html! {
        h1 { "Service tokens of " (e.name) }
        p.muted { "A service token reads (or writes) this environment's variables only: give one to CI or a server instead of a login." }
        @if let Some((name, token)) = &created {
            section.card.created role="status" {
                h2 { "Token " (name) " created" }
                p { strong { "Copy it now: it is shown only this once." } }
                div.row {
                    code #new-token { (token.expose()) }
                    button.primary.small type="button" data-copy-from="new-token" { "Copy" }
                }
            }
        }
        div.table-wrap {
            table {
                thead { tr { th { "Name" } th { "Access" } th { "Created" } th { "Expires" } th { "Last used" } th {} } }
                tbody {
                    @for t in &tokens {
                        tr {
                            td { (t.name) }
                            td { (format!("{:?}", t.access).to_lowercase()) }
                            td { (when(&t.created_at)) " " span.muted { "by " (t.created_by_name) } }
                            td { (t.expires_at.as_deref().map_or("never".into(), when)) }
                            td { (t.last_used.as_deref().map_or("never".into(), when)) }
                            td.right { (button(user, &format!("{base}{}/revoke/", t.id.0), "Revoke", "danger small", Some("Revoke this token? Whatever uses it stops working."))) }
                        }
                    }
                }
            }
        }
        @if tokens.is_empty() { p.muted { "No service tokens." } }
        section.card {
            h2 { "New service token" }
            form.row-form method="post" action=(format!("{base}new/")) {
                (csrf(user))
                label { span { "Name" } input name="name" required maxlength="100"; }
                label { span { "Access" }
                    select name="access" { option value="read" { "read" } option value="read_write" { "read_write" } } }
                label { span { "Expires in (days)" } input name="expires_in_days" type="number" min="1" max="3650" value="90"; }
                button.primary type="submit" { "Create token" }
            }
        }
    };
    let mut crumbs = env_crumbs(&e, &p, &o);
    crumbs.push(Crumb("Service tokens".into(), None));
    Ok(layout::render(
        req,
        Some(user),
        "Service tokens",
        &crumbs,
        body,
    ))
}

async fn list_tokens(
    state: web::Data<AppState>,
    user: WebUser,
    req: HttpRequest,
    id: web::Path<u64>,
) -> WebResult {
    tokens_page(&state, &user, &req, EnvId(*id), None).await
}

/// Answers the tokens page itself (not a redirect), holding the new token: the only time it is
/// shown. The page is not compressed and not cached (`no-store`).
async fn create_token(
    state: web::Data<AppState>,
    form: Posted,
    req: HttpRequest,
    id: web::Path<u64>,
) -> WebResult {
    let env = EnvId(*id);
    let outcome = async {
        let msg = CreateServiceToken {
            caller: form.user.caller.clone(),
            env,
            input: NewServiceToken::parse(&form.json())?,
        };
        Ok::<_, ApiError>(state.kn.ask(msg).await?)
    }
    .await;
    match outcome {
        Ok(view) => {
            let token = view.token.ok_or_else(|| {
                WebError::from(ApiError::from(
                    keynest_actors::error::DomainError::Internal(
                        "a new service token without its token".into(),
                    ),
                ))
            })?;
            tokens_page(&state, &form.user, &req, env, Some((view.name, token))).await
        }
        Err(e) => Ok(done(&format!("/envs/{}/tokens/", env.0), Err(e))),
    }
}

async fn revoke_token(
    state: web::Data<AppState>,
    form: Posted,
    path: web::Path<(u64, u64)>,
) -> WebResult<HttpResponse> {
    let (env, token) = path.into_inner();
    let msg = RevokeServiceToken {
        caller: form.user.caller.clone(),
        env: EnvId(env),
        id: ServiceTokenId(token),
    };
    let outcome = state.kn.ask(msg).await.map_err(ApiError::from);
    Ok(done(
        &format!("/envs/{env}/tokens/"),
        outcome.map(|_| "Token revoked.".into()),
    ))
}

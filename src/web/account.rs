//! Signing in and out, registering, and the signed-in user's sessions. Sign-in and registration
//! go through the API's own limits (`AuthAttempt` per address, `http::accounts::login` per
//! account) and make an ordinary login session, whose token the cookie carries.

use crate::http::accounts;
use crate::http::auth::AuthAttempt;
use crate::http::error::{ApiError, ApiResult};
use crate::http::AppState;
use crate::web::layout::{self, button, pager, when, Crumb};
use crate::web::{done, page, page_number, redirect, session, Posted, WebResult, WebUser};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::accounts::{ListSessions, Logout, LogoutAll, Register, RevokeSession, Session};
use keynest_actors::input::{Credentials, NewUser};
use keynest_actors::model::SessionId;
use keynest_actors::page::PageRequest;
use maud::{html, Markup};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page(web::resource("/").route(web::get().to(home))))
        .service(page(
            web::resource("/login/")
                .route(web::get().to(login_page))
                .route(web::post().to(login_form)),
        ))
        .service(page(
            web::resource("/register/")
                .route(web::get().to(register_page))
                .route(web::post().to(register_form)),
        ))
        .service(page(
            web::resource("/logout/").route(web::post().to(logout_form)),
        ))
        .service(page(
            web::resource("/sessions/").route(web::get().to(sessions_page)),
        ))
        .service(page(
            web::resource("/sessions/end-others/").route(web::post().to(end_other_sessions)),
        ))
        .service(page(
            web::resource("/sessions/end-all/").route(web::post().to(end_all_sessions)),
        ))
        .service(page(
            web::resource("/sessions/{id}/end/").route(web::post().to(end_session)),
        ));
}

async fn home(req: HttpRequest) -> HttpResponse {
    match session::identify(&req) {
        Some(_) => redirect("/orgs/"),
        None => redirect("/login/"),
    }
}

/// A form posted from another site (the browser says so in `Sec-Fetch-Site`, or an `Origin`
/// that is not ours): refused, so no page elsewhere can sign a visitor in to its own account.
fn cross_site(req: &HttpRequest) -> bool {
    let site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site") | Some("same-site")) {
        return true;
    }
    let origin = req.headers().get("origin").and_then(|v| v.to_str().ok());
    let host = req.headers().get("host").and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some("null"), _) => true,
        (Some(o), Some(h)) => o.split_once("://").map(|(_, rest)| rest) != Some(h),
        _ => false,
    }
}

fn field(label: &str, name: &str, kind: &str, auto: &str, value: &str) -> Markup {
    html! {
        label {
            span { (label) }
            input type=(kind) name=(name) autocomplete=(auto) value=(value) required;
        }
    }
}

fn login_markup(email: &str, error: Option<&str>) -> Markup {
    html! {
        section.narrow {
            h1 { "Sign in" }
            @if let Some(e) = error { div.flash.error role="alert" { (e) } }
            form.stack method="post" action="/login/" {
                (field("Email", "email", "email", "username", email))
                label { span { "Password" } input type="password" name="password" autocomplete="current-password" required; }
                button.primary type="submit" { "Sign in" }
            }
            p { "No account yet? " a href="/register/" { "Create one" } }
        }
    }
}

async fn login_page(req: HttpRequest) -> HttpResponse {
    if session::identify(&req).is_some() {
        return redirect("/orgs/");
    }
    layout::render(&req, None, "Sign in", &[], login_markup("", None))
}

fn with_status(mut res: HttpResponse, status: StatusCode) -> HttpResponse {
    *res.status_mut() = status;
    res
}

/// The form again with the refusal, under the refusal's status.
fn refused_page(req: &HttpRequest, title: &str, body: Markup, e: &ApiError) -> HttpResponse {
    with_status(layout::render(req, None, title, &[], body), e.code.status())
}

/// To the organizations, signed in as `s`. A session this browser still had is ended first:
/// signing in again (as anyone) leaves no second live session behind in the old cookie.
async fn signed_in(state: &AppState, req: &HttpRequest, s: &Session) -> HttpResponse {
    if let Some(old) = session::identify(req) {
        let msg = Logout {
            caller: old.caller,
            token: old.token,
        };
        if let Err(e) = state.kn.account(msg).await {
            log::warn!("could not end the session this browser signed in over: {e}");
        }
    }
    let mut res = redirect("/orgs/");
    let _ = res.add_cookie(&session::sign_in_cookie(s.token.as_str()));
    res
}

async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    attempt: Result<AuthAttempt, ApiError>,
    form: crate::web::Fields,
) -> HttpResponse {
    let map = crate::web::fields_json(&form);
    let email = map
        .get("email")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let outcome: ApiResult<Session> = async {
        if cross_site(&req) {
            return Err(ApiError::bad_request("Sign in from KeyNest's own page."));
        }
        let attempt = attempt?;
        accounts::login(&state, attempt, Credentials::parse(&map)?).await
    }
    .await;
    match outcome {
        Ok(s) => signed_in(&state, &req, &s).await,
        Err(e) => {
            let text = if e.code.status() == StatusCode::UNAUTHORIZED {
                "Wrong email or password.".to_string()
            } else {
                crate::web::message(&e.details)
            };
            refused_page(&req, "Sign in", login_markup(&email, Some(&text)), &e)
        }
    }
}

fn register_markup(form: &[(String, String)], error: Option<&str>) -> Markup {
    let get = |n: &str| {
        form.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    html! {
        section.narrow {
            h1 { "Create an account" }
            @if let Some(e) = error { div.flash.error role="alert" { (e) } }
            form.stack method="post" action="/register/" {
                (field("Username", "username", "text", "username", get("username")))
                (field("Email", "email", "email", "email", get("email")))
                (field("First name", "first_name", "text", "given-name", get("first_name")))
                label { span { "Last name (optional)" } input type="text" name="last_name" autocomplete="family-name" value=(get("last_name")); }
                label { span { "Password (8 characters or more)" } input type="password" name="password" autocomplete="new-password" minlength="8" required; }
                label { span { "Password again" } input type="password" name="confirm_password" autocomplete="new-password" minlength="8" required; }
                button.primary type="submit" { "Create account" }
            }
            p { "Already registered? " a href="/login/" { "Sign in" } }
        }
    }
}

async fn register_page(req: HttpRequest) -> HttpResponse {
    if session::identify(&req).is_some() {
        return redirect("/orgs/");
    }
    layout::render(
        &req,
        None,
        "Create an account",
        &[],
        register_markup(&[], None),
    )
}

async fn register_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    attempt: Result<AuthAttempt, ApiError>,
    form: crate::web::Fields,
) -> HttpResponse {
    let outcome: ApiResult<Session> = async {
        if cross_site(&req) {
            return Err(ApiError::bad_request("Register from KeyNest's own page."));
        }
        let attempt = attempt?;
        let input = NewUser::parse(&crate::web::fields_json(&form))?;
        let msg = Register {
            input,
            ip: attempt.ip,
        };
        Ok(state.kn.account(msg).await?)
    }
    .await;
    match outcome {
        Ok(s) => signed_in(&state, &req, &s).await,
        Err(e) => {
            // Never echo a password back into the page.
            let kept: Vec<(String, String)> = form
                .iter()
                .filter(|(k, _)| !k.contains("password"))
                .cloned()
                .collect();
            let text = crate::web::message(&e.details);
            refused_page(
                &req,
                "Create an account",
                register_markup(&kept, Some(&text)),
                &e,
            )
        }
    }
}

async fn logout_form(state: web::Data<AppState>, form: Posted) -> WebResult {
    let msg = Logout {
        caller: form.user.caller.clone(),
        token: form.user.token,
    };
    state.kn.account(msg).await?;
    let mut res = redirect("/login/");
    let _ = res.add_cookie(&session::sign_out_cookie());
    Ok(res)
}

async fn sessions_page(state: web::Data<AppState>, user: WebUser, req: HttpRequest) -> WebResult {
    let n = page_number(&req);
    let page = PageRequest::new(n, 20).unwrap_or_default();
    let msg = ListSessions {
        caller: user.caller.clone(),
        page,
    };
    let sessions = state.kn.account(msg).await?;
    let body = html! {
        h1 { "Your sessions" }
        p.muted { "Every sign-in, from the dashboard, the CLI or the API, is a session. End the ones you do not recognise." }
        div.actions {
            (button(&user, "/sessions/end-others/", "Sign out everywhere else", "secondary", Some("End every other session?")))
            (button(&user, "/sessions/end-all/", "Sign out everywhere", "danger", Some("End every session, this one included?")))
        }
        div.table-wrap {
            table {
                thead { tr { th { "Session" } th { "Started" } th { "From" } th { "Last used" } th { "From" } th {} } }
                tbody {
                    @for s in &sessions.items {
                        tr {
                            td { "#" (s.id.0) @if s.current { " " span.badge { "this browser" } } }
                            td { (when(&s.created_at)) }
                            td { (s.created_ip.as_deref().unwrap_or("unknown")) }
                            td { (when(&s.last_used_at)) }
                            td { (s.last_used_ip.as_deref().unwrap_or("unknown")) }
                            td.right {
                                (button(&user, &format!("/sessions/{}/end/", s.id.0), "Sign out", "danger small",
                                    s.current.then_some("Sign out of this browser?")))
                            }
                        }
                    }
                }
            }
        }
        (pager("/sessions/", n, 20, sessions.count))
    };
    Ok(layout::render(
        &req,
        Some(&user),
        "Sessions",
        &[Crumb("Sessions".into(), None)],
        body,
    ))
}

async fn end_session(state: web::Data<AppState>, form: Posted, id: web::Path<u64>) -> WebResult {
    let msg = RevokeSession {
        caller: form.user.caller.clone(),
        id: SessionId(*id),
    };
    let outcome = state.kn.account(msg).await.map_err(ApiError::from);
    // Ending this browser's own session: the redirect finds it signed out (to /login/).
    Ok(done("/sessions/", outcome.map(|_| "Session ended.".into())))
}

async fn end_other_sessions(state: web::Data<AppState>, form: Posted) -> WebResult {
    let msg = LogoutAll {
        caller: form.user.caller.clone(),
        keep_current: true,
    };
    let outcome = state.kn.account(msg).await.map_err(ApiError::from);
    Ok(done(
        "/sessions/",
        outcome.map(|n| format!("Signed out of {n} other sessions.")),
    ))
}

async fn end_all_sessions(state: web::Data<AppState>, form: Posted) -> WebResult {
    let msg = LogoutAll {
        caller: form.user.caller.clone(),
        keep_current: false,
    };
    state.kn.account(msg).await?;
    let mut res = done("/login/", Ok("Signed out everywhere.".into()));
    let _ = res.add_cookie(&session::sign_out_cookie());
    Ok(res)
}

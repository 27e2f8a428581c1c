//! `/api/auth/`: register, login, logout, profile, and the caller's login sessions: list them,
//! revoke one, log out of all of them.

use crate::http::auth::{AuthAttempt, Authenticated};
use crate::http::error::ApiResult;
use crate::http::error::{ApiError, ErrorBody, ErrorCode};
use crate::http::openapi::bodies::{LoginBody, LogoutAllBody, PageParams, RegisterBody};
use crate::http::openapi::routes::routes;
use crate::http::pagination::PageBody;
use crate::http::pagination::{render, ListQuery};
use crate::http::ratelimit::{now_micros, Key};
use crate::http::{AppState, JsonObject};
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::accounts::{
    ListSessions, Login, Logout, LogoutAll, Register, RevokeSession, Session,
};
use keynest_actors::error::DomainError;
use keynest_actors::input::{Credentials, NewUser};
use keynest_actors::model::{OrgId, ProfileView, SessionId, SessionView, UserView};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![register_user])
        .service(routes![login_user])
        .service(routes![logout_user])
        .service(routes![logout_all])
        .service(routes![get_profile])
        .service(routes![list_sessions])
        .service(routes![revoke_session]);
}

/// The answer to registering: the login token, the account and its personal organization.
#[derive(Serialize, ToSchema)]
pub struct Registered<'a> {
    message: &'static str,
    /// The login token: `Authorization: Token <token>`.
    token: &'a str,
    user: RegisteredUser,
    #[schema(required = true)]
    organization: Option<OrgRef>,
}

#[derive(Serialize, ToSchema)]
pub struct RegisteredUser {
    #[serde(flatten)]
    user: UserView,
    date_joined: String,
}

#[derive(Serialize, ToSchema)]
pub struct OrgRef {
    id: OrgId,
    name: String,
}

/// The answer to a login: a new session's token.
#[derive(Serialize, ToSchema)]
pub struct LoggedIn<'a> {
    token: &'a str,
    user: UserView,
}

#[derive(Serialize, ToSchema)]
pub struct Message {
    message: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct LoggedOutAll {
    message: &'static str,
    /// How many sessions were ended.
    revoked: usize,
}

#[utoipa::path(
    post,
    path = "/api/auth/register/",
    tag = "auth",
    security(()),
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered and logged in", body = Registered),
        (status = 409, description = "`conflict`: the email is taken", body = ErrorBody),
    )
)]
async fn register_user(
    state: web::Data<AppState>,
    attempt: AuthAttempt,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let input = NewUser::parse(&body)?;
    let msg = Register {
        input,
        ip: attempt.ip,
    };
    let s: Session = state.kn.account(msg).await?;
    Ok(HttpResponse::Created().json(Registered {
        message: "User registered successfully",
        token: s.token.as_str(),
        user: RegisteredUser {
            user: UserView::from(&s.user),
            date_joined: s.user.date_joined.rfc3339(),
        },
        organization: s.organization.map(|o| OrgRef {
            id: o.id,
            name: o.name,
        }),
    }))
}

#[utoipa::path(
    post,
    path = "/api/auth/login/",
    tag = "auth",
    security(()),
    request_body = LoginBody,
    responses(
        (status = 200, description = "A new session", body = LoggedIn),
        (status = 401, description = "`not_authenticated`: wrong email or password", body = ErrorBody),
    )
)]
async fn login_user(
    state: web::Data<AppState>,
    attempt: AuthAttempt,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let s = login(&state, attempt, Credentials::parse(&body)?).await?;
    Ok(HttpResponse::Ok().json(LoggedIn {
        token: s.token.as_str(),
        user: UserView::from(&s.user),
    }))
}

/// A login that passed its address's limit (`AuthAttempt`): refused while its account has
/// failed too often, and a failure counted against that account. The API and the dashboard both
/// sign in through here, so the same limits hold for both.
pub async fn login(
    state: &AppState,
    attempt: AuthAttempt,
    input: Credentials,
) -> ApiResult<Session> {
    let account = Key::account(&input.email);
    if let Some(limiter) = &state.limiter {
        if !limiter.login_allowed(account, now_micros()) {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "Too many failed logins for this account. Try again later.",
            ));
        }
    }
    let msg = Login {
        input,
        ip: attempt.ip,
    };
    match state.kn.account(msg).await {
        Ok(s) => Ok(s),
        Err(e) => {
            if let DomainError::Unauthorized(_) = &e {
                // Counted here, not by route, so the dashboard's failures are counted too.
                crate::http::metrics::failed_login();
                if let Some(limiter) = &state.limiter {
                    limiter.login_failed(account, now_micros());
                }
            }
            Err(e.into())
        }
    }
}

/// Ends the session that calls it, and no other.
#[utoipa::path(
    post,
    path = "/api/auth/logout/",
    tag = "auth",
    responses((status = 200, description = "This session is ended", body = Message))
)]
async fn logout_user(state: web::Data<AppState>, auth: Authenticated) -> ApiResult<HttpResponse> {
    let msg = Logout {
        caller: auth.caller,
        token: auth.token,
    };
    state.kn.account(msg).await?;
    Ok(HttpResponse::Ok().json(Message {
        message: "Successfully logged out",
    }))
}

/// Ends every session of the caller, this one included, unless the body says
/// `{"keep_current": true}`. The body is optional; one that is there must be a JSON object.
#[utoipa::path(
    post,
    path = "/api/auth/logout-all/",
    tag = "auth",
    request_body(content = Option<LogoutAllBody>, description = "Optional"),
    responses((status = 200, description = "The sessions are ended", body = LoggedOutAll))
)]
async fn logout_all(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let keep_current = keep_current(&body)?;
    let msg = LogoutAll {
        caller: auth.caller,
        keep_current,
    };
    let revoked = state.kn.account(msg).await?;
    let message = if keep_current {
        "Logged out of every other session"
    } else {
        "Logged out of every session"
    };
    Ok(HttpResponse::Ok().json(LoggedOutAll { message, revoked }))
}

fn keep_current(body: &[u8]) -> ApiResult<bool> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let map: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("The body must be a JSON object."))?;
    match map.get("keep_current") {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(DomainError::invalid("keep_current", "Must be true or false.").into()),
    }
}

/// The caller's login sessions, newest first.
#[utoipa::path(
    get,
    path = "/api/auth/sessions/",
    tag = "auth",
    params(PageParams),
    responses((status = 200, description = "A page of sessions", body = PageBody<SessionView>))
)]
async fn list_sessions(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (_, page) = ListQuery::with_page(&req)?;
    let msg = ListSessions {
        caller: auth.caller,
        page,
    };
    render(&req, page, state.kn.account(msg).await?)
}

/// Ends one of the caller's sessions (another user's id is 404).
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{id}/",
    tag = "auth",
    responses((status = 204, description = "The session is ended"))
)]
async fn revoke_session(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    let msg = RevokeSession {
        caller: auth.caller,
        id: SessionId(*id),
    };
    state.kn.account(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/auth/profile/",
    tag = "auth",
    responses((status = 200, description = "The caller's account", body = ProfileView))
)]
async fn get_profile(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> ApiResult<web::Json<ProfileView>> {
    Ok(web::Json(state.kn.profile(auth.user())?))
}

//! `/api/auth/`: register, login, logout, profile, and the caller's login sessions: list them,
//! revoke one, log out of all of them.

use crate::http::auth::{AuthAttempt, Authenticated};
use crate::http::error::ApiResult;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::pagination::{render, ListQuery};
use crate::http::ratelimit::{now_micros, Key};
use crate::http::{AppState, JsonObject};
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::accounts::{
    ListSessions, Login, Logout, LogoutAll, Register, RevokeSession, Session,
};
use keynest_actors::error::DomainError;
use keynest_actors::input::{Credentials, NewUser};
use keynest_actors::model::{ProfileView, SessionId, UserView};
use serde_json::{json, Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/auth/register/", web::post().to(register_user))
        .route("/api/auth/login/", web::post().to(login_user))
        .route("/api/auth/logout/", web::post().to(logout_user))
        .route("/api/auth/logout-all/", web::post().to(logout_all))
        .route("/api/auth/profile/", web::get().to(get_profile))
        .service(web::resource("/api/auth/sessions/").route(web::get().to(list_sessions)))
        .service(web::resource("/api/auth/sessions/{id}/").route(web::delete().to(revoke_session)));
}

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
    let mut user = serde_json::to_value(UserView::from(&s.user)).unwrap_or_default();
    user["date_joined"] = json!(s.user.date_joined.rfc3339());
    let org = s.organization.map(|o| json!({"id": o.id, "name": o.name}));
    Ok(HttpResponse::Created().json(json!({
        "message": "User registered successfully",
        "token": s.token.as_str(),
        "user": user,
        "organization": org,
    })))
}

async fn login_user(
    state: web::Data<AppState>,
    attempt: AuthAttempt,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let s = login(&state, attempt, Credentials::parse(&body)?).await?;
    Ok(
        HttpResponse::Ok()
            .json(json!({"token": s.token.as_str(), "user": UserView::from(&s.user)})),
    )
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

async fn logout_user(state: web::Data<AppState>, auth: Authenticated) -> ApiResult<HttpResponse> {
    let msg = Logout {
        caller: auth.caller,
        token: auth.token,
    };
    state.kn.account(msg).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Successfully logged out"})))
}

/// Ends every session of the caller, this one included, unless the body says
/// `{"keep_current": true}`. The body is optional; one that is there must be a JSON object.
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
    Ok(HttpResponse::Ok().json(json!({"message": message, "revoked": revoked})))
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

async fn get_profile(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> ApiResult<web::Json<ProfileView>> {
    Ok(web::Json(state.kn.profile(auth.user())?))
}

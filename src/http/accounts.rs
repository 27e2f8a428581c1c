//! `/api/auth/`: register, login, logout, profile.

use crate::http::auth::{AuthAttempt, Authenticated};
use crate::http::error::ApiResult;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::ratelimit::{now_micros, Key};
use crate::http::{AppState, JsonObject};
use actix_web::{web, HttpResponse};
use keynest_actors::accounts::{Login, Logout, Register, Session};
use keynest_actors::error::DomainError;
use keynest_actors::input::{Credentials, NewUser};
use keynest_actors::model::{ProfileView, UserView};
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/auth/register/", web::post().to(register_user))
        .route("/api/auth/login/", web::post().to(login_user))
        .route("/api/auth/logout/", web::post().to(logout_user))
        .route("/api/auth/profile/", web::get().to(get_profile));
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
    let input = Credentials::parse(&body)?;
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
    let s: Session = match state.kn.account(msg).await {
        Ok(s) => s,
        Err(e) => {
            if let (Some(limiter), DomainError::Unauthorized(_)) = (&state.limiter, &e) {
                limiter.login_failed(account, now_micros());
            }
            return Err(e.into());
        }
    };
    Ok(
        HttpResponse::Ok()
            .json(json!({"token": s.token.as_str(), "user": UserView::from(&s.user)})),
    )
}

async fn logout_user(state: web::Data<AppState>, auth: Authenticated) -> ApiResult<HttpResponse> {
    let msg = Logout {
        caller: auth.caller,
        token: auth.token,
    };
    state.kn.account(msg).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Successfully logged out"})))
}

async fn get_profile(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> ApiResult<web::Json<ProfileView>> {
    Ok(web::Json(state.kn.profile(auth.user())?))
}

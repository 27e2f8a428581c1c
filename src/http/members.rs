//! `/api/organizations/{id}/members/`: list, invite (a `POST` makes an invitation, see
//! `invitations.rs`, never a membership), change role, remove (or leave).

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::pagination::{render, ListQuery};
use crate::http::{AppState, JsonObject};
use actix_web::{web, HttpRequest, HttpResponse};

use keynest_actors::input::{NewMember, RoleChange};
use keynest_actors::model::{MemberView, OrgId, UserId};
use keynest_actors::org::{ChangeMemberRole, InviteMember, ListMembers, RemoveMember};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/organizations/{id}/members/")
            .route(web::get().to(list_members))
            .route(web::post().to(invite_member)),
    )
    .service(
        web::resource("/api/organizations/{id}/members/{user_id}/")
            .route(web::patch().to(change_member_role))
            .route(web::delete().to(remove_member)),
    );
}

async fn list_members(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (_, page) = ListQuery::with_page(&req)?;
    let msg = ListMembers {
        caller: auth.caller,
        org: OrgId(*id),
        page,
    };
    render(&req, page, state.kn.ask(msg).await?)
}

/// 201 with the invitation, the same answer whether or not the email has an account.
async fn invite_member(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let msg = InviteMember {
        caller: auth.caller,
        org: OrgId(*id),
        input: NewMember::parse(&body)?,
    };
    Ok(HttpResponse::Created().json(state.kn.ask(msg).await?))
}

async fn change_member_role(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<(u64, u64)>,
    body: JsonObject,
) -> ApiResult<web::Json<MemberView>> {
    let (org, user) = path.into_inner();
    let msg = ChangeMemberRole {
        caller: auth.caller,
        org: OrgId(org),
        user: UserId(user),
        change: RoleChange::parse(&body)?,
    };
    Ok(web::Json(state.kn.ask(msg).await?))
}

async fn remove_member(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<(u64, u64)>,
) -> ApiResult<HttpResponse> {
    let (org, user) = path.into_inner();
    let msg = RemoveMember {
        caller: auth.caller,
        org: OrgId(org),
        user: UserId(user),
    };
    state.kn.ask(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

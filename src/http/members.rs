//! `/api/organizations/{id}/members/`: list, invite (a `POST` makes an invitation, see
//! `invitations.rs`, never a membership), change role, remove (or leave).

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::openapi::bodies::{InviteBody, PageParams, RoleChangeBody};
use crate::http::openapi::routes::routes;
use crate::http::pagination::PageBody;
use crate::http::pagination::{render, ListQuery};
use crate::http::{AppState, JsonObject};
use actix_web::{web, HttpRequest, HttpResponse};

use keynest_actors::input::{NewMember, RoleChange};
use keynest_actors::model::{InvitationView, MemberView, OrgId, UserId};
use keynest_actors::org::{ChangeMemberRole, InviteMember, ListMembers, RemoveMember};

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![list_members, invite_member])
        .service(routes![change_member_role, remove_member]);
}

#[utoipa::path(
    get,
    path = "/api/organizations/{id}/members/",
    tag = "members",
    params(PageParams),
    responses((status = 200, description = "A page of members", body = PageBody<MemberView>))
)]
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
/// Invites an email (admins); a membership is made when the invitee accepts.
#[utoipa::path(
    post,
    path = "/api/organizations/{id}/members/",
    tag = "members",
    request_body = InviteBody,
    responses((status = 201, description = "The invitation (the same whether or not the email has an account)", body = InvitationView))
)]
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

#[utoipa::path(
    patch,
    path = "/api/organizations/{id}/members/{user_id}/",
    tag = "members",
    request_body = RoleChangeBody,
    responses((status = 200, description = "The member with the new role", body = MemberView))
)]
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

/// Removes a member (admins), or leaves (your own id).
#[utoipa::path(
    delete,
    path = "/api/organizations/{id}/members/{user_id}/",
    tag = "members",
    responses((status = 204, description = "Removed (or left)"))
)]
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

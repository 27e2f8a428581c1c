//! Invitations: `/api/organizations/{id}/invitations/` (its admins list and revoke what the
//! organization sent) and `/api/invitations/` (the caller's own: list, accept, decline).
//! Inviting is `POST /api/organizations/{id}/members/` (`members.rs`).

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::openapi::bodies::PageParams;
use crate::http::openapi::routes::routes;
use crate::http::pagination::PageBody;
use crate::http::pagination::{render, ListQuery};
use crate::http::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

use keynest_actors::model::{InvitationId, InvitationView, OrgId, OrgView, ReceivedInvitationView};
use keynest_actors::org::{AcceptInvitation, DeclineInvitation, ListInvitations, RevokeInvitation};

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![list_invitations])
        .service(routes![revoke_invitation])
        .service(routes![list_received_invitations])
        .service(routes![accept_invitation])
        .service(routes![decline_invitation]);
}

/// The organization's pending and expired invitations (admins).
#[utoipa::path(
    get,
    path = "/api/organizations/{id}/invitations/",
    tag = "invitations",
    params(PageParams),
    responses((status = 200, description = "A page of the invitations the organization sent", body = PageBody<InvitationView>))
)]
async fn list_invitations(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (_, page) = ListQuery::with_page(&req)?;
    let msg = ListInvitations {
        caller: auth.caller,
        org: OrgId(*id),
        page,
    };
    render(&req, page, state.kn.ask(msg).await?)
}

#[utoipa::path(
    delete,
    path = "/api/organizations/{id}/invitations/{invitation_id}/",
    tag = "invitations",
    responses((status = 204, description = "Revoked"))
)]
async fn revoke_invitation(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<(u64, u64)>,
) -> ApiResult<HttpResponse> {
    let (org, id) = path.into_inner();
    let msg = RevokeInvitation {
        caller: auth.caller,
        org: OrgId(org),
        id: InvitationId(id),
    };
    state.kn.ask(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's pending invitations, from every organization.
#[utoipa::path(
    get,
    path = "/api/invitations/",
    tag = "invitations",
    params(PageParams),
    responses((status = 200, description = "A page of invitations", body = PageBody<ReceivedInvitationView>))
)]
async fn list_received_invitations(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (_, page) = ListQuery::with_page(&req)?;
    let items = state
        .kn
        .list_received_invitations(auth.caller, page)
        .await?;
    render(&req, page, items)
}

/// 200 with the organization just joined.
#[utoipa::path(
    post,
    path = "/api/invitations/{id}/accept/",
    tag = "invitations",
    responses((status = 200, description = "The organization just joined", body = OrgView))
)]
async fn accept_invitation(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<web::Json<OrgView>> {
    let id = InvitationId(*id);
    let org = state.kn.invitation_org(&auth.caller, id)?;
    let msg = AcceptInvitation {
        caller: auth.caller,
        org,
        id,
    };
    Ok(web::Json(state.kn.ask(msg).await?))
}

#[utoipa::path(
    post,
    path = "/api/invitations/{id}/decline/",
    tag = "invitations",
    responses((status = 204, description = "Declined"))
)]
async fn decline_invitation(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    let id = InvitationId(*id);
    let org = state.kn.invitation_org(&auth.caller, id)?;
    let msg = DeclineInvitation {
        caller: auth.caller,
        org,
        id,
    };
    state.kn.ask(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

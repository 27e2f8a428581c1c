//! Invitations: `/api/organizations/{id}/invitations/` (its admins list and revoke what the
//! organization sent) and `/api/invitations/` (the caller's own: list, accept, decline).
//! Inviting is `POST /api/organizations/{id}/members/` (`members.rs`).

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::pagination::{render, ListQuery};
use crate::http::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

use keynest_actors::model::{InvitationId, OrgId, OrgView};
use keynest_actors::org::{AcceptInvitation, DeclineInvitation, ListInvitations, RevokeInvitation};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/organizations/{id}/invitations/")
            .route(web::get().to(list_invitations)),
    )
    .service(
        web::resource("/api/organizations/{id}/invitations/{invitation_id}/")
            .route(web::delete().to(revoke_invitation)),
    )
    .service(web::resource("/api/invitations/").route(web::get().to(list_received_invitations)))
    .service(
        web::resource("/api/invitations/{id}/accept/").route(web::post().to(accept_invitation)),
    )
    .service(
        web::resource("/api/invitations/{id}/decline/").route(web::post().to(decline_invitation)),
    );
}

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

//! `/api/organizations/`: list, create, get, update, delete, and rotate an organization's data
//! key.

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::pagination::{render, ListQuery};
use crate::http::{AppState, JsonObject};
use actix_web::{web, HttpRequest, HttpResponse};

use keynest_actors::input::{NamePatch, NewOrg};
use keynest_actors::model::{OrgId, OrgView};
use keynest_actors::org::{GetOrganization, UpdateOrganization};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/organizations/")
            .route(web::get().to(list_organizations))
            .route(web::post().to(create_organization)),
    )
    .service(
        web::resource("/api/organizations/{id}/")
            .route(web::get().to(get_organization))
            .route(web::patch().to(update_organization))
            .route(web::delete().to(delete_organization)),
    )
    .service(
        web::resource("/api/organizations/{id}/rotate-key/")
            .route(web::post().to(rotate_organization_key)),
    );
}

async fn list_organizations(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (_, page) = ListQuery::with_page(&req)?;
    render(&req, page, state.kn.list_orgs(auth.caller, page).await?)
}

async fn create_organization(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let input = NewOrg::parse(&body)?;
    Ok(HttpResponse::Created().json(state.kn.create_org(auth.caller, input).await?))
}

async fn get_organization(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<web::Json<OrgView>> {
    let msg = GetOrganization {
        caller: auth.caller,
        org: OrgId(*id),
    };
    Ok(web::Json(state.kn.ask(msg).await?))
}

async fn update_organization(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    body: JsonObject,
) -> ApiResult<web::Json<OrgView>> {
    let msg = UpdateOrganization {
        caller: auth.caller,
        org: OrgId(*id),
        patch: NamePatch::parse(&body)?,
    };
    Ok(web::Json(state.kn.ask(msg).await?))
}

async fn delete_organization(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    state.kn.delete_org(auth.caller, OrgId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Starts the rotation and answers at once (202): the values are re-sealed in the background,
/// its progress shown under `key.rotation` of the organization.
async fn rotate_organization_key(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    let view = state.kn.rotate_org_key(auth.caller, OrgId(*id)).await?;
    Ok(HttpResponse::Accepted().json(view))
}

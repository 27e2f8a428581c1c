//! `/api/organizations/`: list, create, get, update, delete, and rotate an organization's data
//! key.

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::openapi::bodies::{NewOrgBody, OrgPatchBody, PageParams};
use crate::http::openapi::routes::routes;
use crate::http::pagination::PageBody;
use crate::http::pagination::{render, ListQuery};
use crate::http::{AppState, JsonObject};
use actix_web::{web, HttpRequest, HttpResponse};

use keynest_actors::input::{NamePatch, NewOrg};
use keynest_actors::model::{OrgId, OrgView};
use keynest_actors::org::{GetOrganization, UpdateOrganization};

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![list_organizations, create_organization])
        .service(routes![
            get_organization,
            update_organization,
            delete_organization
        ])
        .service(routes![rotate_organization_key]);
}

/// The caller's organizations.
#[utoipa::path(
    get,
    path = "/api/organizations/",
    tag = "organizations",
    params(PageParams),
    responses((status = 200, description = "A page of organizations", body = PageBody<OrgView>))
)]
async fn list_organizations(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (_, page) = ListQuery::with_page(&req)?;
    render(&req, page, state.kn.list_orgs(auth.caller, page).await?)
}

/// A new organization, with the caller as its admin.
#[utoipa::path(
    post,
    path = "/api/organizations/",
    tag = "organizations",
    request_body = NewOrgBody,
    responses((status = 201, description = "Created", body = OrgView))
)]
async fn create_organization(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let input = NewOrg::parse(&body)?;
    Ok(HttpResponse::Created().json(state.kn.create_org(auth.caller, input).await?))
}

#[utoipa::path(
    get,
    path = "/api/organizations/{id}/",
    tag = "organizations",
    responses((status = 200, description = "The organization", body = OrgView))
)]
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

/// Renames or describes it (admins).
#[utoipa::path(
    patch,
    path = "/api/organizations/{id}/",
    tag = "organizations",
    request_body = OrgPatchBody,
    responses((status = 200, description = "Updated", body = OrgView))
)]
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

/// Deletes it and everything in it (admins).
#[utoipa::path(
    delete,
    path = "/api/organizations/{id}/",
    tag = "organizations",
    responses((status = 204, description = "Deleted"))
)]
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
#[utoipa::path(
    post,
    path = "/api/organizations/{id}/rotate-key/",
    tag = "organizations",
    responses((status = 202, description = "The rotation started; progress in `key.rotation`",
        body = OrgView))
)]
async fn rotate_organization_key(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    let view = state.kn.rotate_org_key(auth.caller, OrgId(*id)).await?;
    Ok(HttpResponse::Accepted().json(view))
}

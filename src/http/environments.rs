//! `/api/environments/`: list (filtered by project and type), create, get, update, delete.

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::openapi::bodies::{
    EnvironmentFilter, EnvironmentPatchBody, NewEnvironmentBody, PageParams,
};
use crate::http::openapi::routes::routes;
use crate::http::pagination::PageBody;
use crate::http::pagination::{render, ListQuery};
use crate::http::{check, AppState, JsonObject};
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::error::FieldErrors;
use keynest_actors::input::{EnvironmentPatch, NewEnvironment};
use keynest_actors::model::{EnvId, EnvironmentType, EnvironmentView, ProjectId};
use keynest_actors::org::{
    CreateEnvironment, DeleteEnvironment, GetEnvironment, UpdateEnvironment,
};

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![list_environments, create_environment])
        .service(routes![
            get_environment,
            update_environment,
            delete_environment
        ]);
}

/// The environments list, for `/api/environments/` and `/api/projects/{id}/environments/`.
pub async fn list(
    state: &AppState,
    auth: Authenticated,
    req: &HttpRequest,
    project: Option<ProjectId>,
) -> ApiResult<HttpResponse> {
    let q = ListQuery::from_request(req)?;
    let mut errors = FieldErrors::default();
    let project = project.or(q.id("project", &mut errors).map(ProjectId));
    let env_type = q.get("environment_type").and_then(|t| {
        EnvironmentType::parse(t)
            .ok_or(())
            .map_err(|_| {
                errors.add(
                    "environment_type",
                    format!("Must be one of {}.", EnvironmentType::ALL),
                )
            })
            .ok()
    });
    let page = q.page(&mut errors);
    check(errors)?;
    let page = page.unwrap_or_default();
    let envs = state
        .kn
        .list_environments(auth.caller, project, env_type, page)
        .await?;
    render(req, page, envs)
}

#[utoipa::path(
    get,
    path = "/api/environments/",
    tag = "environments",
    params(EnvironmentFilter, PageParams),
    responses((status = 200, description = "A page of environments", body = PageBody<EnvironmentView>))
)]
async fn list_environments(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    list(&state, auth, &req, None).await
}

#[utoipa::path(
    post,
    path = "/api/environments/",
    tag = "environments",
    request_body = NewEnvironmentBody,
    responses((status = 201, description = "Created", body = EnvironmentView))
)]
async fn create_environment(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let input = NewEnvironment::parse(&body)?;
    let msg = CreateEnvironment {
        caller: auth.caller,
        input,
    };
    Ok(HttpResponse::Created().json(state.kn.ask(msg).await?))
}

#[utoipa::path(
    get,
    path = "/api/environments/{id}/",
    tag = "environments",
    responses((status = 200, description = "The environment", body = EnvironmentView))
)]
async fn get_environment(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<web::Json<EnvironmentView>> {
    let id = EnvId(*id);
    let msg = GetEnvironment {
        caller: auth.caller,
        id,
    };
    Ok(web::Json(state.kn.ask(msg).await?))
}

#[utoipa::path(
    patch,
    path = "/api/environments/{id}/",
    tag = "environments",
    request_body = EnvironmentPatchBody,
    responses((status = 200, description = "Updated", body = EnvironmentView))
)]
async fn update_environment(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    body: JsonObject,
) -> ApiResult<web::Json<EnvironmentView>> {
    let id = EnvId(*id);
    let msg = UpdateEnvironment {
        caller: auth.caller,
        id,
        patch: EnvironmentPatch::parse(&body)?,
    };
    Ok(web::Json(state.kn.ask(msg).await?))
}

#[utoipa::path(
    delete,
    path = "/api/environments/{id}/",
    tag = "environments",
    responses((status = 204, description = "Deleted, with its variables"))
)]
async fn delete_environment(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    let id = EnvId(*id);
    let msg = DeleteEnvironment {
        caller: auth.caller,
        id,
    };
    state.kn.ask(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

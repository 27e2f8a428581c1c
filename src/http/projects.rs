//! `/api/projects/`: list (across organizations, or filtered), create, get, update, delete, and
//! a project's environments.

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::openapi::bodies::{
    CompareParams, EnvironmentFilter, NewProjectBody, PageParams, ProjectFilter, ProjectPatchBody,
};
use crate::http::openapi::routes::routes;
use crate::http::pagination::PageBody;
use crate::http::pagination::{render, ListQuery};
use crate::http::{check, environments, AppState, JsonObject};
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::error::FieldErrors;
use keynest_actors::input::{Comparison, NewProject, ProjectPatch};
use keynest_actors::model::{CompareView, EnvironmentView, OrgId, ProjectId, ProjectView};
use keynest_actors::org::CompareEnvironments;
use keynest_actors::org::{CreateProject, DeleteProject, GetProject, UpdateProject};

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![list_projects, create_project])
        .service(routes![get_project, update_project, delete_project])
        .service(routes![list_project_environments])
        .service(routes![compare_environments]);
}

#[utoipa::path(
    get,
    path = "/api/projects/",
    tag = "projects",
    params(ProjectFilter, PageParams),
    responses((status = 200, description = "A page of projects, across the caller's organizations", body = PageBody<ProjectView>))
)]
async fn list_projects(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let q = ListQuery::from_request(&req)?;
    let mut errors = FieldErrors::default();
    let org = q.id("organization", &mut errors).map(OrgId);
    let page = q.page(&mut errors);
    check(errors)?;
    let page = page.unwrap_or_default();
    let search = q.get("search").map(str::to_string);
    render(
        &req,
        page,
        state
            .kn
            .list_projects(auth.caller, org, search, page)
            .await?,
    )
}

#[utoipa::path(
    post,
    path = "/api/projects/",
    tag = "projects",
    request_body = NewProjectBody,
    responses((status = 201, description = "Created", body = ProjectView))
)]
async fn create_project(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let msg = CreateProject {
        caller: auth.caller,
        input: NewProject::parse(&body)?,
    };
    Ok(HttpResponse::Created().json(state.kn.ask(msg).await?))
}

#[utoipa::path(
    get,
    path = "/api/projects/{id}/",
    tag = "projects",
    responses((status = 200, description = "The project", body = ProjectView))
)]
async fn get_project(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<web::Json<ProjectView>> {
    let id = ProjectId(*id);
    let msg = GetProject {
        caller: auth.caller,
        id,
    };
    Ok(web::Json(state.kn.ask(msg).await?))
}

#[utoipa::path(
    patch,
    path = "/api/projects/{id}/",
    tag = "projects",
    request_body = ProjectPatchBody,
    responses((status = 200, description = "Updated", body = ProjectView))
)]
async fn update_project(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    body: JsonObject,
) -> ApiResult<web::Json<ProjectView>> {
    let id = ProjectId(*id);
    let msg = UpdateProject {
        caller: auth.caller,
        id,
        patch: ProjectPatch::parse(&body)?,
    };
    Ok(web::Json(state.kn.ask(msg).await?))
}

#[utoipa::path(
    delete,
    path = "/api/projects/{id}/",
    tag = "projects",
    responses((status = 204, description = "Deleted, with its environments and variables"))
)]
async fn delete_project(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    let id = ProjectId(*id);
    let msg = DeleteProject {
        caller: auth.caller,
        id,
    };
    state.kn.ask(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/projects/{id}/environments/",
    tag = "environments",
    params(EnvironmentFilter, PageParams),
    responses((status = 200, description = "A page of the project's environments", body = PageBody<EnvironmentView>))
)]
async fn list_project_environments(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    environments::list(&state, auth, &req, Some(ProjectId(*id))).await
}

/// Compares two environments of the project by key (admins and editors).
#[utoipa::path(
    get,
    path = "/api/projects/{id}/compare/",
    tag = "projects",
    params(CompareParams),
    responses((status = 200, description = "Where each key stands; never values", body = CompareView))
)]
async fn compare_environments(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<web::Json<CompareView>> {
    let q = ListQuery::from_request(&req)?;
    let msg = CompareEnvironments {
        caller: auth.caller,
        project: ProjectId(*id),
        input: Comparison::parse(q.get("source"), q.get("target"))?,
    };
    Ok(web::Json(state.kn.query(msg).await?))
}

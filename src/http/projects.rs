//! `/api/projects/`: list (across organizations, or filtered), create, get, update, delete, and
//! a project's environments.

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::pagination::{render, ListQuery};
use crate::http::{check, environments, AppState, JsonObject};
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::error::FieldErrors;
use keynest_actors::input::{Comparison, NewProject, ProjectPatch};
use keynest_actors::model::{CompareView, OrgId, ProjectId, ProjectView};
use keynest_actors::org::CompareEnvironments;
use keynest_actors::org::{CreateProject, DeleteProject, GetProject, UpdateProject};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/projects/")
            .route(web::get().to(list_projects))
            .route(web::post().to(create_project)),
    )
    .service(
        web::resource("/api/projects/{id}/")
            .route(web::get().to(get_project))
            .route(web::patch().to(update_project))
            .route(web::delete().to(delete_project)),
    )
    .service(
        web::resource("/api/projects/{id}/environments/")
            .route(web::get().to(list_project_environments)),
    )
    .service(
        web::resource("/api/projects/{id}/compare/").route(web::get().to(compare_environments)),
    );
}

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

async fn list_project_environments(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    environments::list(&state, auth, &req, Some(ProjectId(*id))).await
}

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

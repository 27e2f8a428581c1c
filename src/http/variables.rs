//! `/api/variables/` and `/api/environments/{id}/variables/`: values in and out. Values travel
//! only in response bodies of callers allowed to read them, written into buffers that are zeroized
//! once sent (`secret_body`); nothing here logs a body.

use crate::http::auth::{AnyCaller, Authenticated};
use crate::http::error::ApiResult;
use crate::http::openapi::bodies::{
    IfNoneMatch, NewVariableBody, PageParams, RollbackBody, VariablePatchBody,
};
use crate::http::openapi::routes::routes;
use crate::http::pagination::PageBody;
use crate::http::pagination::{render, ListQuery};
use crate::http::{feed, secret_body};
use crate::http::{AppState, JsonObject};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::input::{NewVariable, Rollback, VariablePatch};
use keynest_actors::model::{EnvId, VarId, VariableView, VersionView};
use keynest_actors::org::{CreateVariable, DeleteVariable, UpdateVariable};
use keynest_actors::org::{ListVersions, RollbackVariable};

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![list_variables])
        .service(routes![create_variable])
        .service(routes![get_variable, update_variable, delete_variable])
        .service(routes![list_variable_versions])
        .service(routes![rollback_variable]);
}

/// An environment's variables, with values for admins, editors and service tokens.
#[utoipa::path(
    get,
    path = "/api/environments/{id}/variables/",
    tag = "variables",
    params(PageParams, IfNoneMatch),
    responses((status = 200, description = "A page of variables; values are null for viewers", body = PageBody<VariableView>, headers(("ETag" = String, description = "The environment's revision as this caller sees it; send it back in `If-None-Match`"))),
        (status = 304, description = "Not modified since the `ETag` in `If-None-Match`", headers(("ETag" = String, description = "The environment's revision as this caller sees it; send it back in `If-None-Match`"))),)
)]
async fn list_variables(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (_, page) = ListQuery::with_page(&req)?;
    let env = EnvId(*id);
    let etag = feed::etag(&req, &caller, state.kn.revision(&caller, env).await?);
    if feed::unchanged(&req, &etag) {
        return Ok(feed::not_modified(etag));
    }
    let mut res = render(
        &req,
        page,
        state.kn.list_variables(&caller, env, page).await?,
    )?;
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&etag) {
        res.headers_mut()
            .insert(actix_web::http::header::ETAG, value);
    }
    Ok(res)
}

#[utoipa::path(
    post,
    path = "/api/variables/",
    tag = "variables",
    request_body = NewVariableBody,
    responses((status = 201, description = "Created", body = VariableView))
)]
async fn create_variable(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let input = NewVariable::parse(&body)?;
    let msg = CreateVariable { caller, input };
    secret_body::json(StatusCode::CREATED, &state.kn.ask(msg).await?)
}

#[utoipa::path(
    get,
    path = "/api/variables/{id}/",
    tag = "variables",
    responses((status = 200, description = "The variable; the value is null for viewers", body = VariableView))
)]
async fn get_variable(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    let view = state.kn.get_variable(&caller, VarId(*id)).await?;
    secret_body::json(StatusCode::OK, &view)
}

#[utoipa::path(
    patch,
    path = "/api/variables/{id}/",
    tag = "variables",
    request_body = VariablePatchBody,
    responses((status = 200, description = "Updated; a new value is a new version", body = VariableView))
)]
async fn update_variable(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    id: web::Path<u64>,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let id = VarId(*id);
    let msg = UpdateVariable {
        caller,
        id,
        patch: VariablePatch::parse(&body)?,
    };
    secret_body::json(StatusCode::OK, &state.kn.ask(msg).await?)
}

#[utoipa::path(
    delete,
    path = "/api/variables/{id}/",
    tag = "variables",
    responses((status = 204, description = "Deleted, with its history"))
)]
async fn delete_variable(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    let id = VarId(*id);
    let msg = DeleteVariable { caller, id };
    state.kn.ask(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/variables/{id}/versions/",
    tag = "variables",
    params(PageParams),
    responses((status = 200, description = "A page of versions, newest first; values null for viewers", body = PageBody<VersionView>))
)]
async fn list_variable_versions(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (_, page) = ListQuery::with_page(&req)?;
    let var = VarId(*id);
    let msg = ListVersions {
        caller: auth.caller,
        var,
        page,
    };
    render(&req, page, state.kn.query(msg).await?)
}

#[utoipa::path(
    post,
    path = "/api/variables/{id}/rollback/",
    tag = "variables",
    request_body = RollbackBody,
    responses((status = 200, description = "The variable, its value now a new version holding the old one", body = VariableView))
)]
async fn rollback_variable(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let var = VarId(*id);
    let msg = RollbackVariable {
        caller: auth.caller,
        var,
        input: Rollback::parse(&body)?,
    };
    secret_body::json(StatusCode::OK, &state.kn.ask(msg).await?)
}

//! `/api/variables/` and `/api/environments/{id}/variables/`: values in and out. Values travel
//! only in response bodies of callers allowed to read them, written into buffers that are zeroized
//! once sent (`secret_body`); nothing here logs a body.

use crate::http::auth::{AnyCaller, Authenticated};
use crate::http::error::ApiResult;
use crate::http::pagination::{render, ListQuery};
use crate::http::{feed, secret_body};
use crate::http::{AppState, JsonObject};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keynest_actors::input::{NewVariable, Rollback, VariablePatch};
use keynest_actors::model::{EnvId, VarId};
use keynest_actors::org::{CreateVariable, DeleteVariable, UpdateVariable};
use keynest_actors::org::{ListVersions, RollbackVariable};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/environments/{id}/variables/").route(web::get().to(list_variables)),
    )
    .service(web::resource("/api/variables/").route(web::post().to(create_variable)))
    .service(
        web::resource("/api/variables/{id}/")
            .route(web::get().to(get_variable))
            .route(web::patch().to(update_variable))
            .route(web::delete().to(delete_variable)),
    )
    .service(
        web::resource("/api/variables/{id}/versions/").route(web::get().to(list_variable_versions)),
    )
    .service(
        web::resource("/api/variables/{id}/rollback/").route(web::post().to(rollback_variable)),
    );
}

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

async fn create_variable(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let input = NewVariable::parse(&body)?;
    let msg = CreateVariable { caller, input };
    secret_body::json(StatusCode::CREATED, &state.kn.ask(msg).await?)
}

async fn get_variable(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    id: web::Path<u64>,
) -> ApiResult<HttpResponse> {
    let view = state.kn.get_variable(&caller, VarId(*id)).await?;
    secret_body::json(StatusCode::OK, &view)
}

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

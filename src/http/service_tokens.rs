//! `/api/environments/{id}/service-tokens/`: create (the token is in this answer only, written
//! into a buffer zeroized once sent), list, revoke.

use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::openapi::bodies::{NewServiceTokenBody, PageParams};
use crate::http::openapi::routes::routes;
use crate::http::pagination::PageBody;
use crate::http::pagination::{render, ListQuery};
use crate::http::secret_body;
use crate::http::{AppState, JsonObject};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use keynest_actors::input::NewServiceToken;
use keynest_actors::model::{EnvId, ServiceTokenId, ServiceTokenView};
use keynest_actors::org::service_tokens::{
    CreateServiceToken, ListServiceTokens, RevokeServiceToken,
};

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![list_service_tokens, create_service_token])
        .service(routes![revoke_service_token]);
}

#[utoipa::path(
    post,
    path = "/api/environments/{id}/service-tokens/",
    tag = "service-tokens",
    request_body = NewServiceTokenBody,
    responses((status = 201, description = "The token, in `token` this once only", body = ServiceTokenView))
)]
async fn create_service_token(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    body: JsonObject,
) -> ApiResult<HttpResponse> {
    let env = EnvId(*id);
    let msg = CreateServiceToken {
        caller: auth.caller,
        env,
        input: NewServiceToken::parse(&body)?,
    };
    let view = state.kn.ask(msg).await?;
    secret_body::json(StatusCode::CREATED, &view)
}

#[utoipa::path(
    get,
    path = "/api/environments/{id}/service-tokens/",
    tag = "service-tokens",
    params(PageParams),
    responses((status = 200, description = "A page of the environment's tokens, never the tokens themselves", body = PageBody<ServiceTokenView>))
)]
async fn list_service_tokens(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (_, page) = ListQuery::with_page(&req)?;
    let env = EnvId(*id);
    let msg = ListServiceTokens {
        caller: auth.caller,
        env,
        page,
    };
    render(&req, page, state.kn.ask(msg).await?)
}

#[utoipa::path(
    delete,
    path = "/api/environments/{id}/service-tokens/{token_id}/",
    tag = "service-tokens",
    responses((status = 204, description = "Revoked, at once"))
)]
async fn revoke_service_token(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<(u64, u64)>,
) -> ApiResult<HttpResponse> {
    let (env, token) = path.into_inner();
    let msg = RevokeServiceToken {
        caller: auth.caller,
        env: EnvId(env),
        id: ServiceTokenId(token),
    };
    state.kn.ask(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

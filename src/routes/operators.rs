//! `/v4/Operator` (Uptrends naming). Needs `Operator.*` and Administrators.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::accounts::operators::{self, Operator, OperatorInput};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::state::AppState;
use crate::types::Guid;

#[utoipa::path(get, path = "/v4/Operator", tag = "Operator",
    responses((status = 200, description = "Every operator", body = [Operator]), ReadErrors))]
pub async fn list_operators(
    state: web::Data<AppState>,
    caller: Principal,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.read(caller.into(), operators::list).await?))
}

#[utoipa::path(get, path = "/v4/Operator/{OperatorGuid}", tag = "Operator",
    params(("OperatorGuid" = Guid, Path, description = "The operator's GUID")),
    responses((status = 200, description = "The operator", body = Operator), ReadErrors))]
pub async fn get_operator(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGuid", &path)?;
    let op = state
        .read(caller.into(), move |w| operators::get(w, guid))
        .await?;
    Ok(HttpResponse::Ok().json(op))
}

#[utoipa::path(post, path = "/v4/Operator", tag = "Operator", request_body = OperatorInput,
    responses((status = 201, description = "Created", body = Operator), WriteErrors))]
pub async fn create_operator(
    state: web::Data<AppState>,
    caller: Principal,
    body: ApiJson<OperatorInput>,
) -> AppResult<HttpResponse> {
    let op = state
        .write(caller.into(), move |w| {
            operators::create(w, body.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v4/Operator/{}", op.operator_guid),
        ))
        .json(op))
}

async fn update(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<OperatorInput>,
    partial: bool,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGuid", &path)?;
    state
        .write(caller.into(), move |w| {
            operators::update(w, guid, body.into_inner(), partial)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, path = "/v4/Operator/{OperatorGuid}", tag = "Operator", request_body = OperatorInput,
    params(("OperatorGuid" = Guid, Path, description = "The operator's GUID")),
    responses((status = 204, description = "Replaced (FullName and Email required; an omitted Login stays, or follows the e-mail address when it was the e-mail address; IsActive defaults to true)"), WriteErrors))]
pub async fn replace_operator(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<OperatorInput>,
) -> AppResult<HttpResponse> {
    update(state, caller, path, body, false).await
}

#[utoipa::path(patch, path = "/v4/Operator/{OperatorGuid}", tag = "Operator", request_body = OperatorInput,
    params(("OperatorGuid" = Guid, Path, description = "The operator's GUID")),
    responses((status = 204, description = "The fields sent were changed"), WriteErrors))]
pub async fn patch_operator(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<OperatorInput>,
) -> AppResult<HttpResponse> {
    update(state, caller, path, body, true).await
}

#[utoipa::path(delete, path = "/v4/Operator/{OperatorGuid}", tag = "Operator",
    params(("OperatorGuid" = Guid, Path, description = "The operator's GUID")),
    responses((status = 204, description = "Deleted"), ReadErrors))]
pub async fn delete_operator(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGuid", &path)?;
    state
        .write(caller.into(), move |w| operators::delete(w, guid))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

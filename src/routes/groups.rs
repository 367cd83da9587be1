//! `/v4/OperatorGroup` and its members (Uptrends naming). Needs
//! `OperatorGroup.*` and Administrators.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::accounts::groups::{self, GroupMember, OperatorGroup, OperatorGroupInput};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::state::AppState;
use crate::types::Guid;

#[utoipa::path(get, path = "/v4/OperatorGroup", tag = "OperatorGroup",
    responses((status = 200, description = "Every group", body = [OperatorGroup]), ReadErrors))]
pub async fn list_groups(state: web::Data<AppState>, caller: Principal) -> AppResult<HttpResponse> {
    let list = state.read(caller.into(), groups::list).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(get, path = "/v4/OperatorGroup/{OperatorGroupGuid}", tag = "OperatorGroup",
    params(("OperatorGroupGuid" = Guid, Path, description = "The group's GUID")),
    responses((status = 200, description = "The group", body = OperatorGroup), ReadErrors))]
pub async fn get_group(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGroupGuid", &path)?;
    let group = state
        .read(caller.into(), move |w| groups::get(w, guid))
        .await?;
    Ok(HttpResponse::Ok().json(group))
}

#[utoipa::path(post, path = "/v4/OperatorGroup", tag = "OperatorGroup", request_body = OperatorGroupInput,
    responses((status = 201, description = "Created", body = OperatorGroup), WriteErrors))]
pub async fn create_group(
    state: web::Data<AppState>,
    caller: Principal,
    body: ApiJson<OperatorGroupInput>,
) -> AppResult<HttpResponse> {
    let group = state
        .write(caller.into(), move |w| groups::create(w, body.into_inner()))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v4/OperatorGroup/{}", group.operator_group_guid),
        ))
        .json(group))
}

#[utoipa::path(put, path = "/v4/OperatorGroup/{OperatorGroupGuid}", tag = "OperatorGroup", request_body = OperatorGroupInput,
    params(("OperatorGroupGuid" = Guid, Path, description = "The group's GUID")),
    responses((status = 204, description = "Renamed"), WriteErrors))]
pub async fn replace_group(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<OperatorGroupInput>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGroupGuid", &path)?;
    state
        .write(caller.into(), move |w| {
            groups::rename(w, guid, body.into_inner())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/v4/OperatorGroup/{OperatorGroupGuid}", tag = "OperatorGroup",
    params(("OperatorGroupGuid" = Guid, Path, description = "The group's GUID")),
    responses((status = 204, description = "Deleted"), ReadErrors))]
pub async fn delete_group(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGroupGuid", &path)?;
    state
        .write(caller.into(), move |w| groups::delete(w, guid))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v4/OperatorGroup/{OperatorGroupGuid}/Member", tag = "OperatorGroup",
    params(("OperatorGroupGuid" = Guid, Path, description = "The group's GUID")),
    responses((status = 200, description = "The group's members", body = [GroupMember]), ReadErrors))]
pub async fn list_members(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGroupGuid", &path)?;
    let members = state
        .read(caller.into(), move |w| groups::members(w, guid))
        .await?;
    Ok(HttpResponse::Ok().json(members))
}

#[utoipa::path(post, path = "/v4/OperatorGroup/{OperatorGroupGuid}/Member/{OperatorGuid}", tag = "OperatorGroup",
    params(("OperatorGroupGuid" = Guid, Path, description = "The group's GUID"), ("OperatorGuid" = Guid, Path, description = "The operator to add")),
    responses((status = 201, description = "Added", body = GroupMember), WriteErrors))]
pub async fn add_member(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGroupGuid", &path.0)?;
    let operator = Guid::from_path("OperatorGuid", &path.1)?;
    let member = state
        .write(caller.into(), move |w| {
            groups::add_member(w, guid, operator)
        })
        .await?;
    Ok(HttpResponse::Created().json(member))
}

#[utoipa::path(delete, path = "/v4/OperatorGroup/{OperatorGroupGuid}/Member/{OperatorGuid}", tag = "OperatorGroup",
    params(("OperatorGroupGuid" = Guid, Path, description = "The group's GUID"), ("OperatorGuid" = Guid, Path, description = "The operator to remove")),
    responses((status = 204, description = "Removed"), ReadErrors))]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGroupGuid", &path.0)?;
    let operator = Guid::from_path("OperatorGuid", &path.1)?;
    state
        .write(caller.into(), move |w| {
            groups::remove_member(w, guid, operator)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

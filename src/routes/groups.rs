//! `/v4/OperatorGroup` and its members (Uptrends naming). Needs
//! `OperatorGroup.*` and Administrators.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::accounts::groups::{self, Ctx, GroupMember, OperatorGroup, OperatorGroupInput};
use crate::auth::{Permission, Principal};
use crate::db::groups as repo;
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::routes::admin::{admin_read, admin_write};
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::state::AppState;
use crate::types::Guid;

/// A group change: the permission, Administrators, then `f` with the group rules' context.
async fn change<T, F>(
    state: &web::Data<AppState>,
    caller: Principal,
    p: Permission,
    f: F,
) -> AppResult<T>
where
    F: FnOnce(&Ctx<'_>) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let now = state.clock.now();
    admin_write(state, caller, p, move |conn, _, caller| {
        f(&Ctx {
            conn,
            actor: caller.actor(),
            caller_permissions: caller.permissions(),
            now,
        })
    })
    .await
}

#[utoipa::path(get, path = "/v4/OperatorGroup", tag = "OperatorGroup",
    responses((status = 200, description = "Every group", body = [OperatorGroup]), ReadErrors))]
pub async fn list_groups(state: web::Data<AppState>, caller: Principal) -> AppResult<HttpResponse> {
    let list = admin_read(&state, caller, Some(Permission::GROUP_READ), |conn, _| {
        Ok(repo::list(conn)?
            .iter()
            .map(OperatorGroup::from)
            .collect::<Vec<_>>())
    })
    .await?;
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
    let group = admin_read(
        &state,
        caller,
        Some(Permission::GROUP_READ),
        move |conn, _| Ok(OperatorGroup::from(&groups::find(conn, guid)?)),
    )
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
    let group = change(&state, caller, Permission::GROUP_CREATE, move |ctx| {
        groups::create(ctx, body.into_inner())
    })
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
    change(&state, caller, Permission::GROUP_UPDATE, move |ctx| {
        groups::rename(ctx, guid, body.into_inner())
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
    change(&state, caller, Permission::GROUP_DELETE, move |ctx| {
        groups::delete(ctx, guid)
    })
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
    let members = admin_read(
        &state,
        caller,
        Some(Permission::GROUP_READ),
        move |conn, _| groups::members(conn, guid),
    )
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
    let member = change(&state, caller, Permission::GROUP_UPDATE, move |ctx| {
        groups::add_member(ctx, guid, operator)
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
    change(&state, caller, Permission::GROUP_UPDATE, move |ctx| {
        groups::remove_member(ctx, guid, operator)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

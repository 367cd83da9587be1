//! `/v4/Operator` (Uptrends naming). Needs `Operator.*` and Administrators.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::accounts::operators::{self, Ctx, Operator, OperatorInput};
use crate::auth::{OperatorContext, Permission, Principal};
use crate::db::operators as repo;
use crate::error::AppResult;
use crate::http::{ApiJson, Guid};
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::state::AppState;

async fn admin_write<T, F>(
    state: &web::Data<AppState>,
    caller: Principal,
    p: Permission,
    f: F,
) -> AppResult<T>
where
    F: FnOnce(&Ctx<'_>, &mut crate::db::AfterCommit) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    caller.require(p)?;
    let (index, now) = (state.auth.index.clone(), state.clock.now());
    state
        .db
        .write(move |conn, after| {
            OperatorContext::load(conn, caller.operator_id())?.require_admin()?;
            f(
                &Ctx {
                    conn,
                    actor: caller.actor(),
                    now,
                    index: &index,
                },
                after,
            )
        })
        .await
}

#[utoipa::path(get, path = "/v4/Operator", tag = "Operator",
    responses((status = 200, description = "Every operator", body = [Operator]), ReadErrors))]
pub async fn list_operators(
    state: web::Data<AppState>,
    caller: Principal,
) -> AppResult<HttpResponse> {
    caller.require(Permission::OPERATOR_READ)?;
    let list = state
        .db
        .read(move |conn| {
            OperatorContext::load(conn, caller.operator_id())?.require_admin()?;
            Ok(repo::list(conn)?
                .iter()
                .map(Operator::from)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(get, path = "/v4/Operator/{OperatorGuid}", tag = "Operator",
    params(("OperatorGuid" = Guid, Path, description = "The operator's GUID")),
    responses((status = 200, description = "The operator", body = Operator), ReadErrors))]
pub async fn get_operator(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::OPERATOR_READ)?;
    let guid = Guid::from_path("OperatorGuid", &path)?;
    let op = state
        .db
        .read(move |conn| {
            OperatorContext::load(conn, caller.operator_id())?.require_admin()?;
            Ok(Operator::from(&operators::find(conn, guid)?))
        })
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
    let op = admin_write(
        &state,
        caller,
        Permission::OPERATOR_CREATE,
        move |ctx, _| operators::create(ctx, body.into_inner()),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v4/Operator/{}", op.operator_guid),
        ))
        .json(op))
}

#[utoipa::path(put, path = "/v4/Operator/{OperatorGuid}", tag = "Operator", request_body = OperatorInput,
    params(("OperatorGuid" = Guid, Path, description = "The operator's GUID")),
    responses((status = 204, description = "Replaced (FullName, Email, Login required; IsActive defaults to true)"), WriteErrors))]
pub async fn replace_operator(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<OperatorInput>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OperatorGuid", &path)?;
    admin_write(
        &state,
        caller,
        Permission::OPERATOR_UPDATE,
        move |ctx, after| operators::update(ctx, guid, body.into_inner(), false, after),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
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
    let guid = Guid::from_path("OperatorGuid", &path)?;
    admin_write(
        &state,
        caller,
        Permission::OPERATOR_UPDATE,
        move |ctx, after| operators::update(ctx, guid, body.into_inner(), true, after),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
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
    admin_write(
        &state,
        caller,
        Permission::OPERATOR_DELETE,
        move |ctx, _| operators::delete(ctx, guid),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

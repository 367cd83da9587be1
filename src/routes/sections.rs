//! `/v4/VaultSection` and its authorizations (Uptrends vault API).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::auth::{Permission, Principal};
use crate::db::history as history_repo;
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::routes::history::{HistoryEntry, HistoryQuery};
use crate::state::AppState;
use crate::types::Guid;
use crate::vault::Ctx;
use crate::vault::authorizations::{self, Authorization, AuthorizationInput};
use crate::vault::sections::{self, VaultSection, VaultSectionInput};

/// Runs `f` with the caller's vault context in one read hop.
pub async fn vault_read<T, F>(state: &web::Data<AppState>, caller: Principal, f: F) -> AppResult<T>
where
    F: FnOnce(&Ctx<'_>) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let now = state.clock.now();
    state
        .db
        .read(move |conn| f(&Ctx::new(conn, caller.operator_id(), caller.actor(), now)))
        .await
}

/// Runs `f` with the caller's vault context in one write transaction.
pub async fn vault_write<T, F>(state: &web::Data<AppState>, caller: Principal, f: F) -> AppResult<T>
where
    F: FnOnce(&Ctx<'_>) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let now = state.clock.now();
    state
        .db
        .write(move |conn, _| f(&Ctx::new(conn, caller.operator_id(), caller.actor(), now)))
        .await
}

#[utoipa::path(get, path = "/v4/VaultSection", tag = "VaultSection",
    responses((status = 200, description = "The sections you can view (administrators: all)", body = [VaultSection]), ReadErrors))]
pub async fn list_sections(
    state: web::Data<AppState>,
    caller: Principal,
) -> AppResult<HttpResponse> {
    caller.require(Permission::SECTION_READ)?;
    Ok(HttpResponse::Ok().json(vault_read(&state, caller, sections::list).await?))
}

#[utoipa::path(get, path = "/v4/VaultSection/{VaultSectionGuid}", tag = "VaultSection",
    params(("VaultSectionGuid" = Guid, Path, description = "The section's GUID")),
    responses((status = 200, description = "The section", body = VaultSection), ReadErrors))]
pub async fn get_section(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::SECTION_READ)?;
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    Ok(HttpResponse::Ok()
        .json(vault_read(&state, caller, move |ctx| sections::get(ctx, guid)).await?))
}

#[utoipa::path(post, path = "/v4/VaultSection", tag = "VaultSection", request_body = VaultSectionInput,
    responses((status = 201, description = "Created; your operator gets View and Change on it", body = VaultSection), WriteErrors))]
pub async fn create_section(
    state: web::Data<AppState>,
    caller: Principal,
    body: ApiJson<VaultSectionInput>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::SECTION_CREATE)?;
    let section = vault_write(&state, caller, move |ctx| {
        sections::create(ctx, body.into_inner())
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v4/VaultSection/{}", section.vault_section_guid),
        ))
        .json(section))
}

#[utoipa::path(put, path = "/v4/VaultSection/{VaultSectionGuid}", tag = "VaultSection", request_body = VaultSectionInput,
    params(("VaultSectionGuid" = Guid, Path, description = "The section's GUID")),
    responses((status = 204, description = "Renamed"), WriteErrors))]
pub async fn rename_section(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<VaultSectionInput>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::SECTION_UPDATE)?;
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    vault_write(&state, caller, move |ctx| {
        sections::rename(ctx, guid, body.into_inner())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/v4/VaultSection/{VaultSectionGuid}", tag = "VaultSection",
    params(("VaultSectionGuid" = Guid, Path, description = "The section's GUID")),
    responses((status = 204, description = "Deleted (400 while it holds items)"), ReadErrors))]
pub async fn delete_section(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::SECTION_DELETE)?;
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    vault_write(&state, caller, move |ctx| sections::delete(ctx, guid)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v4/VaultSection/{VaultSectionGuid}/History", tag = "VaultSection",
    params(("VaultSectionGuid" = Guid, Path, description = "The section's GUID"), HistoryQuery),
    responses((status = 200, description = "Changes to the section, its authorizations and its items, newest first", body = [HistoryEntry]), ReadErrors))]
pub async fn section_history(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::SECTION_READ)?;
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    let filter = query.into_inner().filter()?;
    let entries = vault_read(&state, caller, move |ctx| {
        ctx.section(guid)?;
        HistoryEntry::all(history_repo::for_object(ctx.conn, guid, &filter)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(entries))
}

#[utoipa::path(get, path = "/v4/VaultSection/{VaultSectionGuid}/Authorization", tag = "VaultSection",
    params(("VaultSectionGuid" = Guid, Path, description = "The section's GUID")),
    responses((status = 200, description = "The section's authorizations", body = [Authorization]), ReadErrors))]
pub async fn list_authorizations(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::AUTHORIZATION_READ)?;
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    Ok(HttpResponse::Ok()
        .json(vault_read(&state, caller, move |ctx| authorizations::list(ctx, guid)).await?))
}

#[utoipa::path(post, path = "/v4/VaultSection/{VaultSectionGuid}/Authorization", tag = "VaultSection", request_body = AuthorizationInput,
    params(("VaultSectionGuid" = Guid, Path, description = "The section's GUID")),
    responses((status = 201, description = "Created (ChangeVaultSection also grants ViewVaultSection)", body = Authorization), WriteErrors))]
pub async fn create_authorization(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<AuthorizationInput>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::AUTHORIZATION_CREATE)?;
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    let auth = vault_write(&state, caller, move |ctx| {
        authorizations::create(ctx, guid, body.into_inner())
    })
    .await?;
    Ok(HttpResponse::Created().json(auth))
}

#[utoipa::path(delete, path = "/v4/VaultSection/{VaultSectionGuid}/Authorization/{AuthorizationId}", tag = "VaultSection",
    params(("VaultSectionGuid" = Guid, Path, description = "The section's GUID"), ("AuthorizationId" = Guid, Path, description = "The authorization's id")),
    responses((status = 204, description = "Deleted (a View takes the same grantee's Change with it)"), ReadErrors))]
pub async fn delete_authorization(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::AUTHORIZATION_DELETE)?;
    let section = Guid::from_path("VaultSectionGuid", &path.0)?;
    let authorization = Guid::from_path("AuthorizationId", &path.1)?;
    vault_write(&state, caller, move |ctx| {
        authorizations::delete(ctx, section, authorization)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

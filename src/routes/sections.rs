//! `/v4/VaultSection` and its authorizations (Uptrends vault API).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::routes::history::{HistoryEntry, HistoryQuery};
use crate::state::AppState;
use crate::types::Guid;
use crate::vault::authorizations::{self, Authorization, AuthorizationInput};
use crate::vault::sections::{self, VaultSection, VaultSectionInput};

#[utoipa::path(get, path = "/v4/VaultSection", tag = "VaultSection",
    responses((status = 200, description = "The sections you can view (administrators: all)", body = [VaultSection]), ReadErrors))]
pub async fn list_sections(
    state: web::Data<AppState>,
    caller: Principal,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.read(caller.into(), sections::list).await?))
}

#[utoipa::path(get, path = "/v4/VaultSection/{VaultSectionGuid}", tag = "VaultSection",
    params(("VaultSectionGuid" = Guid, Path, description = "The section's GUID")),
    responses((status = 200, description = "The section", body = VaultSection), ReadErrors))]
pub async fn get_section(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    Ok(HttpResponse::Ok().json(
        state
            .read(caller.into(), move |w| sections::get(w, guid))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v4/VaultSection", tag = "VaultSection", request_body = VaultSectionInput,
    responses((status = 201, description = "Created; your operator gets View and Change on it", body = VaultSection), WriteErrors))]
pub async fn create_section(
    state: web::Data<AppState>,
    caller: Principal,
    body: ApiJson<VaultSectionInput>,
) -> AppResult<HttpResponse> {
    let section = state
        .write(caller.into(), move |w| {
            sections::create(w, body.into_inner())
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
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    state
        .write(caller.into(), move |w| {
            sections::rename(w, guid, body.into_inner())
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
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    state
        .write(caller.into(), move |w| sections::delete(w, guid))
        .await?;
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
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    let filter = query.into_inner().filter()?;
    let entries = state
        .read(caller.into(), move |w| {
            HistoryEntry::all(sections::history(w, guid, &filter)?)
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
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    Ok(HttpResponse::Ok().json(
        state
            .read(caller.into(), move |w| authorizations::list(w, guid))
            .await?,
    ))
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
    let guid = Guid::from_path("VaultSectionGuid", &path)?;
    let auth = state
        .write(caller.into(), move |w| {
            authorizations::create(w, guid, body.into_inner())
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
    let section = Guid::from_path("VaultSectionGuid", &path.0)?;
    let authorization = Guid::from_path("AuthorizationId", &path.1)?;
    state
        .write(caller.into(), move |w| {
            authorizations::delete(w, section, authorization)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! `/v4/ApiKey` (SPEC §4). Every route needs an `ApiKey.*` permission and an
//! operator in Administrators (declared in `routes::api!`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::accounts::api_keys::{self, ApiKey, ApiKeyInput};
use crate::accounts::credentials::{ListQuery, RegenerateInput};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::http::json::OptionalJson;
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::routes::history::{HistoryEntry, HistoryQuery};
use crate::state::AppState;
use crate::types::{CredentialKind, Guid};

#[utoipa::path(get, path = "/v4/ApiKey", tag = "ApiKey", params(ListQuery),
    responses((status = 200, description = "Every API key (that passes the filters)", body = [ApiKey]), ReadErrors))]
pub async fn list_keys(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let filter = query.into_inner().filter(state.clock.now_millis())?;
    let keys = state
        .read(caller.into(), move |w| api_keys::list(w, filter))
        .await?;
    Ok(HttpResponse::Ok().json(keys))
}

#[utoipa::path(get, path = "/v4/ApiKey/{ApiKeyGuid}", tag = "ApiKey",
    params(("ApiKeyGuid" = Guid, Path, description = "The key's GUID")),
    responses((status = 200, description = "The key (never its secret)", body = ApiKey), ReadErrors))]
pub async fn get_key(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("ApiKeyGuid", &path)?;
    let key = state
        .read(caller.into(), move |w| api_keys::get(w, guid))
        .await?;
    Ok(HttpResponse::Ok().json(key))
}

#[utoipa::path(post, path = "/v4/ApiKey", tag = "ApiKey", request_body = ApiKeyInput,
    responses((status = 201, description = "Created; `Key` is in this response and never again", body = ApiKey), WriteErrors))]
pub async fn create_key(
    state: web::Data<AppState>,
    caller: Principal,
    body: ApiJson<ApiKeyInput>,
) -> AppResult<HttpResponse> {
    let key = state
        .write(caller.into(), move |w| {
            api_keys::create(w, body.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v4/ApiKey/{}", key.api_key_guid)))
        .json(key))
}

#[utoipa::path(put, path = "/v4/ApiKey/{ApiKeyGuid}", tag = "ApiKey", request_body = ApiKeyInput,
    params(("ApiKeyGuid" = Guid, Path, description = "The key's GUID")),
    responses((status = 204, description = "Updated"), WriteErrors))]
pub async fn replace_key(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<ApiKeyInput>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("ApiKeyGuid", &path)?;
    state
        .write(caller.into(), move |w| {
            api_keys::replace(w, guid, body.into_inner())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/v4/ApiKey/{ApiKeyGuid}/Revoke", tag = "ApiKey",
    params(("ApiKeyGuid" = Guid, Path, description = "The key's GUID")),
    responses((status = 200, description = "Revoked: the key stops working at once", body = ApiKey), ReadErrors))]
pub async fn revoke_key(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("ApiKeyGuid", &path)?;
    let key = state
        .write(caller.into(), move |w| api_keys::revoke(w, guid))
        .await?;
    Ok(HttpResponse::Ok().json(key))
}

#[utoipa::path(post, path = "/v4/ApiKey/{ApiKeyGuid}/Regenerate", tag = "ApiKey",
    params(("ApiKeyGuid" = Guid, Path, description = "The key's GUID")),
    request_body(content = Option<RegenerateInput>, description = "Optional: `{\"GracePeriodHours\": N}` keeps the old secret working N hours (0–168; default 0)"),
    responses((status = 200, description = "New secret in `Key`, shown this once; the old one stops working at once, or at `PreviousKeyExpiresAt` with a grace period", body = ApiKey), WriteErrors))]
pub async fn regenerate_key(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: OptionalJson<RegenerateInput>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("ApiKeyGuid", &path)?;
    let grace_ms = body.into_inner().grace_ms()?;
    let key = state
        .write(caller.into(), move |w| {
            api_keys::regenerate(w, guid, grace_ms)
        })
        .await?;
    Ok(HttpResponse::Ok().json(key))
}

#[utoipa::path(delete, path = "/v4/ApiKey/{ApiKeyGuid}", tag = "ApiKey",
    params(("ApiKeyGuid" = Guid, Path, description = "The key's GUID")),
    responses((status = 204, description = "Deleted, with the operator it acted as"), ReadErrors))]
pub async fn delete_key(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("ApiKeyGuid", &path)?;
    state
        .write(caller.into(), move |w| api_keys::delete(w, guid))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v4/ApiKey/{ApiKeyGuid}/History", tag = "ApiKey",
    params(("ApiKeyGuid" = Guid, Path, description = "The key's GUID"), HistoryQuery),
    responses((status = 200, description = "What the key did and what was done to it, newest first", body = [HistoryEntry]), ReadErrors))]
pub async fn key_history(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("ApiKeyGuid", &path)?;
    let filter = query.into_inner().filter()?;
    // A deleted key still has its history.
    let entries = state
        .read(caller.into(), move |w| {
            HistoryEntry::for_credential(w, CredentialKind::ApiKey, guid, &filter)
        })
        .await?;
    Ok(HttpResponse::Ok().json(entries))
}

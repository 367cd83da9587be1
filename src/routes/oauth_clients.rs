//! `/v4/OAuthClient` (issue 16). Every route needs an `OAuthClient.*`
//! permission and an operator in Administrators (declared in `routes::api!`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::accounts::credentials::{ListQuery, RegenerateInput};
use crate::accounts::oauth_clients::{self, OAuthClient, OAuthClientInput};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::http::json::OptionalJson;
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::routes::history::{HistoryEntry, HistoryQuery};
use crate::state::AppState;
use crate::types::{CredentialKind, Guid};

#[utoipa::path(get, path = "/v4/OAuthClient", tag = "OAuthClient", params(ListQuery),
    responses((status = 200, description = "Every OAuth client (that passes the filters)", body = [OAuthClient]), ReadErrors))]
pub async fn list_oauth_clients(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let filter = query.into_inner().filter(state.clock.now_millis())?;
    let clients = state
        .read(caller.into(), move |w| oauth_clients::list(w, filter))
        .await?;
    Ok(HttpResponse::Ok().json(clients))
}

#[utoipa::path(get, path = "/v4/OAuthClient/{OAuthClientGuid}", tag = "OAuthClient",
    params(("OAuthClientGuid" = Guid, Path, description = "The client's GUID")),
    responses((status = 200, description = "The client (never its secret)", body = OAuthClient), ReadErrors))]
pub async fn get_oauth_client(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OAuthClientGuid", &path)?;
    let client = state
        .read(caller.into(), move |w| oauth_clients::get(w, guid))
        .await?;
    Ok(HttpResponse::Ok().json(client))
}

#[utoipa::path(post, path = "/v4/OAuthClient", tag = "OAuthClient", request_body = OAuthClientInput,
    responses((status = 201, description = "Created; `ClientSecret` is in this response and never again", body = OAuthClient), WriteErrors))]
pub async fn create_oauth_client(
    state: web::Data<AppState>,
    caller: Principal,
    body: ApiJson<OAuthClientInput>,
) -> AppResult<HttpResponse> {
    let client = state
        .write(caller.into(), move |w| {
            oauth_clients::create(w, body.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v4/OAuthClient/{}", client.oauth_client_guid),
        ))
        .json(client))
}

#[utoipa::path(put, path = "/v4/OAuthClient/{OAuthClientGuid}", tag = "OAuthClient", request_body = OAuthClientInput,
    params(("OAuthClientGuid" = Guid, Path, description = "The client's GUID")),
    responses((status = 204, description = "Updated"), WriteErrors))]
pub async fn replace_oauth_client(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<OAuthClientInput>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OAuthClientGuid", &path)?;
    state
        .write(caller.into(), move |w| {
            oauth_clients::replace(w, guid, body.into_inner())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/v4/OAuthClient/{OAuthClientGuid}/Revoke", tag = "OAuthClient",
    params(("OAuthClientGuid" = Guid, Path, description = "The client's GUID")),
    responses((status = 200, description = "Revoked: the client and its access tokens stop working at once", body = OAuthClient), ReadErrors))]
pub async fn revoke_oauth_client(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OAuthClientGuid", &path)?;
    let client = state
        .write(caller.into(), move |w| oauth_clients::revoke(w, guid))
        .await?;
    Ok(HttpResponse::Ok().json(client))
}

#[utoipa::path(post, path = "/v4/OAuthClient/{OAuthClientGuid}/Regenerate", tag = "OAuthClient",
    params(("OAuthClientGuid" = Guid, Path, description = "The client's GUID")),
    request_body(content = Option<RegenerateInput>, description = "Optional: `{\"GracePeriodHours\": N}` keeps the old client secret working at the token endpoint N hours (0–168; default 0)"),
    responses((status = 200, description = "New secret in `ClientSecret`, shown this once; every access token stops working, and the old secret too, at once or at `PreviousKeyExpiresAt` with a grace period", body = OAuthClient), WriteErrors))]
pub async fn regenerate_oauth_client(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: OptionalJson<RegenerateInput>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OAuthClientGuid", &path)?;
    let grace_ms = body.into_inner().grace_ms()?;
    let client = state
        .write(caller.into(), move |w| {
            oauth_clients::regenerate(w, guid, grace_ms)
        })
        .await?;
    Ok(HttpResponse::Ok().json(client))
}

#[utoipa::path(delete, path = "/v4/OAuthClient/{OAuthClientGuid}", tag = "OAuthClient",
    params(("OAuthClientGuid" = Guid, Path, description = "The client's GUID")),
    responses((status = 204, description = "Deleted, with its access tokens and the operator it acted as"), ReadErrors))]
pub async fn delete_oauth_client(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OAuthClientGuid", &path)?;
    state
        .write(caller.into(), move |w| oauth_clients::delete(w, guid))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v4/OAuthClient/{OAuthClientGuid}/History", tag = "OAuthClient",
    params(("OAuthClientGuid" = Guid, Path, description = "The client's GUID"), HistoryQuery),
    responses((status = 200, description = "What the client did (with its tokens) and what was done to it, newest first", body = [HistoryEntry]), ReadErrors))]
pub async fn oauth_client_history(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("OAuthClientGuid", &path)?;
    let filter = query.into_inner().filter()?;
    // A deleted client still has its history.
    let entries = state
        .read(caller.into(), move |w| {
            HistoryEntry::for_credential(w, CredentialKind::OAuthClient, guid, &filter)
        })
        .await?;
    Ok(HttpResponse::Ok().json(entries))
}

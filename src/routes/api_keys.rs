//! `/v4/ApiKey` (SPEC §4). Every route needs an `ApiKey.*` permission and an
//! operator in Administrators.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::accounts::api_keys::{self, ApiKey, ApiKeyInput, Ctx};
use crate::auth::{Permission, Principal};
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::routes::admin::{admin_read, admin_write};
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::routes::history::{HistoryEntry, HistoryQuery};
use crate::state::AppState;
use crate::types::Guid;

#[utoipa::path(get, path = "/v4/ApiKey", tag = "ApiKey",
    responses((status = 200, description = "Every API key", body = [ApiKey]), ReadErrors))]
pub async fn list_keys(state: web::Data<AppState>, caller: Principal) -> AppResult<HttpResponse> {
    let (index, now) = (state.auth.index.clone(), state.clock.now_millis());
    let keys = admin_read(
        &state,
        caller,
        Some(Permission::API_KEY_READ),
        move |conn, _| api_keys::list(conn, now, &index),
    )
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
    let (index, now) = (state.auth.index.clone(), state.clock.now_millis());
    let key = admin_read(
        &state,
        caller,
        Some(Permission::API_KEY_READ),
        move |conn, _| api_keys::get(conn, guid, now, &index),
    )
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
    let (st, now) = (state.clone(), state.clock.now());
    let key = admin_write(
        &state,
        caller,
        Permission::API_KEY_CREATE,
        move |conn, after, caller| {
            let ctx = Ctx {
                conn,
                caller,
                now,
                index: &st.auth.index,
            };
            api_keys::create(&ctx, &st.keys.api_key_hasher, body.into_inner(), after)
        },
    )
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
    let (st, now) = (state.clone(), state.clock.now());
    admin_write(
        &state,
        caller,
        Permission::API_KEY_UPDATE,
        move |conn, after, caller| {
            api_keys::replace(
                &Ctx {
                    conn,
                    caller,
                    now,
                    index: &st.auth.index,
                },
                guid,
                body.into_inner(),
                after,
            )
        },
    )
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
    let (st, now) = (state.clone(), state.clock.now());
    let key = admin_write(
        &state,
        caller,
        Permission::API_KEY_UPDATE,
        move |conn, after, caller| {
            api_keys::revoke(
                &Ctx {
                    conn,
                    caller,
                    now,
                    index: &st.auth.index,
                },
                guid,
                after,
            )
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(key))
}

#[utoipa::path(post, path = "/v4/ApiKey/{ApiKeyGuid}/Regenerate", tag = "ApiKey",
    params(("ApiKeyGuid" = Guid, Path, description = "The key's GUID")),
    responses((status = 200, description = "New secret in `Key`, shown this once; the old one stops working", body = ApiKey), ReadErrors))]
pub async fn regenerate_key(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("ApiKeyGuid", &path)?;
    let (st, now) = (state.clone(), state.clock.now());
    let key = admin_write(
        &state,
        caller,
        Permission::API_KEY_UPDATE,
        move |conn, after, caller| {
            let ctx = Ctx {
                conn,
                caller,
                now,
                index: &st.auth.index,
            };
            api_keys::regenerate(&ctx, &st.keys.api_key_hasher, guid, after)
        },
    )
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
    let (st, now) = (state.clone(), state.clock.now());
    admin_write(
        &state,
        caller,
        Permission::API_KEY_DELETE,
        move |conn, after, caller| {
            api_keys::delete(
                &Ctx {
                    conn,
                    caller,
                    now,
                    index: &st.auth.index,
                },
                guid,
                after,
            )
        },
    )
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
    let entries = admin_read(
        &state,
        caller,
        Some(Permission::API_KEY_READ),
        move |conn, _| HistoryEntry::all(crate::db::history::for_api_key(conn, guid, &filter)?),
    )
    .await?;
    Ok(HttpResponse::Ok().json(entries))
}

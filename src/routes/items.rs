//! `/v4/VaultItem` (Uptrends vault API), plus Reveal, the current one-time
//! code, usage, per-item history and secret versions.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::ApiJson;
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::routes::history::{HistoryEntry, HistoryQuery};
use crate::state::AppState;
use crate::types::Guid;
use crate::vault::items::{self, Mode, OtpCode, VaultItem, VaultItemInput, VaultItemVersion};
use crate::vault::usage::{self, Usage, UsageCreated, UsageInput};
use crate::work::Caller;

/// `GET /v4/VaultItem`'s filter (other parameters are ignored, as before).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemListQuery {
    /// Only the Certificate and CertificateArchive items whose certificate
    /// expires within this many days from now (0–3650; expired ones
    /// included), soonest first.
    #[serde(rename = "ExpiringWithinDays")]
    #[param(rename = "ExpiringWithinDays", minimum = 0, maximum = 3650)]
    pub expiring_within_days: Option<i64>,
}

#[utoipa::path(get, path = "/v4/VaultItem", tag = "VaultItem", params(ItemListQuery),
    responses((status = 200, description = "Every item of every section you can view, sensitive values empty; with ExpiringWithinDays, only the certificates expiring within that many days, soonest first", body = [VaultItem]), ReadErrors))]
pub async fn list_items(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<ItemListQuery>,
) -> AppResult<HttpResponse> {
    if let Some(days) = query.expiring_within_days {
        if !(0..=3650).contains(&days) {
            return Err(AppError::new(
                ErrorCode::InvalidQuery,
                "ExpiringWithinDays must be a whole number of days from 0 to 3650.",
            ));
        }
        let list = state
            .read(caller.into(), move |w| items::expiring(w, days))
            .await?;
        return Ok(HttpResponse::Ok().json(list));
    }
    // Streamed: a bounded channel of chunks between the database thread and
    // the socket, so 10,000 items never sit in memory as one body per client.
    let (chunks, mut body) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(4);
    let (started, has_started) = tokio::sync::oneshot::channel::<AppResult<()>>();
    let st = state.clone();
    let reading = async move {
        st.read(caller.into(), move |w| {
            let mut started = Some(started);
            let result = items::stream_list(w, 32 * 1024, |chunk| {
                if let Some(s) = started.take() {
                    let _ = s.send(Ok(()));
                }
                chunks.blocking_send(Ok(web::Bytes::from(chunk))).is_ok()
            });
            match (result, started.take()) {
                (Err(e), Some(s)) => {
                    let _ = s.send(Err(e));
                }
                (Err(e), None) => {
                    // Headers are gone already: cut the body short so the client
                    // sees a broken response rather than a truncated list.
                    log::error!("listing vault items failed mid-stream: {e}");
                    let _ = chunks.blocking_send(Err(std::io::Error::other("listing failed")));
                }
                (Ok(()), _) => {}
            }
            Ok(())
        })
        .await
    };
    actix_web::rt::spawn(async move {
        if let Err(e) = reading.await {
            log::error!("vault item list task failed: {e}");
        }
    });
    has_started
        .await
        .map_err(|_| AppError::internal("vault item list ended before it started"))??;
    let stream = futures_util::stream::poll_fn(move |cx| body.poll_recv(cx));
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream))
}

#[utoipa::path(get, path = "/v4/VaultItem/{VaultItemGuid}", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID")),
    responses((status = 200, description = "The item, sensitive values empty", body = VaultItem), ReadErrors))]
pub async fn get_item(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path)?;
    Ok(HttpResponse::Ok().json(
        state
            .read(caller.into(), move |w| items::get(w, guid))
            .await?,
    ))
}

/// Opens the archive a create or update carries (if any) before the write,
/// away from the writer thread, so the write only stores.
async fn check_archive(
    state: &web::Data<AppState>,
    caller: &Principal,
    guid: Option<Guid>,
    input: VaultItemInput,
) -> AppResult<(VaultItemInput, Option<items::CheckedArchive>)> {
    let (input, to_check) = match guid {
        // A new item: everything needed is in the body.
        None => {
            let to_check = items::new_archive_to_check(&input)?;
            (input, to_check)
        }
        // An update may keep half of the stored archive: read it first.
        Some(guid) => {
            state
                .read(Caller::Key(caller.clone()), move |w| {
                    let to_check = items::archive_to_check(w, guid, &input)?;
                    Ok((input, to_check))
                })
                .await?
        }
    };
    let checked = match to_check {
        Some(archive) => {
            let info = state
                .archives
                .inspect(archive.data.clone(), archive.password.clone())
                .await?;
            Some(archive.checked(info))
        }
        None => None,
    };
    Ok((input, checked))
}

#[utoipa::path(post, path = "/v4/VaultItem", tag = "VaultItem", request_body = VaultItemInput,
    responses((status = 201, description = "Created", body = VaultItem), WriteErrors))]
pub async fn create_item(
    state: web::Data<AppState>,
    caller: Principal,
    body: ApiJson<VaultItemInput>,
) -> AppResult<HttpResponse> {
    let (input, checked) = check_archive(&state, &caller, None, body.into_inner()).await?;
    let item = state
        .write(caller.into(), move |w| items::create(w, input, checked))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v4/VaultItem/{}", item.vault_item_guid),
        ))
        .json(item))
}

async fn update(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<VaultItemInput>,
    mode: Mode,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path)?;
    let (input, checked) = check_archive(&state, &caller, Some(guid), body.into_inner()).await?;
    state
        .write(caller.into(), move |w| {
            items::update(w, guid, input, mode, checked)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, path = "/v4/VaultItem/{VaultItemGuid}", tag = "VaultItem", request_body = VaultItemInput,
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID")),
    responses((status = 204, description = "Replaced: omitted fields emptied, omitted sensitive values kept"), WriteErrors))]
pub async fn replace_item(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<VaultItemInput>,
) -> AppResult<HttpResponse> {
    update(state, caller, path, body, Mode::Replace).await
}

#[utoipa::path(patch, path = "/v4/VaultItem/{VaultItemGuid}", tag = "VaultItem", request_body = VaultItemInput,
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID")),
    responses((status = 204, description = "The fields sent were changed"), WriteErrors))]
pub async fn patch_item(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<VaultItemInput>,
) -> AppResult<HttpResponse> {
    update(state, caller, path, body, Mode::Patch).await
}

#[utoipa::path(delete, path = "/v4/VaultItem/{VaultItemGuid}", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID")),
    responses((status = 204, description = "Deleted (400 while in use)"), ReadErrors))]
pub async fn delete_item(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path)?;
    state
        .write(caller.into(), move |w| items::delete(w, guid))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v4/VaultItem/{VaultItemGuid}/Reveal", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID")),
    responses((status = 200, description = "The item with its sensitive values (recorded in history)", body = VaultItem), ReadErrors))]
pub async fn reveal_item(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path)?;
    let item = state
        .write(caller.into(), move |w| items::reveal(w, guid))
        .await?;
    Ok(HttpResponse::Ok().json(item))
}

#[utoipa::path(get, path = "/v4/VaultItem/{VaultItemGuid}/Otp", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID")),
    responses((status = 200, description = "The current RFC 6238 code of a OneTimePassword item", body = OtpCode), ReadErrors))]
pub async fn item_otp(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path)?;
    let code = state
        .write(caller.into(), move |w| items::current_code(w, guid))
        .await?;
    Ok(HttpResponse::Ok().json(code))
}

#[utoipa::path(get, path = "/v4/VaultItem/{VaultItemGuid}/History", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID"), HistoryQuery),
    responses((status = 200, description = "Changes to the item, newest first", body = [HistoryEntry]), ReadErrors))]
pub async fn item_history(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path)?;
    let filter = query.into_inner().filter()?;
    let entries = state
        .read(caller.into(), move |w| {
            HistoryEntry::all(items::history(w, guid, &filter)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(entries))
}

#[utoipa::path(get, path = "/v4/VaultItem/{VaultItemGuid}/Usage", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID")),
    responses((status = 200, description = "Who uses the item", body = [Usage]), ReadErrors))]
pub async fn list_usage(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path)?;
    Ok(HttpResponse::Ok().json(
        state
            .read(caller.into(), move |w| usage::list(w, guid))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v4/VaultItem/{VaultItemGuid}/Usage", tag = "VaultItem", request_body = UsageInput,
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID")),
    responses((status = 201, description = "Registered", body = UsageCreated), WriteErrors))]
pub async fn add_usage(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
    body: ApiJson<UsageInput>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path)?;
    let created = state
        .write(caller.into(), move |w| {
            usage::add(w, guid, body.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(delete, path = "/v4/VaultItem/{VaultItemGuid}/Usage/{UsageGuid}", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID"), ("UsageGuid" = Guid, Path, description = "The usage to release")),
    responses((status = 204, description = "Released"), ReadErrors))]
pub async fn remove_usage(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path.0)?;
    let usage_guid = Guid::from_path("UsageGuid", &path.1)?;
    state
        .write(caller.into(), move |w| usage::remove(w, guid, usage_guid))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v4/VaultItem/{VaultItemGuid}/Versions", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID")),
    responses((status = 200, description = "The item's previous values kept (`secret_versions_kept`), newest first: number, when and by whom they were written; never the values", body = [VaultItemVersion]), ReadErrors))]
pub async fn list_versions(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let guid = Guid::from_path("VaultItemGuid", &path)?;
    Ok(HttpResponse::Ok().json(
        state
            .read(caller.into(), move |w| items::list_versions(w, guid))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v4/VaultItem/{VaultItemGuid}/Versions/{Version}/Reveal", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID"), ("Version" = i64, Path, description = "A kept version's number")),
    responses((status = 200, description = "The item with that version's sensitive values, as Reveal shows them (recorded in history)", body = VaultItem), ReadErrors))]
pub async fn reveal_version(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (guid, version) = path.into_inner();
    let guid = Guid::from_path("VaultItemGuid", &guid)?;
    let item = state
        .write(caller.into(), move |w| {
            items::reveal_version(w, guid, &version)
        })
        .await?;
    Ok(HttpResponse::Ok().json(item))
}

#[utoipa::path(post, path = "/v4/VaultItem/{VaultItemGuid}/Versions/{Version}/Restore", tag = "VaultItem",
    params(("VaultItemGuid" = Guid, Path, description = "The item's GUID"), ("Version" = i64, Path, description = "A kept version's number")),
    responses((status = 204, description = "That version's values are current again, as a new version; the values they replaced are kept in turn (recorded in history)"), WriteErrors))]
pub async fn restore_version(
    state: web::Data<AppState>,
    caller: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (guid, version) = path.into_inner();
    let guid = Guid::from_path("VaultItemGuid", &guid)?;
    state
        .write(caller.into(), move |w| {
            items::restore_version(w, guid, &version)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

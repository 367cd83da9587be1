//! `GET /v4/History` and the shapes every per-object history shares (SPEC §7).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Permission, Principal};
use crate::db::history::{self, Filter, HistoryRow};
use crate::error::{AppError, AppResult};
use crate::routes::admin::admin_read;
use crate::routes::docs::ReadErrors;
use crate::state::AppState;
use crate::time::{parse_instant, rfc3339};

pub const OBJECT_TYPES: [&str; 6] = [
    "ApiKey",
    "Operator",
    "OperatorGroup",
    "VaultSection",
    "VaultSectionAuthorization",
    "VaultItem",
];

/// One change: what, when, and who (the API key and its contact's names, kept
/// even after the key is deleted). Never a secret value.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEntry {
    pub history_id: i64,
    #[schema(format = DateTime)]
    pub timestamp: String,
    pub object_type: String,
    pub object_guid: String,
    /// The section of an item or authorization; empty otherwise.
    pub related_guid: String,
    /// e.g. `Created`, `Updated`, `Deleted`, `Revoked`, `Revealed`.
    pub action: String,
    /// Empty for changes made by coffre itself (init, the expiry sweep).
    pub api_key_guid: String,
    pub contact_first_name: String,
    pub contact_last_name: String,
    /// Which fields changed (never their values).
    pub details: String,
}

impl HistoryEntry {
    /// Rows as the API shows them.
    pub fn all(rows: Vec<HistoryRow>) -> AppResult<Vec<HistoryEntry>> {
        Ok(rows.into_iter().map(HistoryEntry::from).collect())
    }
}

impl From<HistoryRow> for HistoryEntry {
    fn from(r: HistoryRow) -> Self {
        HistoryEntry {
            history_id: r.id,
            timestamp: rfc3339(r.at),
            object_type: r.object_type,
            object_guid: r.object_guid,
            related_guid: r.related_guid.unwrap_or_default(),
            action: r.action,
            api_key_guid: r.api_key_guid.unwrap_or_default(),
            contact_first_name: r.contact_first_name,
            contact_last_name: r.contact_last_name,
            details: r.details,
        }
    }
}

/// The kinds of object history records (for the schema of `ObjectType`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum HistoryObjectType {
    ApiKey,
    Operator,
    OperatorGroup,
    VaultSection,
    VaultSectionAuthorization,
    VaultItem,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only this kind of object: ApiKey, Operator, OperatorGroup, VaultSection,
    /// VaultSectionAuthorization or VaultItem.
    #[serde(rename = "ObjectType")]
    #[param(rename = "ObjectType", value_type = Option<HistoryObjectType>)]
    pub object_type: Option<String>,
    /// Only changes at or after this instant (RFC 3339).
    #[serde(rename = "Since")]
    #[param(rename = "Since", format = DateTime)]
    pub since: Option<String>,
    /// At most this many entries (1–10000, default 1000), newest first.
    #[serde(rename = "Limit")]
    #[param(rename = "Limit", minimum = 1, maximum = 10000)]
    pub limit: Option<i64>,
}

impl HistoryQuery {
    pub fn filter(self, allow_object_type: bool) -> AppResult<Filter> {
        let object_type = match self.object_type {
            Some(t) if !allow_object_type => {
                let _ = t;
                return Err(AppError::bad_request(
                    "InvalidQuery",
                    "ObjectType filters GET /v4/History only.",
                ));
            }
            Some(t) if !OBJECT_TYPES.contains(&t.as_str()) => {
                return Err(AppError::bad_request(
                    "InvalidQuery",
                    format!("ObjectType must be one of {}.", OBJECT_TYPES.join(", ")),
                ));
            }
            other => other,
        };
        let since_ms = self
            .since
            .map(|s| parse_instant("Since", &s).map(|t| t.timestamp_millis()))
            .transpose()?;
        let limit = self.limit.unwrap_or(1000);
        if !(1..=10_000).contains(&limit) {
            return Err(AppError::bad_request(
                "InvalidQuery",
                "Limit must be between 1 and 10000.",
            ));
        }
        Ok(Filter {
            object_type,
            since_ms,
            limit,
        })
    }
}

#[utoipa::path(get, path = "/v4/History", tag = "History", params(HistoryQuery),
    responses((status = 200, description = "Every change, newest first", body = [HistoryEntry]), ReadErrors))]
pub async fn list_history(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<HistoryQuery>,
) -> AppResult<HttpResponse> {
    let filter = query.into_inner().filter(true)?;
    let entries = admin_read(
        &state,
        caller,
        Some(Permission::HISTORY_READ),
        move |conn, _| HistoryEntry::all(history::list(conn, &filter)?),
    )
    .await?;
    Ok(HttpResponse::Ok().json(entries))
}

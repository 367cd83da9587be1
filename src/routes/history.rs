//! `GET /v4/History` and the shapes every per-object history shares (SPEC §7).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::db::history::{self, Filter, HistoryRow};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::query::since_and_limit;
use crate::routes::docs::ReadErrors;
use crate::state::AppState;
use crate::time::rfc3339;
use crate::types::{CredentialKind, Guid, SecretUsed};
use crate::work::Work;

pub const OBJECT_TYPES: [&str; 7] = [
    "ApiKey",
    "OAuthClient",
    "Operator",
    "OperatorGroup",
    "VaultSection",
    "VaultSectionAuthorization",
    "VaultItem",
];

/// One change: what, when, and who (the API key or OAuth client and its
/// contact's names, kept even after it is deleted). Never a secret value.
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
    /// The API key that made the change; empty for an OAuth client's, and for
    /// changes made by coffre itself (init, the expiry sweep).
    pub api_key_guid: String,
    /// The OAuth client that made the change (with one of its access tokens);
    /// empty otherwise.
    #[serde(rename = "OAuthClientGuid")]
    pub oauth_client_guid: String,
    pub contact_first_name: String,
    pub contact_last_name: String,
    /// The address the request came from (behind trusted proxies, the
    /// forwarded client); empty for changes made by coffre itself.
    pub client_address: String,
    /// Which secret of the key or client the change was made with: `Current`,
    /// or `Previous` (the one a Regenerate with a grace period replaced, while
    /// it still works); for an access token, the client secret that obtained
    /// it. Null for changes made by coffre itself.
    #[schema(nullable)]
    pub secret_used: Option<SecretUsed>,
    /// Which fields changed (never their values).
    pub details: String,
}

impl HistoryEntry {
    /// Rows as the API shows them.
    pub fn all(rows: Vec<HistoryRow>) -> AppResult<Vec<HistoryEntry>> {
        Ok(rows.into_iter().map(HistoryEntry::from).collect())
    }

    /// What a key or client did and what was done to it; a deleted one still
    /// has its history.
    pub fn for_credential(
        w: &Work<'_>,
        kind: CredentialKind,
        guid: Guid,
        filter: &Filter,
    ) -> AppResult<Vec<HistoryEntry>> {
        HistoryEntry::all(history::for_credential(w.conn, kind, guid, filter)?)
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
            oauth_client_guid: r.oauth_client_guid.unwrap_or_default(),
            contact_first_name: r.contact_first_name,
            contact_last_name: r.contact_last_name,
            client_address: r.client_address.unwrap_or_default(),
            secret_used: r.secret_used.as_deref().and_then(SecretUsed::parse),
            details: r.details,
        }
    }
}

/// The kinds of object history records (for the schema of `ObjectType`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum HistoryObjectType {
    ApiKey,
    OAuthClient,
    Operator,
    OperatorGroup,
    VaultSection,
    VaultSectionAuthorization,
    VaultItem,
}

/// The query of an object's history: a time window.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
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
    pub fn filter(self) -> AppResult<Filter> {
        let (since_ms, limit) = since_and_limit(self.since.as_deref(), self.limit)?;
        Ok(Filter {
            object_type: None,
            since_ms,
            limit,
        })
    }
}

/// The query of `GET /v4/History`: a kind of object and a time window.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryListQuery {
    /// Only this kind of object.
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

impl HistoryListQuery {
    pub fn filter(self) -> AppResult<Filter> {
        if let Some(t) = &self.object_type
            && !OBJECT_TYPES.contains(&t.as_str())
        {
            return Err(AppError::new(
                ErrorCode::InvalidQuery,
                format!("ObjectType must be one of {}.", OBJECT_TYPES.join(", ")),
            ));
        }
        let (since_ms, limit) = since_and_limit(self.since.as_deref(), self.limit)?;
        Ok(Filter {
            object_type: self.object_type,
            since_ms,
            limit,
        })
    }
}

#[utoipa::path(get, path = "/v4/History", tag = "History", params(HistoryListQuery),
    responses((status = 200, description = "Every change, newest first", body = [HistoryEntry]), ReadErrors))]
pub async fn list_history(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<HistoryListQuery>,
) -> AppResult<HttpResponse> {
    let filter = query.into_inner().filter()?;
    let entries = state
        .read(caller.into(), move |w| {
            HistoryEntry::all(history::list(w.conn, &filter)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(entries))
}

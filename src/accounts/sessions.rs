//! Who is signed in to the console (`/v4/Session`): the key a session (or a
//! request) acts with, its permissions and whether its operator is in
//! Administrators — what the console needs to offer only what the key may
//! do. Never the key itself.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::api_keys;
use crate::error::AppResult;
use crate::time::rfc3339;
use crate::types::Guid;
use crate::work::Work;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SessionInfo {
    pub api_key_guid: Guid,
    pub name: String,
    /// The key's public prefix and last 4 characters.
    pub masked_key: String,
    pub operator_guid: Guid,
    pub contact_first_name: String,
    pub contact_last_name: String,
    /// What the key may do (with `EnablePermissions` false: every permission
    /// but the explicit-only ones).
    pub permissions: Vec<String>,
    /// The key's operator is in Administrators.
    pub is_administrator: bool,
    /// When the key expires, if it does.
    #[schema(nullable, format = DateTime)]
    pub key_expires_at: Option<String>,
    /// A session unused this long ends.
    pub idle_timeout_minutes: i64,
    /// When the console session ends at the latest; null when the request
    /// came with a key rather than the session cookie.
    #[schema(nullable, format = DateTime)]
    pub session_ends_at: Option<String>,
}

/// The calling key, as the console shows it.
pub fn describe(w: &Work<'_>, session_ends_at_ms: Option<i64>) -> AppResult<SessionInfo> {
    let caller = w.key()?;
    let row = api_keys::find_by_id(w.conn, caller.key_id())?;
    Ok(SessionInfo {
        api_key_guid: row.guid,
        name: row.name,
        masked_key: row.masked_key,
        operator_guid: row.operator_guid,
        contact_first_name: row.contact_first_name,
        contact_last_name: row.contact_last_name,
        permissions: caller.permissions().names(),
        is_administrator: w.is_admin()?,
        key_expires_at: row.expires_at.map(rfc3339),
        idle_timeout_minutes: w.state.sessions.idle_timeout_mins(),
        session_ends_at: session_ends_at_ms.map(rfc3339),
    })
}

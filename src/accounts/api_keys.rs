//! API keys (SPEC §4, after Coupa): create, edit, revoke, regenerate, delete.
//! Every key acts as exactly one operator, created with it from its contact
//! fields and deleted with it. The key text exists only in the responses of
//! create and regenerate; the database keeps its keyed hash.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::conflict_from;
use crate::audit::{self, Change};
use crate::auth::index::load_entry;
use crate::crypto::{ApiKeyHasher, ApiKeyToken};
use crate::db::api_keys::{self as repo, ApiKeyRow, KeyDetails, KeySecret};
use crate::db::operators;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::time::{expiry_instant, latest_expiration_date, parse_date, rfc3339, today};
use crate::types::{Guid, KeyStatus, PermissionSet, guid, permissions};
use crate::validate;
use crate::work::Work;

/// An API key as the API shows it. `Key` appears only in the responses of
/// create and regenerate; `ContactLogin` is write-only and never appears.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ApiKey {
    pub api_key_guid: Guid,
    pub name: String,
    pub description: String,
    pub contact_first_name: String,
    pub contact_last_name: String,
    pub contact_email: String,
    /// `YYYY-MM-DD`, or null when the key never expires.
    #[schema(nullable, format = Date, example = "2030-01-31")]
    pub expiration_date: Option<String>,
    /// The instant the key stops working: 00:00:00 UTC the day after `ExpirationDate`.
    #[schema(nullable, format = DateTime)]
    pub expires_at: Option<String>,
    pub enable_permissions: bool,
    pub permissions: Vec<String>,
    /// `Active`, `Expired` or `Revoked`.
    #[schema(example = "Active")]
    pub status: &'static str,
    /// The key's public prefix and last 4 characters.
    #[schema(example = "coffre_7Gx2…f9Qa")]
    pub masked_key: String,
    pub operator_guid: Guid,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(nullable, format = DateTime)]
    pub last_used_at: Option<String>,
    /// The full key: shown once, here, and never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Create (`POST`) and replace (`PUT`) body. Read-only fields of a key fetched
/// with GET may be sent back and are ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ApiKeyInput {
    /// Required.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(nullable, max_length = 2000)]
    pub description: Option<String>,
    #[schema(nullable, max_length = 100)]
    pub contact_first_name: Option<String>,
    #[schema(nullable, max_length = 100)]
    pub contact_last_name: Option<String>,
    /// Required at creation, unique across keys, never returned. Omitted on PUT: unchanged.
    #[schema(nullable, min_length = 1, max_length = 254, pattern = r"^\S+$")]
    pub contact_login: Option<String>,
    /// Required, unique; receives the expiry e-mails.
    #[schema(value_type = String, required = true, format = Email, max_length = 254)]
    pub contact_email: Option<String>,
    /// `YYYY-MM-DD` (UTC); null, `""` or absent: never expires. Not in the past.
    #[schema(
        nullable,
        example = "2030-01-31",
        pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"
    )]
    pub expiration_date: Option<String>,
    /// Default false: every API except `ApiKey.*` and `VaultItem.Reveal`.
    pub enable_permissions: Option<bool>,
    /// `Object.Action` names, used when `EnablePermissions` is true.
    #[schema(nullable, value_type = Option<Vec<crate::types::permissions::PermissionName>>)]
    pub permissions: Option<Vec<String>>,
    /// Read-only: not sent on POST (`""`, null or the nil GUID count as not
    /// sent); on PUT, if sent, must be this key's GUID.
    #[serde(default, deserialize_with = "guid::optional")]
    #[schema(schema_with = guid::optional_schema, required = false)]
    pub api_key_guid: Option<Guid>,
    #[schema(read_only, nullable)]
    pub expires_at: Option<serde_json::Value>,
    #[schema(read_only, nullable)]
    pub status: Option<serde_json::Value>,
    #[schema(read_only, nullable)]
    pub masked_key: Option<serde_json::Value>,
    #[schema(read_only, nullable)]
    pub operator_guid: Option<serde_json::Value>,
    #[schema(read_only, nullable)]
    pub created_at: Option<serde_json::Value>,
    #[schema(read_only, nullable)]
    pub last_used_at: Option<serde_json::Value>,
    /// Cannot be set: use Regenerate.
    #[schema(read_only, nullable)]
    pub key: Option<serde_json::Value>,
}

/// The status as the API shows it: a key past its expiry instant is Expired
/// even before the sweep marks it.
pub fn status_of(stored: KeyStatus, expires_at: Option<i64>, now_ms: i64) -> &'static str {
    match stored {
        KeyStatus::Revoked => "Revoked",
        _ if expires_at.is_some_and(|e| now_ms >= e) => "Expired",
        other => other.as_str(),
    }
}

pub fn to_api(row: &ApiKeyRow, now_ms: i64, live_last_used: Option<i64>) -> ApiKey {
    let last_used = match (row.last_used_at, live_last_used) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    ApiKey {
        api_key_guid: row.guid,
        name: row.name.clone(),
        description: row.description.clone(),
        contact_first_name: row.contact_first_name.clone(),
        contact_last_name: row.contact_last_name.clone(),
        contact_email: row.contact_email.clone(),
        expiration_date: row.expiration_date.clone(),
        expires_at: row.expires_at.map(rfc3339),
        enable_permissions: row.enable_permissions,
        permissions: if row.enable_permissions {
            row.permissions.names()
        } else {
            Vec::new()
        },
        status: status_of(row.status, row.expires_at, now_ms),
        masked_key: row.masked_key.clone(),
        operator_guid: row.operator_guid,
        created_at: rfc3339(row.created_at),
        last_used_at: last_used.map(rfc3339),
        key: None,
    }
}

/// A validated body.
struct Valid {
    name: String,
    description: String,
    first: String,
    last: String,
    login: Option<String>,
    email: String,
    expiration: Option<(String, i64)>,
    enable_permissions: bool,
    permissions: PermissionSet,
}

impl Valid {
    fn details(&self) -> KeyDetails<'_> {
        KeyDetails {
            name: &self.name,
            description: &self.description,
            contact_first_name: &self.first,
            contact_last_name: &self.last,
            expiration_date: self.expiration.as_ref().map(|(d, _)| d.as_str()),
            expires_at: self.expiration.as_ref().map(|(_, e)| *e),
            enable_permissions: self.enable_permissions,
            permissions: self.permissions,
        }
    }

    fn effective(&self) -> PermissionSet {
        PermissionSet::effective(self.enable_permissions, self.permissions)
    }

    fn full_name(&self) -> String {
        let full = format!("{} {}", self.first, self.last).trim().to_string();
        if full.is_empty() {
            self.name.clone()
        } else {
            full
        }
    }
}

fn unknown_permissions(unknown: &[String]) -> AppError {
    AppError::new(
        ErrorCode::UnknownPermission,
        format!(
            "Unknown permission(s): {}. Valid permissions (case-sensitive): {}.",
            unknown
                .iter()
                .map(|u| format!("{:?}", u.chars().take(60).collect::<String>()))
                .collect::<Vec<_>>()
                .join(", "),
            permissions::all_names().join(", ")
        ),
    )
}

/// `previous_date`: the stored ExpirationDate, which may be sent back unchanged
/// even once past.
fn validate(
    input: ApiKeyInput,
    now: DateTime<Utc>,
    creating: bool,
    previous_date: Option<&str>,
) -> AppResult<Valid> {
    if input.key.is_some() {
        return Err(AppError::new(
            ErrorCode::KeyNotSettable,
            "Key cannot be set: the server generates it. Use POST /v4/ApiKey/{guid}/Regenerate for a new one.",
        ));
    }
    let name = validate::required_line("Name", input.name.as_deref(), 200)?;
    let description = validate::text(
        "Description",
        input.description.as_deref().unwrap_or(""),
        2000,
    )?;
    let first = validate::line(
        "ContactFirstName",
        input.contact_first_name.as_deref().unwrap_or(""),
        100,
    )?;
    let last = validate::line(
        "ContactLastName",
        input.contact_last_name.as_deref().unwrap_or(""),
        100,
    )?;
    let login = match (&input.contact_login, creating) {
        (None, true) => return Err(validate::required("ContactLogin")),
        (None, false) => None,
        (Some(l), _) => Some(validate::login("ContactLogin", Some(l))?),
    };
    let email = validate::email("ContactEmail", input.contact_email.as_deref())?;
    let expiration = match input
        .expiration_date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => None,
        Some(text) => {
            let date = parse_date("ExpirationDate", text)?;
            let canonical = date.format("%Y-%m-%d").to_string();
            if date > latest_expiration_date() {
                return Err(AppError::new(
                    ErrorCode::ExpirationDateTooFar,
                    format!(
                        "ExpirationDate {canonical} is too far in the future: the latest accepted \
                         date is {} (its expiry instant must be a four-digit-year RFC 3339 time). \
                         Omit ExpirationDate for a key that never expires.",
                        latest_expiration_date()
                    ),
                ));
            }
            if date < today(now) && previous_date != Some(canonical.as_str()) {
                return Err(AppError::new(
                    ErrorCode::ExpirationDatePast,
                    format!(
                        "ExpirationDate {canonical} is already past (today is {} UTC); give today \
                         or a later date, or omit it for a key that never expires.",
                        today(now)
                    ),
                ));
            }
            Some((canonical, expiry_instant(date).timestamp_millis()))
        }
    };
    let names = input.permissions.unwrap_or_default();
    let permissions = PermissionSet::parse(names.iter().map(String::as_str))
        .map_err(|u| unknown_permissions(&u))?;
    Ok(Valid {
        name,
        description,
        first,
        last,
        login,
        email,
        expiration,
        enable_permissions: input.enable_permissions.unwrap_or(false),
        permissions,
    })
}

/// A key can never grant more than it holds.
fn require_within(caller: PermissionSet, wanted: PermissionSet, verb: &str) -> AppResult<()> {
    let missing = wanted.missing_from(caller);
    if missing.is_empty() {
        return Ok(());
    }
    Err(AppError::new(
        ErrorCode::PermissionNotHeld,
        format!(
            "You cannot {verb} a key with permissions your own key lacks: {}. Narrow its \
             Permissions (with EnablePermissions true), or use a key that holds them.",
            missing.names().join(", ")
        ),
    ))
}

fn find(w: &Work<'_>, guid: Guid) -> AppResult<ApiKeyRow> {
    repo::find_by_guid(w.conn, guid)?.ok_or_else(|| {
        AppError::new(
            ErrorCode::ApiKeyNotFound,
            format!("No API key {guid}; GET /v4/ApiKey lists them."),
        )
    })
}

/// What is stored of a key: its lookup id, the keyed hash of its secret and
/// its masked form.
pub fn key_secret(hasher: &ApiKeyHasher, token: &ApiKeyToken) -> KeySecret {
    KeySecret {
        lookup_id: token.lookup_id().to_string(),
        secret_hash: hasher.hash(token),
        masked_key: token.masked(),
    }
}

fn new_secret(hasher: &ApiKeyHasher) -> (KeySecret, String) {
    let (token, full) = ApiKeyToken::generate();
    (key_secret(hasher, &token), full.to_string())
}

/// Once committed, authentication sees the key as it now is.
fn refresh_index(w: &Work<'_>, key_id: i64) -> AppResult<()> {
    let entry = load_entry(w.conn, key_id)?;
    let index = w.state.auth.index.clone();
    w.after_commit(move || index.upsert(entry))
}

fn live_last_used(w: &Work<'_>, row: &ApiKeyRow) -> Option<i64> {
    w.state.auth.index.by_id(row.id).and_then(|e| e.last_used())
}

fn history(w: &Work<'_>, guid: Guid, action: &str, details: String) -> AppResult<()> {
    w.record(Change::new("ApiKey", guid, action, details))
}

/// Keys that hold more than the caller can only be managed by a key that
/// holds as much. A refusal is recorded in the key's history.
fn require_outranks(w: &Work<'_>, row: &ApiKeyRow, verb: &str) -> AppResult<()> {
    require_within(w.permissions(), row.effective_permissions(), verb).map_err(|e| {
        let missing = row.effective_permissions().missing_from(w.permissions());
        w.refuse(
            Change::new(
                "ApiKey",
                row.guid,
                "Refused",
                format!(
                    "{verb}: the caller's key lacks {}",
                    missing.names().join(", ")
                ),
            ),
            e,
        )
    })
}

/// Regenerating hands the key's identity to the caller, who receives the new
/// secret: the caller's own operator must already hold every section right
/// the key's operator holds (or be that operator).
fn require_section_rights_of(w: &Work<'_>, row: &ApiKeyRow) -> AppResult<()> {
    let caller = w.operator_id()?;
    if row.operator_id == caller {
        return Ok(());
    }
    let lacking = crate::db::rights::rights_exceeding(w.conn, row.operator_id, caller)?;
    if lacking.is_empty() {
        return Ok(());
    }
    let right = |change: bool| {
        if change {
            "ChangeVaultSection"
        } else {
            "ViewVaultSection"
        }
    };
    let shown: Vec<String> = lacking
        .iter()
        .take(3)
        .map(|(guid, change)| format!("{} on {guid}", right(*change)))
        .collect();
    let error = AppError::new(
        ErrorCode::SectionRightsNotHeld,
        format!(
            "Regenerating gives you this key's new secret, and with it the key's vault \
             access; your own operator lacks {} section right(s) that the key's operator \
             holds ({}{}). Ask someone who holds them to regenerate it, or be granted them first.",
            lacking.len(),
            shown.join(", "),
            if lacking.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        ),
    );
    Err(w.refuse(
        Change::new(
            "ApiKey",
            row.guid,
            "Refused",
            format!(
                "regenerate: the caller's operator lacks {} section right(s) the key holds",
                lacking.len()
            ),
        ),
        error,
    ))
}

pub fn create(w: &Work<'_>, input: ApiKeyInput) -> AppResult<ApiKey> {
    create_with(w, input, Guid::new_random(), None)
}

/// `create` with the key's GUID and, optionally, the key itself given (a
/// seed fixes both; `Key` in the response is then that key). The body's own
/// `ApiKeyGuid` is not looked at.
pub fn create_with(
    w: &Work<'_>,
    input: ApiKeyInput,
    guid: Guid,
    key: Option<&ApiKeyToken>,
) -> AppResult<ApiKey> {
    let valid = validate(input, w.now, true, None)?;
    require_within(w.permissions(), valid.effective(), "create")?;
    let login = valid.login.clone().unwrap_or_default();
    let operator = operators::NewOperator {
        guid: Guid::new_random(),
        full_name: &valid.full_name(),
        email: &valid.email,
        login: &login,
        is_active: true,
    };
    let operator_id = operators::insert(w.conn, &operator, w.now_ms())
        .map_err(conflict_from("ContactLogin", "ContactEmail"))?;
    let hasher = &w.state.keys.api_key_hasher;
    let (secret, full) = match key {
        Some(token) => (key_secret(hasher, token), token.text().to_string()),
        None => new_secret(hasher),
    };
    let id = repo::insert(
        w.conn,
        guid,
        operator_id,
        &secret,
        &valid.details(),
        w.now_ms(),
    )?;
    w.record(Change::new(
        "Operator",
        operator.guid,
        "Created",
        format!("For API key {guid}"),
    ))?;
    history(w, guid, "Created", String::new())?;
    refresh_index(w, id)?;
    let row = find(w, guid)?;
    let mut out = to_api(&row, w.now_ms(), None);
    out.key = Some(full);
    Ok(out)
}

pub fn replace(w: &Work<'_>, guid: Guid, input: ApiKeyInput) -> AppResult<()> {
    if let Some(sent) = input.api_key_guid
        && sent != guid
    {
        return Err(AppError::new(
            ErrorCode::GuidMismatch,
            format!("ApiKeyGuid {sent} in the body differs from {guid} in the path."),
        ));
    }
    let row = find(w, guid)?;
    require_outranks(w, &row, "edit")?;
    let valid = validate(input, w.now, false, row.expiration_date.as_deref())?;
    require_within(w.permissions(), valid.effective(), "grant")?;

    let mut operator = operators::find_by_id(w.conn, row.operator_id)?;
    let mut changed: Vec<&str> = Vec::new();
    if operator.email != valid.email {
        changed.push("ContactEmail");
    }
    if valid.login.as_ref().is_some_and(|l| *l != operator.login) {
        changed.push("ContactLogin");
    }
    operator.email = valid.email.clone();
    if let Some(login) = &valid.login {
        operator.login = login.clone();
    }
    operator.full_name = valid.full_name();
    operators::update(w.conn, &operator).map_err(conflict_from("ContactLogin", "ContactEmail"))?;

    for (field, differs) in [
        ("Name", row.name != valid.name),
        ("Description", row.description != valid.description),
        ("ContactFirstName", row.contact_first_name != valid.first),
        ("ContactLastName", row.contact_last_name != valid.last),
        (
            "ExpirationDate",
            row.expiration_date.as_deref() != valid.expiration.as_ref().map(|(d, _)| d.as_str()),
        ),
        (
            "EnablePermissions",
            row.enable_permissions != valid.enable_permissions,
        ),
        ("Permissions", row.permissions != valid.permissions),
    ] {
        if differs {
            changed.push(field);
        }
    }
    repo::update_details(w.conn, row.id, &valid.details(), w.now_ms())?;
    history(w, guid, "Updated", audit::fields_changed(&changed))?;
    refresh_index(w, row.id)
}

pub fn revoke(w: &Work<'_>, guid: Guid) -> AppResult<ApiKey> {
    let row = find(w, guid)?;
    require_outranks(w, &row, "revoke")?;
    if row.status != KeyStatus::Revoked {
        repo::revoke(w.conn, row.id, w.now_ms())?;
        history(w, guid, "Revoked", String::new())?;
        refresh_index(w, row.id)?;
    }
    let row = find(w, guid)?;
    Ok(to_api(&row, w.now_ms(), live_last_used(w, &row)))
}

pub fn regenerate(w: &Work<'_>, guid: Guid) -> AppResult<ApiKey> {
    let row = find(w, guid)?;
    require_outranks(w, &row, "regenerate")?;
    require_section_rights_of(w, &row)?;
    let (secret, full) = new_secret(&w.state.keys.api_key_hasher);
    repo::replace_secret(w.conn, row.id, &secret, w.now_ms())?;
    history(w, guid, "Regenerated", String::new())?;
    refresh_index(w, row.id)?;
    let row = find(w, guid)?;
    let mut out = to_api(&row, w.now_ms(), live_last_used(w, &row));
    out.key = Some(full);
    Ok(out)
}

/// Deletes the key and the operator it acts as (with that operator's group
/// memberships and section authorizations). History keeps the contact names.
pub fn delete(w: &Work<'_>, guid: Guid) -> AppResult<()> {
    let row = find(w, guid)?;
    require_outranks(w, &row, "delete")?;
    crate::accounts::operators::ensure_not_last_administrator(
        w,
        row.operator_id,
        "delete this API key (it would delete its operator)",
    )?;
    repo::delete(w.conn, row.id)?;
    if repo::count_for_operator(w.conn, row.operator_id)? == 0 {
        operators::delete(w.conn, row.operator_id)?;
        w.record(Change::new(
            "Operator",
            row.operator_guid,
            "Deleted",
            format!("With API key {guid}"),
        ))?;
    }
    history(w, guid, "Deleted", String::new())?;
    let index = w.state.auth.index.clone();
    w.after_commit(move || index.remove(row.id))
}

pub fn get(w: &Work<'_>, guid: Guid) -> AppResult<ApiKey> {
    let row = find(w, guid)?;
    Ok(to_api(&row, w.now_ms(), live_last_used(w, &row)))
}

pub fn list(w: &Work<'_>) -> AppResult<Vec<ApiKey>> {
    Ok(repo::list(w.conn)?
        .iter()
        .map(|row| to_api(row, w.now_ms(), live_last_used(w, row)))
        .collect())
}

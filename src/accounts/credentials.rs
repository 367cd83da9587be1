//! What API keys and OAuth clients share (SPEC §4, issue 16): both are
//! credentials acting as exactly one operator, created with them from their
//! contact fields and deleted with them; both have an expiry date (midnight
//! UTC rule), a status, revoke and regenerate, a LastUsedAt, a history and
//! expiry e-mails; and a caller can never create, change or take over one
//! holding more than the caller holds. The rules are here, once, for both
//! kinds; `api_keys` and `oauth_clients` turn their bodies into a
//! `ContactInput` and a `Grant`, and rows into their own API shapes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::accounts::conflict_from;
use crate::audit::{self, Change};
use crate::auth::index::load_entry;
use crate::crypto::{Token, TokenHasher, TokenKind};
use crate::db::api_keys::{self as repo, ApiKeyRow, Identity, KeyDetails, KeySecret};
use crate::db::operators;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::time::{expiry_instant, latest_expiration_date, parse_date, rfc3339, today};
use crate::types::{CredentialKind, Guid, KeyStatus, PermissionSet};
use crate::validate;
use crate::work::Work;

/// Declares a create/replace body: the fields every credential has, then the
/// kind's own (given in the invocation). Read-only fields of a credential
/// fetched with GET may be sent back and are ignored.
macro_rules! credential_input {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        pub struct $name {
            /// Required.
            #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"\S")]
            pub name: Option<String>,
            #[schema(nullable, max_length = 2000)]
            pub description: Option<String>,
            #[schema(nullable, max_length = 100)]
            pub contact_first_name: Option<String>,
            #[schema(nullable, max_length = 100)]
            pub contact_last_name: Option<String>,
            /// Required at creation, unique across operators (every key and
            /// client has its own), never returned. Omitted on PUT: unchanged.
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
            $( $(#[$fmeta])* pub $field: $ty, )*
            #[schema(read_only, nullable)]
            pub expires_at: Option<serde_json::Value>,
            #[schema(read_only, nullable)]
            pub status: Option<serde_json::Value>,
            #[schema(read_only, nullable)]
            pub operator_guid: Option<serde_json::Value>,
            #[schema(read_only, nullable)]
            pub created_at: Option<serde_json::Value>,
            #[schema(read_only, nullable)]
            pub last_used_at: Option<serde_json::Value>,
            #[schema(read_only, nullable)]
            pub last_used_from: Option<serde_json::Value>,
            #[schema(read_only, nullable)]
            pub use_count: Option<serde_json::Value>,
            #[schema(read_only, nullable)]
            pub previous_key_expires_at: Option<serde_json::Value>,
            #[schema(read_only, nullable)]
            pub previous_masked_key: Option<serde_json::Value>,
        }

        impl $name {
            /// The fields every credential has, taken out for the shared rules.
            pub(crate) fn take_contact(&mut self) -> $crate::accounts::credentials::ContactInput {
                $crate::accounts::credentials::ContactInput {
                    name: self.name.take(),
                    description: self.description.take(),
                    contact_first_name: self.contact_first_name.take(),
                    contact_last_name: self.contact_last_name.take(),
                    contact_login: self.contact_login.take(),
                    contact_email: self.contact_email.take(),
                    expiration_date: self.expiration_date.take(),
                }
            }
        }
    };
}
pub(crate) use credential_input;

/// The fields every credential shows, whatever its kind.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CredentialFields {
    pub name: String,
    pub description: String,
    pub contact_first_name: String,
    pub contact_last_name: String,
    pub contact_email: String,
    /// `YYYY-MM-DD`, or null when it never expires.
    #[schema(nullable, format = Date, example = "2030-01-31")]
    pub expiration_date: Option<String>,
    /// The instant it stops working: 00:00:00 UTC the day after `ExpirationDate`.
    #[schema(nullable, format = DateTime)]
    pub expires_at: Option<String>,
    /// `Active`, `Expired` or `Revoked`.
    #[schema(example = "Active")]
    pub status: &'static str,
    /// The operator it acts as.
    pub operator_guid: Guid,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(nullable, format = DateTime)]
    pub last_used_at: Option<String>,
    /// The client address of the last authenticated request (behind trusted
    /// proxies, the forwarded client); null if never used.
    #[schema(nullable, example = "203.0.113.7")]
    pub last_used_from: Option<String>,
    /// Authenticated requests made with it, ever (a restart may lose the
    /// last `last_used_flush_secs` of counts).
    pub use_count: i64,
    /// While the secret a Regenerate with `GracePeriodHours` replaced still
    /// works: the instant it stops. Null otherwise.
    #[schema(nullable, format = DateTime)]
    pub previous_key_expires_at: Option<String>,
    /// That previous secret's masked form, while it works; null otherwise.
    #[schema(nullable)]
    pub previous_masked_key: Option<String>,
}

/// The optional body of `POST …/Regenerate`: absent, empty or `{}` is a
/// plain regenerate.
#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegenerateInput {
    /// 0–168 (default 0): how many hours the secret being replaced keeps
    /// working beside the new one. 0: it stops at once.
    #[schema(minimum = 0, maximum = 168, default = 0)]
    pub grace_period_hours: Option<i64>,
}

/// The longest grace period a Regenerate gives the replaced secret: a week.
pub const MAX_GRACE_HOURS: i64 = 168;

impl RegenerateInput {
    /// The grace period in ms (0: none), or a 400 saying what is allowed.
    pub fn grace_ms(&self) -> AppResult<i64> {
        match self.grace_period_hours.unwrap_or(0) {
            h @ 0..=MAX_GRACE_HOURS => Ok(h * 3_600_000),
            _ => Err(AppError::new(
                ErrorCode::InvalidField,
                format!(
                    "GracePeriodHours must be a whole number from 0 to {MAX_GRACE_HOURS} (0, \
                     the default: the old secret stops at once)."
                ),
            )),
        }
    }
}

/// The shared fields of a body, before validation.
#[derive(Debug, Default)]
pub struct ContactInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub contact_first_name: Option<String>,
    pub contact_last_name: Option<String>,
    pub contact_login: Option<String>,
    pub contact_email: Option<String>,
    pub expiration_date: Option<String>,
}

/// What a credential may do: for a key, its `EnablePermissions` and selected
/// `Permissions`; for a client, its scopes (always explicit).
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub enable_permissions: bool,
    pub permissions: PermissionSet,
}

impl Grant {
    pub fn effective(self) -> PermissionSet {
        PermissionSet::effective(self.enable_permissions, self.permissions)
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
    grant: Grant,
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
            enable_permissions: self.grant.enable_permissions,
            permissions: self.grant.permissions,
        }
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

/// A credential just created or regenerated, with its secret (shown once).
pub struct WithSecret {
    pub row: ApiKeyRow,
    pub secret: Zeroizing<String>,
}

/// The status as the API shows it: a credential past its expiry instant is
/// Expired even before the sweep marks it.
pub fn status_of(stored: KeyStatus, expires_at: Option<i64>, now_ms: i64) -> &'static str {
    match stored {
        KeyStatus::Revoked => "Revoked",
        _ if expires_at.is_some_and(|e| now_ms >= e) => "Expired",
        other => other.as_str(),
    }
}

/// What the index counted in memory and the database may not hold yet.
#[derive(Debug, Default, Clone)]
pub struct LiveUsage {
    pub last_used: Option<i64>,
    pub last_used_from: Option<String>,
    pub use_count: i64,
}

/// The shared fields as the API shows them.
pub fn fields(row: &ApiKeyRow, now_ms: i64, live: LiveUsage) -> CredentialFields {
    let last_used = match (row.last_used_at, live.last_used) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let last_used_from = match live.last_used_from {
        Some(from) if live.last_used >= row.last_used_at => Some(from),
        _ => row.last_used_from.clone(),
    };
    let previous = row.previous.as_ref().filter(|p| p.expires_at > now_ms);
    CredentialFields {
        name: row.name.clone(),
        description: row.description.clone(),
        contact_first_name: row.contact_first_name.clone(),
        contact_last_name: row.contact_last_name.clone(),
        contact_email: row.contact_email.clone(),
        expiration_date: row.expiration_date.clone(),
        expires_at: row.expires_at.map(rfc3339),
        status: status_of(row.status, row.expires_at, now_ms),
        operator_guid: row.operator_guid,
        created_at: rfc3339(row.created_at),
        last_used_at: last_used.map(rfc3339),
        last_used_from,
        use_count: row.use_count.max(live.use_count),
        previous_key_expires_at: previous.map(|p| rfc3339(p.expires_at)),
        previous_masked_key: previous.map(|p| p.masked_key.clone()),
    }
}

/// `fields`, with the usage the index holds and the database may not yet.
pub fn fields_now(w: &Work<'_>, row: &ApiKeyRow) -> CredentialFields {
    let live = w
        .state
        .auth
        .index
        .by_id(row.id)
        .map(|e| LiveUsage {
            last_used: e.last_used(),
            last_used_from: e.last_used_from().map(|ip| ip.to_string()),
            use_count: e.use_count(),
        })
        .unwrap_or_default();
    fields(row, w.now_ms(), live)
}

/// `previous_date`: the stored ExpirationDate, which may be sent back unchanged
/// even once past.
fn validate(
    kind: CredentialKind,
    input: ContactInput,
    grant: Grant,
    now: DateTime<Utc>,
    creating: bool,
    previous_date: Option<&str>,
) -> AppResult<Valid> {
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
        Some(text) => Some(expiration(kind, text, now, previous_date)?),
    };
    Ok(Valid {
        name,
        description,
        first,
        last,
        login,
        email,
        expiration,
        grant,
    })
}

/// The canonical date and its expiry instant (Unix ms).
fn expiration(
    kind: CredentialKind,
    text: &str,
    now: DateTime<Utc>,
    previous_date: Option<&str>,
) -> AppResult<(String, i64)> {
    let date = parse_date("ExpirationDate", text)?;
    let canonical = date.format("%Y-%m-%d").to_string();
    if date > latest_expiration_date() {
        return Err(AppError::new(
            ErrorCode::ExpirationDateTooFar,
            format!(
                "ExpirationDate {canonical} is too far in the future: the latest accepted \
                 date is {} (its expiry instant must be a four-digit-year RFC 3339 time). \
                 Omit ExpirationDate for {} that never expires.",
                latest_expiration_date(),
                article(kind)
            ),
        ));
    }
    if date < today(now) && previous_date != Some(canonical.as_str()) {
        return Err(AppError::new(
            ErrorCode::ExpirationDatePast,
            format!(
                "ExpirationDate {canonical} is already past (today is {} UTC); give today \
                 or a later date, or omit it for {} that never expires.",
                today(now),
                article(kind)
            ),
        ));
    }
    Ok((canonical, expiry_instant(date).timestamp_millis()))
}

/// "a key", "an OAuth client".
fn article(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ApiKey => "a key",
        CredentialKind::OAuthClient => "an OAuth client",
    }
}

/// Permissions as the kind names them: `Object.Action` for a key, scopes
/// (with the permission each grants) for a client.
pub fn describe(kind: CredentialKind, set: PermissionSet) -> String {
    match kind {
        CredentialKind::ApiKey => set.names().join(", "),
        CredentialKind::OAuthClient => set
            .iter()
            .map(|p| format!("{} ({p})", p.scope()))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Words that are not permissions (or scopes): a 400 naming them (shortened,
/// quoted) and every valid one.
pub fn unknown_names(code: ErrorCode, what: &str, unknown: &[String], valid: &[&str]) -> AppError {
    AppError::new(
        code,
        format!(
            "Unknown {what}(s): {}. Valid {what}s (case-sensitive): {}.",
            unknown
                .iter()
                .map(|u| format!("{:?}", u.chars().take(60).collect::<String>()))
                .collect::<Vec<_>>()
                .join(", "),
            valid.join(", ")
        ),
    )
}

/// A caller can never grant more than it holds.
fn require_within(
    kind: CredentialKind,
    caller: PermissionSet,
    wanted: PermissionSet,
    verb: &str,
) -> AppResult<()> {
    let missing = wanted.missing_from(caller);
    if missing.is_empty() {
        return Ok(());
    }
    let narrow = match kind {
        CredentialKind::ApiKey => "Narrow its Permissions (with EnablePermissions true)",
        CredentialKind::OAuthClient => "Narrow its Scopes",
    };
    Err(AppError::new(
        ErrorCode::PermissionNotHeld,
        format!(
            "You cannot {verb} {} holding permissions you lack yourself: {}. {narrow}, or use \
             a key or token that holds them.",
            article(kind),
            describe(kind, missing)
        ),
    ))
}

/// A credential of this kind, or a 404 naming where they are listed.
pub fn find(w: &Work<'_>, kind: CredentialKind, guid: Guid) -> AppResult<ApiKeyRow> {
    repo::find_by_guid(w.conn, kind, guid)?.ok_or_else(|| {
        let code = match kind {
            CredentialKind::ApiKey => ErrorCode::ApiKeyNotFound,
            CredentialKind::OAuthClient => ErrorCode::OAuthClientNotFound,
        };
        AppError::new(
            code,
            format!("No {} {guid}; GET {} lists them.", kind.noun(), kind.path()),
        )
    })
}

/// The filters of `GET /v4/ApiKey` and `GET /v4/OAuthClient` (issue 15).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only those with no authenticated request at or after now − N × 24 h
    /// (0–36500); one never used counts from its `CreatedAt`.
    #[serde(rename = "UnusedForDays")]
    #[param(rename = "UnusedForDays", value_type = Option<u32>, minimum = 0, maximum = 36500)]
    pub unused_for_days: Option<String>,
    /// Only those in this state: Active, Expired or Revoked (as shown, so a
    /// credential past its expiry is Expired before the sweep marks it).
    #[serde(rename = "Status")]
    #[param(rename = "Status", value_type = Option<String>, example = "Active")]
    pub status: Option<String>,
}

/// A parsed `ListQuery`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ListFilter {
    status: Option<&'static str>,
    /// Unix ms: only those unused since this instant.
    unused_since: Option<i64>,
}

pub const MAX_UNUSED_DAYS: i64 = 36_500;

impl ListQuery {
    pub fn filter(self, now_ms: i64) -> AppResult<ListFilter> {
        let status = match self.status.as_deref() {
            None => None,
            Some(text) => Some(
                ["Active", "Expired", "Revoked"]
                    .into_iter()
                    .find(|s| *s == text)
                    .ok_or_else(|| {
                        AppError::new(
                            ErrorCode::InvalidQuery,
                            "Status must be Active, Expired or Revoked (case-sensitive).",
                        )
                    })?,
            ),
        };
        let unused_since = match self.unused_for_days.as_deref() {
            None => None,
            Some(text) => {
                let days = text
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (0..=MAX_UNUSED_DAYS).contains(d))
                    .ok_or_else(|| {
                        AppError::new(
                            ErrorCode::InvalidQuery,
                            format!(
                                "UnusedForDays must be a whole number of days from 0 to \
                                 {MAX_UNUSED_DAYS}."
                            ),
                        )
                    })?;
                Some(now_ms - days * 86_400_000)
            }
        };
        Ok(ListFilter {
            status,
            unused_since,
        })
    }
}

/// Every credential of the kind that passes `filter`, with the usage the
/// index counted and the database may not hold yet.
pub fn list(w: &Work<'_>, kind: CredentialKind, filter: ListFilter) -> AppResult<Vec<ApiKeyRow>> {
    let now = w.now_ms();
    Ok(repo::list_of(w.conn, kind)?
        .into_iter()
        .filter(|row| {
            filter
                .status
                .is_none_or(|s| status_of(row.status, row.expires_at, now) == s)
        })
        .filter(|row| {
            filter.unused_since.is_none_or(|since| {
                let live = w.state.auth.index.by_id(row.id).and_then(|e| e.last_used());
                let last = row.last_used_at.max(live).unwrap_or(row.created_at);
                last < since
            })
        })
        .collect())
}

/// A new secret of the kind's format: the columns to store, and the text to
/// show once.
pub fn new_secret(hasher: &TokenHasher, kind: CredentialKind) -> (KeySecret, Zeroizing<String>) {
    let token_kind = match kind {
        CredentialKind::ApiKey => TokenKind::ApiKey,
        CredentialKind::OAuthClient => TokenKind::ClientSecret,
    };
    let (token, full) = Token::generate(token_kind);
    (secret_of(hasher, &token), full)
}

/// What is stored of a secret: its lookup id, its keyed hash and its masked form.
pub fn secret_of(hasher: &TokenHasher, token: &Token) -> KeySecret {
    KeySecret {
        lookup_id: token.lookup_id().to_string(),
        secret_hash: hasher.hash(token),
        masked_key: token.masked(),
    }
}

/// Once committed, authentication sees the credential as it now is.
fn refresh_index(w: &Work<'_>, id: i64) -> AppResult<()> {
    let entry = load_entry(w.conn, id)?;
    let index = w.state.auth.index.clone();
    w.after_commit(move || index.upsert(entry))
}

fn history(w: &Work<'_>, row: &ApiKeyRow, action: &str, details: String) -> AppResult<()> {
    w.record(Change::new(row.kind.as_str(), row.guid, action, details))
}

/// A credential that holds more than the caller can only be managed by one
/// that holds as much. A refusal is recorded in its history.
fn require_outranks(w: &Work<'_>, row: &ApiKeyRow, verb: &str) -> AppResult<()> {
    let held = row.effective_permissions();
    require_within(row.kind, w.permissions(), held, verb).map_err(|e| {
        let missing = held.missing_from(w.permissions());
        w.refuse(
            Change::new(
                row.kind.as_str(),
                row.guid,
                "Refused",
                format!("{verb}: the caller lacks {}", missing.names().join(", ")),
            ),
            e,
        )
    })
}

/// Regenerating hands the credential's identity to the caller, who receives
/// the new secret: the caller's own operator must already hold every section
/// right the credential's operator holds (or be that operator).
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
    let noun = row.kind.noun();
    let error = AppError::new(
        ErrorCode::SectionRightsNotHeld,
        format!(
            "Regenerating gives you this {noun}'s new secret, and with it its vault access; \
             your own operator lacks {} section right(s) that the {noun}'s operator holds \
             ({}{}). Ask someone who holds them to regenerate it, or be granted them first.",
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
            row.kind.as_str(),
            row.guid,
            "Refused",
            format!(
                "regenerate: the caller's operator lacks {} section right(s) the {noun} holds",
                lacking.len()
            ),
        ),
        error,
    ))
}

/// An OAuth client's access tokens die with what happens to it.
fn forget_tokens(w: &Work<'_>, row: &ApiKeyRow) -> AppResult<()> {
    if row.kind == CredentialKind::OAuthClient {
        crate::oauth::tokens::forget_for_client(w, row.id)?;
    }
    Ok(())
}

pub fn create(
    w: &Work<'_>,
    kind: CredentialKind,
    contact: ContactInput,
    grant: Grant,
) -> AppResult<WithSecret> {
    create_with(w, kind, contact, grant, Guid::new_random(), None)
}

/// `create` with the GUID and, optionally, the secret itself given (a seed
/// fixes both; the secret shown is then that one).
pub fn create_with(
    w: &Work<'_>,
    kind: CredentialKind,
    contact: ContactInput,
    grant: Grant,
    guid: Guid,
    given: Option<&Token>,
) -> AppResult<WithSecret> {
    let valid = validate(kind, contact, grant, w.now, true, None)?;
    require_within(kind, w.permissions(), valid.grant.effective(), "create")?;
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
    let hasher = &w.state.keys.token_hasher;
    let (secret, full) = match given {
        Some(token) => (secret_of(hasher, token), token.text()),
        None => new_secret(hasher, kind),
    };
    let client_id = (kind == CredentialKind::OAuthClient).then(crate::crypto::token::new_client_id);
    let identity = Identity {
        guid,
        kind,
        client_id: client_id.as_deref(),
        operator_id,
    };
    let id = repo::insert_credential(w.conn, &identity, &secret, &valid.details(), w.now_ms())?;
    w.record(Change::new(
        "Operator",
        operator.guid,
        "Created",
        format!("For {} {}", kind.noun(), identity.guid),
    ))?;
    let row = repo::find_by_id(w.conn, id)?;
    history(w, &row, "Created", String::new())?;
    refresh_index(w, id)?;
    Ok(WithSecret { row, secret: full })
}

pub fn replace(
    w: &Work<'_>,
    kind: CredentialKind,
    guid: Guid,
    contact: ContactInput,
    grant: Grant,
) -> AppResult<()> {
    let row = find(w, kind, guid)?;
    require_outranks(w, &row, "edit")?;
    let valid = validate(
        kind,
        contact,
        grant,
        w.now,
        false,
        row.expiration_date.as_deref(),
    )?;
    require_within(kind, w.permissions(), valid.grant.effective(), "grant")?;

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

    let permissions_field = match kind {
        CredentialKind::ApiKey => "Permissions",
        CredentialKind::OAuthClient => "Scopes",
    };
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
            row.enable_permissions != valid.grant.enable_permissions,
        ),
        (
            permissions_field,
            row.permissions != valid.grant.permissions,
        ),
    ] {
        if differs {
            changed.push(field);
        }
    }
    repo::update_details(w.conn, row.id, &valid.details(), w.now_ms())?;
    history(w, &row, "Updated", audit::fields_changed(&changed))?;
    refresh_index(w, row.id)
}

pub fn revoke(w: &Work<'_>, kind: CredentialKind, guid: Guid) -> AppResult<ApiKeyRow> {
    let row = find(w, kind, guid)?;
    require_outranks(w, &row, "revoke")?;
    if row.status != KeyStatus::Revoked {
        repo::revoke(w.conn, row.id, w.now_ms())?;
        history(w, &row, "Revoked", String::new())?;
        forget_tokens(w, &row)?;
        refresh_index(w, row.id)?;
    }
    find(w, kind, guid)
}

/// A new secret. With a grace period (`grace_ms` > 0) the secret being
/// replaced keeps working until now + grace, beside the new one, and the
/// contact is told; any earlier previous secret stops at once (one at most).
/// A revoked or expired credential's secret gets no grace: it was not working.
/// An OAuth client's access tokens die either way (issue 16).
pub fn regenerate(
    w: &Work<'_>,
    kind: CredentialKind,
    guid: Guid,
    grace_ms: i64,
) -> AppResult<WithSecret> {
    let row = find(w, kind, guid)?;
    require_outranks(w, &row, "regenerate")?;
    require_section_rights_of(w, &row)?;
    let now = w.now_ms();
    let working = status_of(row.status, row.expires_at, now) == "Active";
    let grace_until = (grace_ms > 0 && working).then(|| now + grace_ms);
    let (secret, full) = new_secret(&w.state.keys.token_hasher, kind);
    repo::replace_secret(w.conn, row.id, &secret, grace_until, now)?;
    let details = match grace_until {
        Some(until) => format!(
            "Grace period: the previous secret works until {}",
            rfc3339(until)
        ),
        None => String::new(),
    };
    history(w, &row, "Regenerated", details)?;
    forget_tokens(w, &row)?;
    refresh_index(w, row.id)?;
    let row = find(w, kind, guid)?;
    if grace_until.is_some() {
        crate::lifecycle::grace_started(w, &row)?;
    }
    Ok(WithSecret { row, secret: full })
}

/// Deletes the credential and the operator it acts as (with that operator's
/// group memberships and section authorizations). History keeps the contact names.
pub fn delete(w: &Work<'_>, kind: CredentialKind, guid: Guid) -> AppResult<()> {
    let row = find(w, kind, guid)?;
    require_outranks(w, &row, "delete")?;
    crate::accounts::operators::ensure_not_last_administrator(
        w,
        row.operator_id,
        &format!("delete this {} (it would delete its operator)", kind.noun()),
    )?;
    forget_tokens(w, &row)?;
    repo::delete(w.conn, row.id)?;
    if repo::count_for_operator(w.conn, row.operator_id)? == 0 {
        operators::delete(w.conn, row.operator_id)?;
        w.record(Change::new(
            "Operator",
            row.operator_guid,
            "Deleted",
            format!("With {} {guid}", kind.noun()),
        ))?;
    }
    history(w, &row, "Deleted", String::new())?;
    let index = w.state.auth.index.clone();
    w.after_commit(move || index.remove(row.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grace_period_is_0_to_168_hours() {
        let grace = |h: Option<i64>| {
            RegenerateInput {
                grace_period_hours: h,
            }
            .grace_ms()
        };
        assert_eq!(grace(None).unwrap(), 0);
        assert_eq!(grace(Some(0)).unwrap(), 0);
        assert_eq!(grace(Some(168)).unwrap(), 168 * 3_600_000);
        for bad in [-1, 169, i64::MAX] {
            assert_eq!(grace(Some(bad)).unwrap_err().code(), "InvalidField");
        }
    }

    #[test]
    fn unused_for_days_counts_back_whole_days_from_now() {
        let query = |days: &str| ListQuery {
            unused_for_days: Some(days.into()),
            status: None,
        };
        let f = query("2").filter(10 * 86_400_000).unwrap();
        assert_eq!(f.unused_since, Some(8 * 86_400_000));
        assert!(query("36501").filter(0).is_err());
        assert!(query("1e3").filter(0).is_err());
    }
}

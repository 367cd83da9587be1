//! Operators (Uptrends naming). Administrators is never left without an
//! active member: deleting or deactivating its last one is refused.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::conflict_from;
use crate::audit::{self, Change};
use crate::db::operators::{self as repo, NewOperator, OperatorRow};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Guid, Ignored, StateHash, guid, ignored_schema};
use crate::validate;
use crate::work::Work;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Operator {
    pub operator_guid: Guid,
    /// A digest of what this response shows: it changes exactly when a GET
    /// would show a change.
    #[schema(min_length = 64, max_length = 64)]
    pub hash: String,
    pub full_name: String,
    pub email: String,
    pub login: String,
    pub is_active: bool,
}

impl From<&OperatorRow> for Operator {
    fn from(r: &OperatorRow) -> Self {
        let hash = StateHash::new("Operator")
            .text(&r.guid.to_text())
            .text(&r.full_name)
            .text(&r.email)
            .text(&r.login)
            .flag(r.is_active)
            .finish();
        Operator {
            operator_guid: r.guid,
            hash,
            full_name: r.full_name.clone(),
            email: r.email.clone(),
            login: r.login.clone(),
            is_active: r.is_active,
        }
    }
}

/// `POST` and `PUT` need `FullName` and `Email`; `PATCH` changes only what
/// is sent. `Login` defaults to the e-mail address (which serves as the user
/// name in Uptrends); a login that is the e-mail address follows it when
/// `Email` changes and `Login` is not sent. `IsActive` defaults to true.
/// The other fields of Uptrends' published Operator model are accepted and
/// ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OperatorInput {
    /// Read-only: not sent on POST (`""`, null or the nil GUID count as not
    /// sent); on PUT/PATCH, if sent, must be the operator's GUID.
    #[serde(default, deserialize_with = "guid::optional")]
    #[schema(schema_with = guid::optional_schema, required = false)]
    pub operator_guid: Option<Guid>,
    #[schema(nullable, min_length = 1, max_length = 200, pattern = r"\S")]
    pub full_name: Option<String>,
    #[schema(nullable, format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Default: the e-mail address. Unique, case-insensitive.
    #[schema(nullable, min_length = 1, max_length = 254, pattern = r"^\S+$")]
    pub login: Option<String>,
    pub is_active: Option<bool>,
    #[schema(schema_with = ignored_schema, required = false)]
    pub hash: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub password: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub mobile_phone: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub outgoing_phone_number_id: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub outgoing_phone_number_id_specified: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub is_account_administrator: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub backup_email: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub is_on_duty: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub culture_name: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub culture_name_specified: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub time_zone_id: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub time_zone_id_specified: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub sms_provider: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub use_numeric_sender: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub use_numeric_sender_specified: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub default_dashboard: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub allow_native_login: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub allow_native_login_specified: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub allow_single_signon: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub allow_single_signon_specified: Ignored,
    #[schema(schema_with = ignored_schema, required = false)]
    pub setup_mode: Ignored,
}

pub fn not_found(guid: Guid) -> AppError {
    AppError::new(
        ErrorCode::OperatorNotFound,
        format!("No operator {guid}; GET /v4/Operator lists them."),
    )
}

pub fn find(w: &Work<'_>, guid: Guid) -> AppResult<OperatorRow> {
    repo::find_by_guid(w.conn, guid)?.ok_or_else(|| not_found(guid))
}

/// Refuses when removing `operator_id` from the active administrators would
/// leave none.
pub fn ensure_not_last_administrator(w: &Work<'_>, operator_id: i64, doing: &str) -> AppResult<()> {
    if !crate::db::rights::is_administrator(w.conn, operator_id)? {
        return Ok(());
    }
    let op = repo::find_by_id(w.conn, operator_id)?;
    let (_, active) = crate::db::rights::administrators(w.conn)?;
    if !op.is_active || active > 1 {
        return Ok(());
    }
    Err(AppError::new(
        ErrorCode::LastAdministrator,
        format!(
            "Cannot {doing}: {} is the last active member of Administrators, and the account \
             would have no administrator left. Add another active operator to Administrators first.",
            op.guid
        ),
    ))
}

fn history(w: &Work<'_>, guid: Guid, action: &str, details: String) -> AppResult<()> {
    w.record(Change::new("Operator", guid, action, details))
}

/// `require_outranks_keys_of`, with a refusal recorded in the operator's history.
fn require_outranks_keys_of(w: &Work<'_>, row: &OperatorRow, doing: &str) -> AppResult<()> {
    crate::accounts::require_outranks_keys_of(w, row.id, doing).map_err(|e| {
        let details = format!("{doing}: {}", e.messages()[0].message);
        w.refuse(Change::new("Operator", row.guid, "Refused", details), e)
    })
}

fn check_guid(sent: Option<Guid>, guid: Guid) -> AppResult<()> {
    match sent {
        Some(s) if s != guid => Err(AppError::new(
            ErrorCode::GuidMismatch,
            format!("OperatorGuid {s} in the body differs from {guid} in the path."),
        )),
        _ => Ok(()),
    }
}

pub fn list(w: &Work<'_>) -> AppResult<Vec<Operator>> {
    Ok(repo::list(w.conn)?.iter().map(Operator::from).collect())
}

pub fn get(w: &Work<'_>, guid: Guid) -> AppResult<Operator> {
    Ok(Operator::from(&find(w, guid)?))
}

pub fn create(w: &Work<'_>, input: OperatorInput) -> AppResult<Operator> {
    validate::server_assigned("OperatorGuid", input.operator_guid)?;
    create_with_guid(w, input, Guid::new_random())
}

/// `create` with the operator's GUID given (a seed fixes it); the body's
/// own `OperatorGuid` is not looked at.
pub fn create_with_guid(w: &Work<'_>, input: OperatorInput, guid: Guid) -> AppResult<Operator> {
    let full_name = validate::required_line("FullName", input.full_name.as_deref(), 200)?;
    let email = validate::email("Email", input.email.as_deref())?;
    let defaulted = input.login.is_none();
    let login = match input.login.as_deref() {
        Some(login) => validate::login("Login", Some(login))?,
        None => email.clone(),
    };
    let new = NewOperator {
        guid,
        full_name: &full_name,
        email: &email,
        login: &login,
        is_active: input.is_active.unwrap_or(true),
    };
    let id = repo::insert(w.conn, &new, w.now_ms()).map_err(|e| {
        // Both constraints fail when the login is the e-mail: name the one sent.
        if defaulted && repo::email_taken(w.conn, &email).unwrap_or(false) {
            crate::accounts::email_taken("Email")
        } else if defaulted {
            conflict_from("Login (by default the e-mail address)", "Email")(e)
        } else {
            conflict_from("Login", "Email")(e)
        }
    })?;
    history(w, guid, "Created", String::new())?;
    Ok(Operator::from(&repo::find_by_id(w.conn, id)?))
}

/// PUT (`partial` false: FullName and Email required) or PATCH. An omitted
/// Login stays, unless it is the e-mail address: then it follows the e-mail.
pub fn update(w: &Work<'_>, guid: Guid, input: OperatorInput, partial: bool) -> AppResult<()> {
    check_guid(input.operator_guid, guid)?;
    let mut row = find(w, guid)?;
    let before = row.clone();
    if !partial || input.full_name.is_some() {
        row.full_name = validate::required_line("FullName", input.full_name.as_deref(), 200)?;
    }
    if !partial || input.email.is_some() {
        row.email = validate::email("Email", input.email.as_deref())?;
    }
    match input.login.as_deref() {
        Some(login) => row.login = validate::login("Login", Some(login))?,
        None if before.login.eq_ignore_ascii_case(&before.email) => row.login = row.email.clone(),
        None => {}
    }
    if !partial || input.is_active.is_some() {
        row.is_active = input.is_active.unwrap_or(true);
    }
    let takes_over_a_key = [
        (
            before.is_active && !row.is_active,
            "deactivate this operator",
        ),
        (before.email != row.email, "change this operator's Email"),
        (before.login != row.login, "change this operator's Login"),
    ];
    for (_, doing) in takes_over_a_key.iter().filter(|(acts, _)| *acts) {
        require_outranks_keys_of(w, &before, doing)?;
    }
    if before.is_active && !row.is_active {
        ensure_not_last_administrator(w, row.id, "deactivate this operator")?;
    }
    repo::update(w.conn, &row).map_err(conflict_from("Login", "Email"))?;
    let mut changed = Vec::new();
    for (field, differs) in [
        ("FullName", before.full_name != row.full_name),
        ("Email", before.email != row.email),
        ("Login", before.login != row.login),
        ("IsActive", before.is_active != row.is_active),
    ] {
        if differs {
            changed.push(field);
        }
    }
    history(w, guid, "Updated", audit::fields_changed(&changed))?;
    if before.is_active != row.is_active {
        if !row.is_active {
            // An OAuth client's tokens die with its operator's deactivation
            // (reactivating it does not bring them back).
            crate::oauth::tokens::forget_for_operator(w, row.id)?;
        }
        let (index, sessions) = (w.state.auth.index.clone(), w.state.sessions.clone());
        let (id, active) = (row.id, row.is_active);
        w.after_commit(move || {
            index.set_operator_active(id, active);
            // Its keys' console sessions end for good, not just while inactive.
            if !active {
                sessions.end_for_operator(id);
            }
        })?;
    }
    Ok(())
}

pub fn delete(w: &Work<'_>, guid: Guid) -> AppResult<()> {
    let row = find(w, guid)?;
    require_outranks_keys_of(w, &row, "delete this operator")?;
    if crate::db::api_keys::count_for_operator(w.conn, row.id)? > 0 {
        return Err(AppError::new(
            ErrorCode::OperatorHasApiKey,
            "This operator is an API key's or OAuth client's identity; delete that instead \
             (DELETE /v4/ApiKey/{guid} or /v4/OAuthClient/{guid}), which deletes its operator too.",
        ));
    }
    ensure_not_last_administrator(w, row.id, "delete this operator")?;
    repo::delete(w.conn, row.id)?;
    history(w, guid, "Deleted", String::new())
}

//! Operators (Uptrends naming). Administrators is never left without an
//! active member: deleting or deactivating its last one is refused.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::conflict_from;
use crate::audit::{self, Change};
use crate::db::operators::{self as repo, NewOperator, OperatorRow};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::Guid;
use crate::validate;
use crate::work::Work;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Operator {
    pub operator_guid: Guid,
    pub full_name: String,
    pub email: String,
    pub login: String,
    pub is_active: bool,
}

impl From<&OperatorRow> for Operator {
    fn from(r: &OperatorRow) -> Self {
        Operator {
            operator_guid: r.guid,
            full_name: r.full_name.clone(),
            email: r.email.clone(),
            login: r.login.clone(),
            is_active: r.is_active,
        }
    }
}

/// `POST` and `PUT` need `FullName`, `Email` and `Login`; `PATCH` changes only
/// what is sent. `IsActive` defaults to true.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OperatorInput {
    /// Read-only; if sent, must be the operator's GUID.
    #[schema(nullable)]
    pub operator_guid: Option<Guid>,
    #[schema(nullable, min_length = 1, max_length = 200, pattern = r"\S")]
    pub full_name: Option<String>,
    #[schema(nullable, format = Email, max_length = 254)]
    pub email: Option<String>,
    #[schema(nullable, min_length = 1, max_length = 100, pattern = r"^\S+$")]
    pub login: Option<String>,
    pub is_active: Option<bool>,
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
    if input.operator_guid.is_some() {
        return Err(AppError::new(
            ErrorCode::GuidNotSettable,
            "Omit OperatorGuid: the server assigns it.",
        ));
    }
    let full_name = validate::required_line("FullName", input.full_name.as_deref(), 200)?;
    let email = validate::email("Email", input.email.as_deref())?;
    let login = validate::login("Login", input.login.as_deref())?;
    let guid = Guid::new_random();
    let new = NewOperator {
        guid,
        full_name: &full_name,
        email: &email,
        login: &login,
        is_active: input.is_active.unwrap_or(true),
    };
    let id = repo::insert(w.conn, &new, w.now_ms()).map_err(conflict_from("Login", "Email"))?;
    history(w, guid, "Created", String::new())?;
    Ok(Operator::from(&repo::find_by_id(w.conn, id)?))
}

/// PUT (`partial` false: FullName, Email, Login required) or PATCH.
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
    if !partial || input.login.is_some() {
        row.login = validate::login("Login", input.login.as_deref())?;
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
        let (index, id, active) = (w.state.auth.index.clone(), row.id, row.is_active);
        w.after_commit(move || index.set_operator_active(id, active))?;
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

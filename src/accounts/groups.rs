//! Operator groups (Uptrends naming: `Description` is the group's name). The
//! Administrators group exists from `init`, cannot be deleted or renamed, and
//! never loses its last active member.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::operators::{self, ensure_not_last_administrator};
use crate::audit::{self, Change};
use crate::db::DbError;
use crate::db::groups::{self as repo, GroupRow};
use crate::db::operators::OperatorRow;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Guid, Ignored, guid, ignored_schema};
use crate::validate;
use crate::work::Work;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OperatorGroup {
    pub operator_group_guid: Guid,
    /// The group's name.
    pub description: String,
    pub is_administrators_group: bool,
}

impl From<&GroupRow> for OperatorGroup {
    fn from(r: &GroupRow) -> Self {
        OperatorGroup {
            operator_group_guid: r.guid,
            description: r.description.clone(),
            is_administrators_group: r.is_administrators,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OperatorGroupInput {
    /// Read-only: not sent on POST (`""`, null or the nil GUID count as not
    /// sent); on PUT, if sent, must be the group's GUID.
    #[serde(default, deserialize_with = "guid::optional")]
    #[schema(schema_with = guid::optional_schema, required = false)]
    pub operator_group_guid: Option<Guid>,
    /// The group's name (required, unique).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"\S")]
    pub description: Option<String>,
    /// Read-only; if sent, must match.
    #[schema(nullable)]
    pub is_administrators_group: Option<bool>,
    #[schema(schema_with = ignored_schema, required = false)]
    pub is_everyone: Ignored,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMember {
    pub operator_guid: Guid,
}

pub fn find(w: &Work<'_>, guid: Guid) -> AppResult<GroupRow> {
    repo::find_by_guid(w.conn, guid)?.ok_or_else(|| {
        AppError::new(
            ErrorCode::OperatorGroupNotFound,
            format!("No operator group {guid}; GET /v4/OperatorGroup lists them."),
        )
    })
}

fn name_conflict(e: DbError) -> AppError {
    if e.unique_column()
        .is_some_and(|c| c.ends_with(".description"))
    {
        AppError::new(
            ErrorCode::GroupNameTaken,
            "Another operator group already has this Description; choose another.",
        )
    } else {
        AppError::from(e)
    }
}

fn history(w: &Work<'_>, guid: Guid, action: &str, details: String) -> AppResult<()> {
    w.record(Change::new("OperatorGroup", guid, action, details))
}

/// Adding an API key's operator to a group, or taking it out of one, changes
/// what that key can do: the caller must outrank the key. A refusal is
/// recorded in the group's history.
fn require_outranks_keys_of(
    w: &Work<'_>,
    group: Guid,
    op: &OperatorRow,
    doing: &str,
) -> AppResult<()> {
    crate::accounts::require_outranks_keys_of(w, op.id, doing).map_err(|e| {
        let details = format!(
            "{doing} (operator {}): {}",
            op.guid,
            e.messages()[0].message
        );
        w.refuse(Change::new("OperatorGroup", group, "Refused", details), e)
    })
}

pub fn list(w: &Work<'_>) -> AppResult<Vec<OperatorGroup>> {
    Ok(repo::list(w.conn)?
        .iter()
        .map(OperatorGroup::from)
        .collect())
}

pub fn get(w: &Work<'_>, guid: Guid) -> AppResult<OperatorGroup> {
    Ok(OperatorGroup::from(&find(w, guid)?))
}

pub fn create(w: &Work<'_>, input: OperatorGroupInput) -> AppResult<OperatorGroup> {
    validate::server_assigned("OperatorGroupGuid", input.operator_group_guid)?;
    create_with_guid(w, input, Guid::new_random())
}

/// `create` with the group's GUID given (a seed fixes it).
pub fn create_with_guid(
    w: &Work<'_>,
    input: OperatorGroupInput,
    guid: Guid,
) -> AppResult<OperatorGroup> {
    if input.is_administrators_group == Some(true) {
        return Err(AppError::new(
            ErrorCode::AdministratorsGroupExists,
            "There is exactly one Administrators group; create an ordinary group (IsAdministratorsGroup false).",
        ));
    }
    let description = validate::required_line("Description", input.description.as_deref(), 200)?;
    repo::insert(w.conn, guid, &description, false, w.now_ms()).map_err(name_conflict)?;
    history(w, guid, "Created", String::new())?;
    Ok(OperatorGroup {
        operator_group_guid: guid,
        description,
        is_administrators_group: false,
    })
}

pub fn rename(w: &Work<'_>, guid: Guid, input: OperatorGroupInput) -> AppResult<()> {
    if let Some(sent) = input.operator_group_guid
        && sent != guid
    {
        return Err(AppError::new(
            ErrorCode::GuidMismatch,
            format!("OperatorGroupGuid {sent} in the body differs from {guid} in the path."),
        ));
    }
    let row = find(w, guid)?;
    if input
        .is_administrators_group
        .is_some_and(|a| a != row.is_administrators)
    {
        return Err(AppError::new(
            ErrorCode::ReadOnlyField,
            "IsAdministratorsGroup cannot be changed.",
        ));
    }
    let description = validate::required_line("Description", input.description.as_deref(), 200)?;
    if row.is_administrators && description != row.description {
        return Err(AppError::new(
            ErrorCode::AdministratorsGroupFixed,
            "The Administrators group cannot be renamed.",
        ));
    }
    repo::rename(w.conn, row.id, &description).map_err(name_conflict)?;
    history(
        w,
        guid,
        "Updated",
        audit::fields_changed(if description != row.description {
            &["Description"]
        } else {
            &[]
        }),
    )
}

pub fn delete(w: &Work<'_>, guid: Guid) -> AppResult<()> {
    let row = find(w, guid)?;
    if row.is_administrators {
        return Err(AppError::new(
            ErrorCode::AdministratorsGroupFixed,
            "The Administrators group cannot be deleted.",
        ));
    }
    repo::delete(w.conn, row.id)?;
    history(w, guid, "Deleted", String::new())
}

pub fn members(w: &Work<'_>, guid: Guid) -> AppResult<Vec<GroupMember>> {
    let row = find(w, guid)?;
    Ok(repo::members(w.conn, row.id)?
        .into_iter()
        .map(|operator_guid| GroupMember { operator_guid })
        .collect())
}

pub fn add_member(w: &Work<'_>, guid: Guid, operator_guid: Guid) -> AppResult<GroupMember> {
    let group = find(w, guid)?;
    let op = operators::find(w, operator_guid)?;
    require_outranks_keys_of(w, guid, &op, "add this operator to the group")?;
    if repo::is_member(w.conn, group.id, op.id)? {
        return Err(AppError::new(
            ErrorCode::AlreadyMember,
            format!("Operator {operator_guid} is already a member of this group."),
        ));
    }
    repo::add_member(w.conn, group.id, op.id)?;
    history(w, guid, "MemberAdded", format!("Operator {operator_guid}"))?;
    Ok(GroupMember { operator_guid })
}

pub fn remove_member(w: &Work<'_>, guid: Guid, operator_guid: Guid) -> AppResult<()> {
    let group = find(w, guid)?;
    let op = operators::find(w, operator_guid)?;
    require_outranks_keys_of(w, guid, &op, "remove this operator from the group")?;
    if !repo::is_member(w.conn, group.id, op.id)? {
        return Err(AppError::new(
            ErrorCode::NotAMember,
            format!("Operator {operator_guid} is not a member of this group."),
        ));
    }
    if group.is_administrators {
        if repo::member_count(w.conn, group.id)? <= 1 {
            return Err(AppError::new(
                ErrorCode::LastAdministrator,
                "Cannot remove the last member of Administrators; add another member first.",
            ));
        }
        ensure_not_last_administrator(w, op.id, "remove this member")?;
    }
    repo::remove_member(w.conn, group.id, op.id)?;
    history(
        w,
        guid,
        "MemberRemoved",
        format!("Operator {operator_guid}"),
    )
}

//! Section authorizations, named as in the seed. Change brings View with it;
//! deleting View takes the same grantee's Change with it; a section never
//! loses its last Change; an identical authorization is never stored twice.
//! Administrators, and operators holding Change on the section, manage them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{change_needed, section};
use crate::audit::Change;
use crate::db::sections::{self as repo, AuthorizationRow, SectionRow};
use crate::db::{groups, operators};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{AuthorizationType, Grantee, Guid, guid};
use crate::work::Work;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Authorization {
    pub authorization_id: Guid,
    /// The section's GUID.
    pub context_id: Guid,
    pub authorization_type: AuthorizationType,
    /// The operator's GUID, or `""` for a group authorization.
    pub operator_guid: String,
    /// The group's GUID, or `""` for an operator authorization (the seed's name).
    pub operator_group_id: String,
    /// The same as `OperatorGroupId` (the name in Uptrends' published model).
    pub operator_group_guid: String,
}

fn to_api(section: Guid, row: &AuthorizationRow) -> Authorization {
    let group = row.group_guid.map(|g| g.to_text()).unwrap_or_default();
    Authorization {
        authorization_id: row.guid,
        context_id: section,
        authorization_type: row.kind,
        operator_guid: row.operator_guid.map(|g| g.to_text()).unwrap_or_default(),
        operator_group_id: group.clone(),
        operator_group_guid: group,
    }
}

/// Exactly one of `OperatorGuid` and `OperatorGroupId` (alias
/// `OperatorGroupGuid`); the other `""`, null or the nil GUID.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AuthorizationInput {
    /// Server-assigned; ignored if sent.
    #[serde(default, deserialize_with = "guid::optional")]
    #[schema(schema_with = guid::optional_schema, required = false)]
    pub authorization_id: Option<Guid>,
    /// The section's GUID; if sent, must be the one in the path.
    #[schema(nullable)]
    pub context_id: Option<String>,
    /// Required.
    #[schema(value_type = AuthorizationType, required = true)]
    pub authorization_type: Option<AuthorizationType>,
    #[schema(nullable)]
    pub operator_guid: Option<String>,
    #[schema(nullable)]
    pub operator_group_id: Option<String>,
    /// Alias of `OperatorGroupId`.
    #[schema(nullable)]
    pub operator_group_guid: Option<String>,
}

/// A GUID field sent as text: `""`, null and the nil GUID mean "none".
fn present(field: &str, v: &Option<String>) -> AppResult<Option<Guid>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Ok(Some(Guid::parse_field(field, text)?).filter(|g| !g.0.is_nil())),
    }
}

/// The section, with the caller allowed to manage its authorizations.
fn managed_section(w: &Work<'_>, guid: Guid) -> AppResult<SectionRow> {
    let (section, rights) = section(w, guid)?;
    if rights.change || w.is_admin()? {
        Ok(section)
    } else {
        Err(change_needed("managing its authorizations"))
    }
}

pub fn list(w: &Work<'_>, section_guid: Guid) -> AppResult<Vec<Authorization>> {
    let (section, _) = section(w, section_guid)?;
    Ok(repo::authorizations(w.conn, section.id)?
        .iter()
        .map(|a| to_api(section.guid, a))
        .collect())
}

fn grantee(w: &Work<'_>, input: &AuthorizationInput) -> AppResult<(Grantee, String)> {
    let operator = present("OperatorGuid", &input.operator_guid)?;
    let group_id = present("OperatorGroupId", &input.operator_group_id)?;
    let group_alias = present("OperatorGroupGuid", &input.operator_group_guid)?;
    let group = match (group_id, group_alias) {
        (Some(a), Some(b)) if a != b => {
            return Err(AppError::new(
                ErrorCode::GuidMismatch,
                "OperatorGroupId and its alias OperatorGroupGuid name different groups; send one.",
            ));
        }
        (a, b) => a.or(b),
    };
    match (operator, group) {
        (Some(op), None) => {
            let row = operators::find_by_guid(w.conn, op)?.ok_or_else(|| {
                AppError::new(
                    ErrorCode::ReferencedOperatorNotFound,
                    format!("OperatorGuid {op} names no operator; GET /v4/Operator lists them."),
                )
            })?;
            Ok((Grantee::Operator(row.id), format!("operator {op}")))
        }
        (None, Some(g)) => {
            let row = groups::find_by_guid(w.conn, g)?.ok_or_else(|| {
                AppError::new(
                    ErrorCode::ReferencedGroupNotFound,
                    format!(
                        "OperatorGroupId {g} names no operator group; GET /v4/OperatorGroup lists them."
                    ),
                )
            })?;
            Ok((Grantee::Group(row.id), format!("group {g}")))
        }
        _ => Err(AppError::new(
            ErrorCode::GranteeRequired,
            "Give exactly one of OperatorGuid (for an operator) or OperatorGroupId (for a group); leave the other \"\" or null.",
        )),
    }
}

pub fn create(
    w: &Work<'_>,
    section_guid: Guid,
    input: AuthorizationInput,
) -> AppResult<Authorization> {
    create_with_guid(w, section_guid, input, Guid::new_random())
}

/// `create` with the GUID of the authorization asked for given (a seed
/// fixes it); a View that Change brings along gets a fresh one.
pub fn create_with_guid(
    w: &Work<'_>,
    section_guid: Guid,
    input: AuthorizationInput,
    guid: Guid,
) -> AppResult<Authorization> {
    let section = managed_section(w, section_guid)?;
    if let Some(context) = present("ContextId", &input.context_id)?
        && context != section.guid
    {
        return Err(AppError::new(
            ErrorCode::GuidMismatch,
            format!(
                "ContextId {context} differs from the section {} in the path.",
                section.guid
            ),
        ));
    }
    let kind = input.authorization_type.ok_or_else(|| {
        AppError::new(
            ErrorCode::FieldRequired,
            "AuthorizationType is required: ViewVaultSection or ChangeVaultSection.",
        )
    })?;
    let (grantee, who) = grantee(w, &input)?;
    if let Some(existing) = repo::find_grant(w.conn, section.id, kind, grantee)? {
        return Err(AppError::new(
            ErrorCode::AuthorizationExists,
            format!(
                "{who} already has {} on this section (AuthorizationId {}).",
                kind.as_str(),
                existing.guid
            ),
        ));
    }
    let mut kinds = vec![kind];
    if kind == AuthorizationType::ChangeVaultSection
        && repo::find_grant(
            w.conn,
            section.id,
            AuthorizationType::ViewVaultSection,
            grantee,
        )?
        .is_none()
    {
        kinds.insert(0, AuthorizationType::ViewVaultSection);
    }
    let mut created = None;
    for k in kinds {
        let guid = if k == kind { guid } else { Guid::new_random() };
        repo::insert_authorization(w.conn, guid, section.id, k, grantee, w.now_ms())?;
        w.record(
            Change::new(
                "VaultSectionAuthorization",
                guid,
                "Created",
                format!("{} for {who}", k.as_str()),
            )
            .within(Some(section.guid)),
        )?;
        created = Some(guid);
    }
    let guid = created.ok_or_else(|| AppError::internal("no authorization created"))?;
    let row = repo::find_authorization(w.conn, section.id, guid)?
        .ok_or_else(|| AppError::internal("authorization vanished"))?;
    Ok(to_api(section.guid, &row))
}

pub fn delete(w: &Work<'_>, section_guid: Guid, authorization: Guid) -> AppResult<()> {
    let section = managed_section(w, section_guid)?;
    let row = repo::find_authorization(w.conn, section.id, authorization)?.ok_or_else(|| {
        AppError::new(
            ErrorCode::AuthorizationNotFound,
            format!("No authorization {authorization} on this section; GET /v4/VaultSection/{section_guid}/Authorization lists them."),
        )
    })?;
    let mut doomed = vec![row.clone()];
    if row.kind == AuthorizationType::ViewVaultSection
        && let Some(change) = repo::find_grant(
            w.conn,
            section.id,
            AuthorizationType::ChangeVaultSection,
            row.grantee,
        )?
    {
        doomed.push(change);
    }
    let removed_changes = doomed
        .iter()
        .filter(|a| a.kind == AuthorizationType::ChangeVaultSection)
        .count() as i64;
    if removed_changes > 0 && repo::change_count(w.conn, section.id)? <= removed_changes {
        return Err(AppError::new(
            ErrorCode::LastChangeAuthorization,
            "This would remove the last ChangeVaultSection authorization of the section and lock \
             it: grant ChangeVaultSection to another operator or group first.",
        ));
    }
    for a in doomed {
        repo::delete_authorization(w.conn, a.id)?;
        w.record(
            Change::new(
                "VaultSectionAuthorization",
                a.guid,
                "Deleted",
                a.kind.as_str().to_string(),
            )
            .within(Some(section.guid)),
        )?;
    }
    Ok(())
}

//! Vault sections. The creator's operator gets View and Change on a new
//! section and nobody else gets anything; administrators see every section.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{changeable_section, section};
use crate::audit::Change;
use crate::db::groups;
use crate::db::sections::{self as repo, SectionRow};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{AuthorizationType, Grantee, Guid, guid};
use crate::validate;
use crate::work::{Caller, Work};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct VaultSection {
    pub vault_section_guid: Guid,
    pub name: String,
}

impl From<&SectionRow> for VaultSection {
    fn from(s: &SectionRow) -> Self {
        VaultSection {
            vault_section_guid: s.guid,
            name: s.name.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VaultSectionInput {
    /// Not sent on POST (`""`, null or the nil GUID count as not sent); on
    /// PUT, if sent, must be the section's GUID.
    #[serde(default, deserialize_with = "guid::optional")]
    #[schema(schema_with = guid::optional_schema, required = false)]
    pub vault_section_guid: Option<Guid>,
    /// Required.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
}

pub fn list(w: &Work<'_>) -> AppResult<Vec<VaultSection>> {
    Ok(repo::list_visible(w.conn, w.operator_id()?, w.is_admin()?)?
        .iter()
        .map(VaultSection::from)
        .collect())
}

pub fn get(w: &Work<'_>, guid: Guid) -> AppResult<VaultSection> {
    Ok(VaultSection::from(&section(w, guid)?.0))
}

pub fn create(w: &Work<'_>, input: VaultSectionInput) -> AppResult<VaultSection> {
    validate::server_assigned("VaultSectionGuid", input.vault_section_guid)?;
    create_with_guid(w, input, Guid::new_random())
}

/// `create` with the section's GUID given (init and seeds). View and Change
/// go to the calling key's operator, or, when coffre itself creates the
/// section, to Administrators (as on the default section).
pub fn create_with_guid(
    w: &Work<'_>,
    input: VaultSectionInput,
    guid: Guid,
) -> AppResult<VaultSection> {
    let name = validate::required_line("Name", input.name.as_deref(), 200)?;
    let (grantee, who) = match w.caller {
        Caller::Key(p) => (Grantee::Operator(p.operator_id()), "the creator"),
        Caller::System(_) => {
            let admins = groups::find_administrators(w.conn)?
                .ok_or_else(|| AppError::internal("no Administrators group to give a section"))?;
            (Grantee::Group(admins.id), "Administrators")
        }
    };
    let id = repo::insert(w.conn, guid, &name, w.now_ms())?;
    w.record(Change::new("VaultSection", guid, "Created", String::new()))?;
    for kind in [
        AuthorizationType::ViewVaultSection,
        AuthorizationType::ChangeVaultSection,
    ] {
        let auth = Guid::new_random();
        repo::insert_authorization(w.conn, auth, id, kind, grantee, w.now_ms())?;
        w.record(
            Change::new(
                "VaultSectionAuthorization",
                auth,
                "Created",
                format!("{} for {who}", kind.as_str()),
            )
            .within(Some(guid)),
        )?;
    }
    Ok(VaultSection {
        vault_section_guid: guid,
        name,
    })
}

pub fn rename(w: &Work<'_>, guid: Guid, input: VaultSectionInput) -> AppResult<()> {
    if let Some(sent) = input.vault_section_guid
        && sent != guid
    {
        return Err(AppError::new(
            ErrorCode::GuidMismatch,
            format!("VaultSectionGuid {sent} in the body differs from {guid} in the path."),
        ));
    }
    let (existing, rights) = section(w, guid)?;
    let name = validate::required_line("Name", input.name.as_deref(), 200)?;
    if !rights.change {
        return Err(super::change_needed("renaming it"));
    }
    repo::rename(w.conn, existing.id, &name)?;
    w.record(Change::new(
        "VaultSection",
        guid,
        "Updated",
        crate::audit::fields_changed(if name != existing.name {
            &["Name"]
        } else {
            &[]
        }),
    ))
}

pub fn delete(w: &Work<'_>, guid: Guid) -> AppResult<()> {
    let existing = changeable_section(w, guid, "deleting it")?;
    let items = repo::item_count(w.conn, existing.id)?;
    if items > 0 {
        return Err(AppError::new(
            ErrorCode::VaultSectionNotEmpty,
            format!(
                "This section still holds {items} vault item(s); delete them first (items \
                 in use must be released before they can be deleted)."
            ),
        ));
    }
    repo::delete(w.conn, existing.id)?;
    w.record(Change::new("VaultSection", guid, "Deleted", String::new()))
}

/// The section's history: changes to it, its authorizations and its items.
pub fn history(
    w: &Work<'_>,
    guid: Guid,
    filter: &crate::db::history::Filter,
) -> AppResult<Vec<crate::db::history::HistoryRow>> {
    section(w, guid)?;
    Ok(crate::db::history::for_object(w.conn, guid, filter)?)
}

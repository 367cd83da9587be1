//! Vault sections. The creator's operator gets View and Change on a new
//! section and nobody else gets anything; administrators see every section.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Ctx, change_needed};
use crate::db::sections::{self as repo, CHANGE, Grantee, SectionRow, VIEW};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::Guid;
use crate::validate;

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
    /// Omit on POST; on PUT, if sent, must be the section's GUID.
    #[schema(nullable)]
    pub vault_section_guid: Option<Guid>,
    /// Required.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
}

pub fn list(ctx: &Ctx<'_>) -> AppResult<Vec<VaultSection>> {
    Ok(
        repo::list_visible(ctx.conn, ctx.operator_id, ctx.is_admin()?)?
            .iter()
            .map(VaultSection::from)
            .collect(),
    )
}

pub fn get(ctx: &Ctx<'_>, guid: Guid) -> AppResult<VaultSection> {
    Ok(VaultSection::from(&ctx.section(guid)?.0))
}

pub fn create(ctx: &Ctx<'_>, input: VaultSectionInput) -> AppResult<VaultSection> {
    if input.vault_section_guid.is_some() {
        return Err(AppError::new(
            ErrorCode::GuidNotSettable,
            "Omit VaultSectionGuid: the server assigns it.",
        ));
    }
    let name = validate::required_line("Name", input.name.as_deref(), 200)?;
    let guid = Guid::new_random();
    let id = repo::insert(ctx.conn, guid, &name, ctx.now_ms())?;
    ctx.record("VaultSection", guid, None, "Created", String::new())?;
    for kind in [VIEW, CHANGE] {
        let auth = Guid::new_random();
        repo::insert_authorization(
            ctx.conn,
            auth,
            id,
            kind,
            Grantee::Operator(ctx.operator_id),
            ctx.now_ms(),
        )?;
        ctx.record(
            "VaultSectionAuthorization",
            auth,
            Some(guid),
            "Created",
            format!("{kind} for the creator"),
        )?;
    }
    Ok(VaultSection {
        vault_section_guid: guid,
        name,
    })
}

pub fn rename(ctx: &Ctx<'_>, guid: Guid, input: VaultSectionInput) -> AppResult<()> {
    if let Some(sent) = input.vault_section_guid
        && sent != guid
    {
        return Err(AppError::new(
            ErrorCode::GuidMismatch,
            format!("VaultSectionGuid {sent} in the body differs from {guid} in the path."),
        ));
    }
    let (section, rights) = ctx.section(guid)?;
    let name = validate::required_line("Name", input.name.as_deref(), 200)?;
    if !rights.change {
        return Err(change_needed("renaming it"));
    }
    repo::rename(ctx.conn, section.id, &name)?;
    ctx.record(
        "VaultSection",
        guid,
        None,
        "Updated",
        crate::audit::fields_changed(if name != section.name { &["Name"] } else { &[] }),
    )
}

pub fn delete(ctx: &Ctx<'_>, guid: Guid) -> AppResult<()> {
    let (section, rights) = ctx.section(guid)?;
    if !rights.change {
        return Err(change_needed("deleting it"));
    }
    let items = repo::item_count(ctx.conn, section.id)?;
    if items > 0 {
        return Err(AppError::new(
            ErrorCode::VaultSectionNotEmpty,
            format!(
                "This section still holds {items} vault item(s); delete them first (items \
                 in use must be released before they can be deleted)."
            ),
        ));
    }
    repo::delete(ctx.conn, section.id)?;
    ctx.record("VaultSection", guid, None, "Deleted", String::new())
}

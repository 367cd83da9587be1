//! The vault (SPEC §5, after Uptrends): sections, their View/Change
//! authorizations, items of five types, usage. A section the caller cannot
//! view behaves as if it did not exist (404), and so do its items; View
//! without Change on a write is 403.

pub mod authorizations;
pub mod certificate;
pub mod encoding;
pub mod items;
pub mod otp;
pub mod pfx;
pub mod pfx_budget;
pub mod sections;
pub mod usage;

use crate::db::sections::{self as section_repo, SectionRow};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Guid, SectionRights};
use crate::work::Work;

pub fn section_not_found(guid: Guid) -> AppError {
    AppError::new(
        ErrorCode::VaultSectionNotFound,
        format!("No vault section {guid} that you can view; GET /v4/VaultSection lists yours."),
    )
}

pub fn item_not_found(guid: Guid) -> AppError {
    AppError::new(
        ErrorCode::VaultItemNotFound,
        format!("No vault item {guid} that you can view; GET /v4/VaultItem lists yours."),
    )
}

pub fn change_needed(what: &str) -> AppError {
    AppError::new(
        ErrorCode::ChangeVaultSectionRequired,
        format!(
            "You can view this section but {what} needs the ChangeVaultSection authorization; \
             someone with it (or an administrator) can grant it through \
             POST /v4/VaultSection/{{guid}}/Authorization."
        ),
    )
}

/// A section as an administrator or a viewer sees it (404 otherwise), with
/// the caller's own rights on it.
pub fn section(w: &Work<'_>, guid: Guid) -> AppResult<(SectionRow, SectionRights)> {
    let section =
        section_repo::find_by_guid(w.conn, guid)?.ok_or_else(|| section_not_found(guid))?;
    let rights = w.rights(section.id)?;
    if rights.view || w.is_admin()? {
        Ok((section, rights))
    } else {
        Err(section_not_found(guid))
    }
}

/// A section the caller may change (404 unless it can view it or administers, 403 without Change).
pub fn changeable_section(w: &Work<'_>, guid: Guid, what: &str) -> AppResult<SectionRow> {
    let (section, rights) = section(w, guid)?;
    if rights.change {
        Ok(section)
    } else {
        Err(change_needed(what))
    }
}

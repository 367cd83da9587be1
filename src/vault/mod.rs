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

use std::cell::OnceCell;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::audit::{self, Actor, Change};
use crate::auth::OperatorContext;
use crate::auth::access::{SectionRights, section_rights};
use crate::db::sections::{self as section_repo, SectionRow};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::Guid;

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

/// Who is acting, inside the database hop. Whether the operator is an
/// administrator is looked up only when a rule asks (item reads never do).
pub struct Ctx<'a> {
    pub conn: &'a Connection,
    pub operator_id: i64,
    is_admin: OnceCell<bool>,
    pub actor: Actor,
    pub now: DateTime<Utc>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        conn: &'a Connection,
        operator_id: i64,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Ctx<'a> {
        Ctx {
            conn,
            operator_id,
            is_admin: OnceCell::new(),
            actor,
            now,
        }
    }

    pub fn is_admin(&self) -> AppResult<bool> {
        if let Some(known) = self.is_admin.get() {
            return Ok(*known);
        }
        let admin = OperatorContext::load(self.conn, self.operator_id)?.is_admin;
        Ok(*self.is_admin.get_or_init(|| admin))
    }

    pub fn now_ms(&self) -> i64 {
        self.now.timestamp_millis()
    }

    pub fn rights(&self, section_id: i64) -> AppResult<SectionRights> {
        Ok(section_rights(self.conn, self.operator_id, section_id)?)
    }

    /// A section as an administrator or a viewer sees it (404 otherwise).
    pub fn section(&self, guid: Guid) -> AppResult<(SectionRow, SectionRights)> {
        let section =
            section_repo::find_by_guid(self.conn, guid)?.ok_or_else(|| section_not_found(guid))?;
        let rights = self.rights(section.id)?;
        if rights.view || self.is_admin()? {
            Ok((section, rights))
        } else {
            Err(section_not_found(guid))
        }
    }

    pub fn record(
        &self,
        object_type: &str,
        guid: Guid,
        related: Option<Guid>,
        action: &str,
        details: String,
    ) -> AppResult<()> {
        audit::record(
            self.conn,
            &self.actor,
            self.now_ms(),
            Change::new(object_type, guid, action, details).within(related),
        )?;
        Ok(())
    }
}

//! The second layer of every decision: what the key's operator may do. Account
//! administration needs membership of Administrators; vault sections need View
//! or Change, granted to the operator directly or to any of its groups.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy)]
pub struct OperatorContext {
    pub id: i64,
    pub is_admin: bool,
}

impl OperatorContext {
    pub fn load(conn: &Connection, operator_id: i64) -> AppResult<OperatorContext> {
        let is_admin: Option<i64> = conn
            .prepare_cached(
                "SELECT 1 FROM group_members m JOIN operator_groups g ON g.id = m.group_id
                 WHERE m.operator_id = ?1 AND g.is_administrators = 1",
            )?
            .query_row([operator_id], |r| r.get(0))
            .optional()?;
        Ok(OperatorContext {
            id: operator_id,
            is_admin: is_admin.is_some(),
        })
    }

    pub fn require_admin(&self) -> AppResult<()> {
        if self.is_admin {
            Ok(())
        } else {
            Err(not_administrator())
        }
    }
}

pub fn not_administrator() -> AppError {
    AppError::forbidden(
        "NotAdministrator",
        "Only members of the Administrators group may do this; an administrator can add this \
         key's operator to the group (POST /v4/OperatorGroup/{guid}/Member/{OperatorGuid}).",
    )
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SectionRights {
    pub view: bool,
    pub change: bool,
}

/// The operator's rights on one section, directly and through its groups.
pub fn section_rights(
    conn: &Connection,
    operator_id: i64,
    section_id: i64,
) -> rusqlite::Result<SectionRights> {
    conn.prepare_cached(
        "SELECT coalesce(max(kind = 'ViewVaultSection'), 0), coalesce(max(kind = 'ChangeVaultSection'), 0)
         FROM section_authorizations
         WHERE section_id = ?1
           AND (operator_id = ?2
                OR group_id IN (SELECT group_id FROM group_members WHERE operator_id = ?2))",
    )?
    .query_row((section_id, operator_id), |r| {
        let view: bool = r.get(0)?;
        let change: bool = r.get(1)?;
        // Change implies View (the two are kept together, but be safe).
        Ok(SectionRights { view: view || change, change })
    })
}

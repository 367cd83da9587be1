//! The second layer of every decision: what the key's operator may do. Account
//! administration needs membership of Administrators; vault sections need View
//! or Change, granted to the operator directly or to any of its groups.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension};

use crate::error::{AppError, AppResult, ErrorCode};

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
    AppError::new(
        ErrorCode::NotAdministrator,
        "Only members of the Administrators group may do this; an administrator can add this \
         key's operator to the group (POST /v4/OperatorGroup/{guid}/Member/{OperatorGuid}).",
    )
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SectionRights {
    pub view: bool,
    pub change: bool,
}

/// One SQL expression for the rights of the operator bound at `operator` on
/// the section in `section` (a column or a parameter), directly or through any
/// of its groups: NULL (none), 0 (View) or 1 (Change, which implies View).
/// Two indexed lookups joined by UNION ALL: an `OR` with an `IN` subquery here
/// cost twice as much, on the hot path of every item read.
pub fn rights_sql(section: &str, operator: &str) -> String {
    format!(
        "(SELECT max(kind = 'ChangeVaultSection') FROM (
            SELECT kind FROM section_authorizations WHERE section_id = {section} AND operator_id = {operator}
            UNION ALL
            SELECT a.kind FROM group_members m
              JOIN section_authorizations a ON a.group_id = m.group_id
             WHERE m.operator_id = {operator} AND a.section_id = {section}))"
    )
}

/// The ids of every section the operator bound at `operator` may view, as a
/// subquery (evaluated once per statement).
pub fn visible_sections_sql(operator: &str) -> String {
    format!(
        "(SELECT section_id FROM section_authorizations WHERE operator_id = {operator}
          UNION
          SELECT a.section_id FROM group_members m
            JOIN section_authorizations a ON a.group_id = m.group_id
           WHERE m.operator_id = {operator})"
    )
}

impl SectionRights {
    /// From the value of `rights_sql`.
    pub fn from_sql(level: Option<bool>) -> SectionRights {
        SectionRights {
            view: level.is_some(),
            change: level == Some(true),
        }
    }
}

/// The operator's rights on one section, directly and through its groups.
pub fn section_rights(
    conn: &Connection,
    operator_id: i64,
    section_id: i64,
) -> rusqlite::Result<SectionRights> {
    static SQL: LazyLock<String> = LazyLock::new(|| format!("SELECT {}", rights_sql("?1", "?2")));
    conn.prepare_cached(&SQL)?
        .query_row((section_id, operator_id), |r| {
            Ok(SectionRights::from_sql(r.get(0)?))
        })
}

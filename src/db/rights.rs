//! The second layer of every decision, as queries: whether an operator is in
//! Administrators, and its rights on sections (View or Change, granted to the
//! operator directly or to any of its groups).

use std::sync::LazyLock;

use super::{Conn, DbResult};
use crate::types::{Guid, SectionRights};

/// One SQL expression for the rights of the operator bound at `operator` on
/// the section in `section` (a column or a parameter), directly or through any
/// of its groups: NULL (none), false (View) or true (Change, which implies
/// View). Two indexed lookups joined by UNION ALL: an `OR` with an `IN`
/// subquery here cost twice as much, on the hot path of every item read.
pub(super) fn rights_sql(section: &str, operator: &str) -> String {
    format!(
        "(SELECT max(CASE WHEN kind = 'ChangeVaultSection' THEN 1 ELSE 0 END) FROM (
            SELECT kind FROM section_authorizations WHERE section_id = {section} AND operator_id = {operator}
            UNION ALL
            SELECT a.kind FROM group_members m
              JOIN section_authorizations a ON a.group_id = m.group_id
             WHERE m.operator_id = {operator} AND a.section_id = {section}) AS granted)"
    )
}

/// The ids of every section the operator bound at `operator` may view, as a
/// subquery (evaluated once per statement).
pub(super) fn visible_sections_sql(operator: &str) -> String {
    format!(
        "(SELECT section_id FROM section_authorizations WHERE operator_id = {operator}
          UNION
          SELECT a.section_id FROM group_members m
            JOIN section_authorizations a ON a.group_id = m.group_id
           WHERE m.operator_id = {operator})"
    )
}

/// The operator's rights on one section.
pub fn section_rights(
    conn: &Conn<'_>,
    operator_id: i64,
    section_id: i64,
) -> DbResult<SectionRights> {
    static SQL: LazyLock<String> = LazyLock::new(|| format!("SELECT {}", rights_sql("?1", "?2")));
    conn.query_one(&SQL, &[&section_id, &operator_id], |r| {
        Ok(SectionRights::from_level(r.get(0)?))
    })
}

pub fn is_administrator(conn: &Conn<'_>, operator_id: i64) -> DbResult<bool> {
    conn.query_one(
        "SELECT EXISTS (SELECT 1 FROM group_members m JOIN operator_groups g ON g.id = m.group_id
                        WHERE m.operator_id = ?1 AND g.is_administrators = ?2)",
        &[&operator_id, &true],
        |r| r.get(0),
    )
}

/// Members of the Administrators group, and how many of them are active.
pub fn administrators(conn: &Conn<'_>) -> DbResult<(i64, i64)> {
    conn.query_one(
        "SELECT count(*), count(*) FILTER (WHERE o.is_active = ?1) FROM group_members m
         JOIN operator_groups g ON g.id = m.group_id JOIN operators o ON o.id = m.operator_id
         WHERE g.is_administrators = ?1",
        &[&true],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Sections on which `holder` has a right that `other` lacks: View where
/// `other` has nothing, or Change where `other` has at most View. Each with
/// whether the right `holder` has there is Change.
pub fn rights_exceeding(conn: &Conn<'_>, holder: i64, other: i64) -> DbResult<Vec<(Guid, bool)>> {
    conn.query_all(
        "WITH rights(operator_id, section_id, change) AS (
            SELECT r.operator_id, r.section_id, max(CASE WHEN r.kind = 'ChangeVaultSection' THEN 1 ELSE 0 END) FROM (
                SELECT operator_id, section_id, kind FROM section_authorizations
                 WHERE operator_id IN (?1, ?2)
                UNION ALL
                SELECT m.operator_id, a.section_id, a.kind FROM group_members m
                  JOIN section_authorizations a ON a.group_id = m.group_id
                 WHERE m.operator_id IN (?1, ?2)) r
            GROUP BY r.operator_id, r.section_id)
         SELECT s.guid, h.change FROM rights h
           JOIN vault_sections s ON s.id = h.section_id
           LEFT JOIN rights o ON o.operator_id = ?2 AND o.section_id = h.section_id
          WHERE h.operator_id = ?1 AND (o.change IS NULL OR o.change < h.change)
          ORDER BY s.id",
        &[&holder, &other],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

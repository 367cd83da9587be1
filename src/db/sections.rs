//! `vault_sections` and `section_authorizations`, as rows.

use rusqlite::Connection;

use crate::types::Guid;

pub const VIEW: &str = "ViewVaultSection";
pub const CHANGE: &str = "ChangeVaultSection";

pub fn insert(conn: &Connection, guid: Guid, name: &str, now_ms: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO vault_sections (guid, name, created_at) VALUES (?1, ?2, ?3)")?
        .execute((guid, name, now_ms))?;
    Ok(conn.last_insert_rowid())
}

/// Who an authorization is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grantee {
    Operator(i64),
    Group(i64),
}

pub fn insert_authorization(
    conn: &Connection,
    guid: Guid,
    section_id: i64,
    kind: &str,
    grantee: Grantee,
    now_ms: i64,
) -> rusqlite::Result<i64> {
    let (operator_id, group_id) = match grantee {
        Grantee::Operator(id) => (Some(id), None),
        Grantee::Group(id) => (None, Some(id)),
    };
    conn.prepare_cached(
        "INSERT INTO section_authorizations (guid, section_id, kind, operator_id, group_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute((guid, section_id, kind, operator_id, group_id, now_ms))?;
    Ok(conn.last_insert_rowid())
}

#[derive(Debug, Clone)]
pub struct SectionRow {
    pub id: i64,
    pub guid: Guid,
    pub name: String,
}

pub fn find_by_guid(conn: &Connection, guid: Guid) -> rusqlite::Result<Option<SectionRow>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached("SELECT id, guid, name FROM vault_sections WHERE guid = ?1")?
        .query_row([guid], |r| {
            Ok(SectionRow {
                id: r.get(0)?,
                guid: r.get(1)?,
                name: r.get(2)?,
            })
        })
        .optional()
}

/// Every section (administrators), or those the operator may view.
pub fn list_visible(
    conn: &Connection,
    operator_id: i64,
    all: bool,
) -> rusqlite::Result<Vec<SectionRow>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT id, guid, name FROM vault_sections WHERE ?2 OR id IN {} ORDER BY id",
            crate::auth::access::visible_sections_sql("?1")
        )
    });
    conn.prepare_cached(&SQL)?
        .query_map((operator_id, all), |r| {
            Ok(SectionRow {
                id: r.get(0)?,
                guid: r.get(1)?,
                name: r.get(2)?,
            })
        })?
        .collect()
}

pub fn rename(conn: &Connection, id: i64, name: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE vault_sections SET name = ?2 WHERE id = ?1")?
        .execute((id, name))?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM vault_sections WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub fn item_count(conn: &Connection, section_id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM vault_items WHERE section_id = ?1")?
        .query_row([section_id], |r| r.get(0))
}

#[derive(Debug, Clone)]
pub struct AuthorizationRow {
    pub id: i64,
    pub guid: Guid,
    pub kind: String,
    pub grantee: Grantee,
    pub operator_guid: Option<Guid>,
    pub group_guid: Option<Guid>,
}

const AUTH_SELECT: &str = "SELECT a.id, a.guid, a.kind, a.operator_id, a.group_id, o.guid, g.guid
    FROM section_authorizations a
    LEFT JOIN operators o ON o.id = a.operator_id
    LEFT JOIN operator_groups g ON g.id = a.group_id";

fn auth_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuthorizationRow> {
    let operator_id: Option<i64> = r.get(3)?;
    let group_id: Option<i64> = r.get(4)?;
    let grantee = match (operator_id, group_id) {
        (Some(o), _) => Grantee::Operator(o),
        (None, Some(g)) => Grantee::Group(g),
        (None, None) => Grantee::Group(0),
    };
    Ok(AuthorizationRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        kind: r.get(2)?,
        grantee,
        operator_guid: r.get(5)?,
        group_guid: r.get(6)?,
    })
}

pub fn authorizations(
    conn: &Connection,
    section_id: i64,
) -> rusqlite::Result<Vec<AuthorizationRow>> {
    conn.prepare_cached(&format!(
        "{AUTH_SELECT} WHERE a.section_id = ?1 ORDER BY a.id"
    ))?
    .query_map([section_id], auth_from_row)?
    .collect()
}

pub fn find_authorization(
    conn: &Connection,
    section_id: i64,
    guid: Guid,
) -> rusqlite::Result<Option<AuthorizationRow>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(&format!(
        "{AUTH_SELECT} WHERE a.section_id = ?1 AND a.guid = ?2"
    ))?
    .query_row((section_id, guid), auth_from_row)
    .optional()
}

pub fn find_grant(
    conn: &Connection,
    section_id: i64,
    kind: &str,
    grantee: Grantee,
) -> rusqlite::Result<Option<AuthorizationRow>> {
    use rusqlite::OptionalExtension;
    let (operator_id, group_id) = match grantee {
        Grantee::Operator(id) => (Some(id), None),
        Grantee::Group(id) => (None, Some(id)),
    };
    conn.prepare_cached(&format!(
        "{AUTH_SELECT} WHERE a.section_id = ?1 AND a.kind = ?2 AND (a.operator_id = ?3 OR a.group_id = ?4)"
    ))?
    .query_row((section_id, kind, operator_id, group_id), auth_from_row)
    .optional()
}

pub fn delete_authorization(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM section_authorizations WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub fn change_count(conn: &Connection, section_id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM section_authorizations WHERE section_id = ?1 AND kind = 'ChangeVaultSection'")?
        .query_row([section_id], |r| r.get(0))
}

/// Sections on which `holder` has a right that `other` lacks: View where
/// `other` has nothing, or Change where `other` has at most View. Each with
/// whether the right `holder` has there is Change. Rights come directly or
/// through groups, as everywhere.
pub fn rights_exceeding(
    conn: &Connection,
    holder: i64,
    other: i64,
) -> rusqlite::Result<Vec<(Guid, bool)>> {
    conn.prepare_cached(
        "WITH rights(operator_id, section_id, change) AS (
            SELECT r.operator_id, r.section_id, max(r.kind = 'ChangeVaultSection') FROM (
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
    )?
    .query_map((holder, other), |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

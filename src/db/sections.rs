//! `vault_sections` and `section_authorizations`, as rows.

use std::sync::LazyLock;

use super::{Conn, DbError, DbResult, Row};
use crate::types::{AuthorizationType, Grantee, Guid};

#[derive(Debug, Clone)]
pub struct SectionRow {
    pub id: i64,
    pub guid: Guid,
    pub name: String,
}

fn section_from_row(r: &Row<'_>) -> DbResult<SectionRow> {
    Ok(SectionRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        name: r.get(2)?,
    })
}

pub fn insert(conn: &Conn<'_>, guid: Guid, name: &str, now_ms: i64) -> DbResult<i64> {
    conn.query_one(
        "INSERT INTO vault_sections (guid, name, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        &[&guid, &name, &now_ms],
        |r| r.get(0),
    )
}

pub fn find_by_guid(conn: &Conn<'_>, guid: Guid) -> DbResult<Option<SectionRow>> {
    conn.query_opt(
        "SELECT id, guid, name FROM vault_sections WHERE guid = ?1",
        &[&guid],
        section_from_row,
    )
}

/// The sections with this exact name (names need not be unique).
pub fn find_by_name(conn: &Conn<'_>, name: &str) -> DbResult<Vec<SectionRow>> {
    conn.query_all(
        "SELECT id, guid, name FROM vault_sections WHERE name = ?1 ORDER BY id",
        &[&name],
        section_from_row,
    )
}

/// Every section (`all`, for administrators), or those the operator may view.
pub fn list_visible(conn: &Conn<'_>, operator_id: i64, all: bool) -> DbResult<Vec<SectionRow>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT id, guid, name FROM vault_sections WHERE ?2 OR id IN {} ORDER BY id",
            super::rights::visible_sections_sql("?1")
        )
    });
    conn.query_all(&SQL, &[&operator_id, &all], section_from_row)
}

pub fn rename(conn: &Conn<'_>, id: i64, name: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE vault_sections SET name = ?2 WHERE id = ?1",
        &[&id, &name],
    )?;
    Ok(())
}

pub fn delete(conn: &Conn<'_>, id: i64) -> DbResult<()> {
    conn.execute("DELETE FROM vault_sections WHERE id = ?1", &[&id])?;
    Ok(())
}

pub fn item_count(conn: &Conn<'_>, section_id: i64) -> DbResult<i64> {
    conn.query_one(
        "SELECT count(*) FROM vault_items WHERE section_id = ?1",
        &[&section_id],
        |r| r.get(0),
    )
}

#[derive(Debug, Clone)]
pub struct AuthorizationRow {
    pub id: i64,
    pub guid: Guid,
    pub kind: AuthorizationType,
    pub grantee: Grantee,
    pub operator_guid: Option<Guid>,
    pub group_guid: Option<Guid>,
}

fn split(grantee: Grantee) -> (Option<i64>, Option<i64>) {
    match grantee {
        Grantee::Operator(id) => (Some(id), None),
        Grantee::Group(id) => (None, Some(id)),
    }
}

pub fn insert_authorization(
    conn: &Conn<'_>,
    guid: Guid,
    section_id: i64,
    kind: AuthorizationType,
    grantee: Grantee,
    now_ms: i64,
) -> DbResult<i64> {
    let (operator_id, group_id) = split(grantee);
    conn.query_one(
        "INSERT INTO section_authorizations (guid, section_id, kind, operator_id, group_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        &[
            &guid,
            &section_id,
            &kind.as_str(),
            &operator_id,
            &group_id,
            &now_ms,
        ],
        |r| r.get(0),
    )
}

const AUTH_SELECT: &str = "SELECT a.id, a.guid, a.kind, a.operator_id, a.group_id, o.guid, g.guid
    FROM section_authorizations a
    LEFT JOIN operators o ON o.id = a.operator_id
    LEFT JOIN operator_groups g ON g.id = a.group_id";

fn auth_from_row(r: &Row<'_>) -> DbResult<AuthorizationRow> {
    let kind: String = r.get(2)?;
    let grantee = match (r.get::<Option<i64>>(3)?, r.get::<Option<i64>>(4)?) {
        (Some(o), None) => Grantee::Operator(o),
        (None, Some(g)) => Grantee::Group(g),
        _ => {
            return Err(DbError::Corrupt(
                "an authorization names no single grantee".into(),
            ));
        }
    };
    Ok(AuthorizationRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        kind: AuthorizationType::parse(&kind)
            .ok_or_else(|| DbError::Corrupt(format!("authorization kind {kind:?}")))?,
        grantee,
        operator_guid: r.get(5)?,
        group_guid: r.get(6)?,
    })
}

pub fn authorizations(conn: &Conn<'_>, section_id: i64) -> DbResult<Vec<AuthorizationRow>> {
    conn.query_all(
        &format!("{AUTH_SELECT} WHERE a.section_id = ?1 ORDER BY a.id"),
        &[&section_id],
        auth_from_row,
    )
}

pub fn find_authorization(
    conn: &Conn<'_>,
    section_id: i64,
    guid: Guid,
) -> DbResult<Option<AuthorizationRow>> {
    conn.query_opt(
        &format!("{AUTH_SELECT} WHERE a.section_id = ?1 AND a.guid = ?2"),
        &[&section_id, &guid],
        auth_from_row,
    )
}

pub fn find_grant(
    conn: &Conn<'_>,
    section_id: i64,
    kind: AuthorizationType,
    grantee: Grantee,
) -> DbResult<Option<AuthorizationRow>> {
    let (operator_id, group_id) = split(grantee);
    conn.query_opt(
        &format!(
            "{AUTH_SELECT} WHERE a.section_id = ?1 AND a.kind = ?2 AND (a.operator_id = ?3 OR a.group_id = ?4)"
        ),
        &[&section_id, &kind.as_str(), &operator_id, &group_id],
        auth_from_row,
    )
}

/// Whether any section has an authorization with this GUID.
pub fn authorization_guid_taken(conn: &Conn<'_>, guid: Guid) -> DbResult<bool> {
    conn.query_one(
        "SELECT EXISTS (SELECT 1 FROM section_authorizations WHERE guid = ?1)",
        &[&guid],
        |r| r.get(0),
    )
}

pub fn delete_authorization(conn: &Conn<'_>, id: i64) -> DbResult<()> {
    conn.execute("DELETE FROM section_authorizations WHERE id = ?1", &[&id])?;
    Ok(())
}

pub fn change_count(conn: &Conn<'_>, section_id: i64) -> DbResult<i64> {
    conn.query_one(
        "SELECT count(*) FROM section_authorizations WHERE section_id = ?1 AND kind = ?2",
        &[&section_id, &AuthorizationType::ChangeVaultSection.as_str()],
        |r| r.get(0),
    )
}

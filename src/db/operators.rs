//! `operators` and `group_members`, as rows.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::types::Guid;

#[derive(Debug, Clone)]
pub struct OperatorRow {
    pub id: i64,
    pub guid: Guid,
    pub full_name: String,
    pub email: String,
    pub login: String,
    pub is_active: bool,
}

const COLUMNS: &str = "id, guid, full_name, email, login, is_active";

fn from_row(r: &Row<'_>) -> rusqlite::Result<OperatorRow> {
    Ok(OperatorRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        full_name: r.get(2)?,
        email: r.get(3)?,
        login: r.get(4)?,
        is_active: r.get(5)?,
    })
}

pub fn find_by_guid(conn: &Connection, guid: Guid) -> rusqlite::Result<Option<OperatorRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM operators WHERE guid = ?1"))?
        .query_row([guid], from_row)
        .optional()
}

pub fn find_by_id(conn: &Connection, id: i64) -> rusqlite::Result<OperatorRow> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM operators WHERE id = ?1"))?
        .query_row([id], from_row)
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<OperatorRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM operators ORDER BY id"))?
        .query_map([], from_row)?
        .collect()
}

pub struct NewOperator<'a> {
    pub guid: Guid,
    pub full_name: &'a str,
    pub email: &'a str,
    pub login: &'a str,
    pub is_active: bool,
}

pub fn insert(conn: &Connection, op: &NewOperator<'_>, now_ms: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO operators (guid, full_name, email, login, is_active, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute((
        op.guid,
        op.full_name,
        op.email,
        op.login,
        op.is_active,
        now_ms,
    ))?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, row: &OperatorRow) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE operators SET full_name = ?2, email = ?3, login = ?4, is_active = ?5 WHERE id = ?1",
    )?
    .execute((
        row.id,
        &row.full_name,
        &row.email,
        &row.login,
        row.is_active,
    ))?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM operators WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub fn api_key_count(conn: &Connection, id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM api_keys WHERE operator_id = ?1")?
        .query_row([id], |r| r.get(0))
}

/// Members of the Administrators group, and how many of them are active.
pub fn administrators(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.prepare_cached(
        "SELECT count(*), coalesce(sum(o.is_active), 0) FROM group_members m
         JOIN operator_groups g ON g.id = m.group_id JOIN operators o ON o.id = m.operator_id
         WHERE g.is_administrators = 1",
    )?
    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
}

pub fn is_administrator(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM group_members m JOIN operator_groups g ON g.id = m.group_id
                        WHERE m.operator_id = ?1 AND g.is_administrators = 1)",
    )?
    .query_row([id], |r| r.get(0))
}

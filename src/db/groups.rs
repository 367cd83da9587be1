//! `operator_groups` and their members, as rows.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::types::Guid;

#[derive(Debug, Clone)]
pub struct GroupRow {
    pub id: i64,
    pub guid: Guid,
    pub description: String,
    pub is_administrators: bool,
}

const COLUMNS: &str = "id, guid, description, is_administrators";

fn from_row(r: &Row<'_>) -> rusqlite::Result<GroupRow> {
    Ok(GroupRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        description: r.get(2)?,
        is_administrators: r.get(3)?,
    })
}

pub fn find_by_guid(conn: &Connection, guid: Guid) -> rusqlite::Result<Option<GroupRow>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM operator_groups WHERE guid = ?1"
    ))?
    .query_row([guid], from_row)
    .optional()
}

pub fn find_administrators(conn: &Connection) -> rusqlite::Result<Option<GroupRow>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM operator_groups WHERE is_administrators = 1"
    ))?
    .query_row([], from_row)
    .optional()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<GroupRow>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM operator_groups ORDER BY id"
    ))?
    .query_map([], from_row)?
    .collect()
}

pub fn insert(
    conn: &Connection,
    guid: Guid,
    description: &str,
    is_administrators: bool,
    now_ms: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO operator_groups (guid, description, is_administrators, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute((guid, description, is_administrators, now_ms))?;
    Ok(conn.last_insert_rowid())
}

pub fn rename(conn: &Connection, id: i64, description: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE operator_groups SET description = ?2 WHERE id = ?1")?
        .execute((id, description))?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM operator_groups WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub fn members(conn: &Connection, group_id: i64) -> rusqlite::Result<Vec<Guid>> {
    conn.prepare_cached(
        "SELECT o.guid FROM group_members m JOIN operators o ON o.id = m.operator_id
         WHERE m.group_id = ?1 ORDER BY o.id",
    )?
    .query_map([group_id], |r| r.get(0))?
    .collect()
}

pub fn is_member(conn: &Connection, group_id: i64, operator_id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = ?1 AND operator_id = ?2)",
    )?
    .query_row((group_id, operator_id), |r| r.get(0))
}

pub fn add_member(conn: &Connection, group_id: i64, operator_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO group_members (group_id, operator_id) VALUES (?1, ?2)")?
        .execute((group_id, operator_id))?;
    Ok(())
}

pub fn remove_member(conn: &Connection, group_id: i64, operator_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM group_members WHERE group_id = ?1 AND operator_id = ?2")?
        .execute((group_id, operator_id))?;
    Ok(())
}

pub fn member_count(conn: &Connection, group_id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM group_members WHERE group_id = ?1")?
        .query_row([group_id], |r| r.get(0))
}

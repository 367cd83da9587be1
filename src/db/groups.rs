//! `operator_groups` and `group_members`, as rows.

use super::{Conn, DbResult, Row};
use crate::types::Guid;

#[derive(Debug, Clone)]
pub struct GroupRow {
    pub id: i64,
    pub guid: Guid,
    pub description: String,
    pub is_administrators: bool,
}

const SELECT: &str = "SELECT id, guid, description, is_administrators FROM operator_groups";

fn from_row(r: &Row<'_>) -> DbResult<GroupRow> {
    Ok(GroupRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        description: r.get(2)?,
        is_administrators: r.get(3)?,
    })
}

pub fn find_by_guid(conn: &Conn<'_>, guid: Guid) -> DbResult<Option<GroupRow>> {
    conn.query_opt(&format!("{SELECT} WHERE guid = ?1"), &[&guid], from_row)
}

/// The group with this name (Description), case-insensitive.
pub fn find_by_description(conn: &Conn<'_>, description: &str) -> DbResult<Option<GroupRow>> {
    conn.query_opt(
        &format!("{SELECT} WHERE description = ?1"),
        &[&description],
        from_row,
    )
}

pub fn find_administrators(conn: &Conn<'_>) -> DbResult<Option<GroupRow>> {
    conn.query_opt(
        &format!("{SELECT} WHERE is_administrators = ?1"),
        &[&true],
        from_row,
    )
}

pub fn list(conn: &Conn<'_>) -> DbResult<Vec<GroupRow>> {
    conn.query_all(&format!("{SELECT} ORDER BY id"), &[], from_row)
}

pub fn insert(
    conn: &Conn<'_>,
    guid: Guid,
    description: &str,
    is_administrators: bool,
    now_ms: i64,
) -> DbResult<i64> {
    conn.unique_guarded(|| {
        conn.query_one(
            "INSERT INTO operator_groups (guid, description, is_administrators, created_at)
             VALUES (?1, ?2, ?3, ?4) RETURNING id",
            &[&guid, &description, &is_administrators, &now_ms],
            |r| r.get(0),
        )
    })
}

pub fn rename(conn: &Conn<'_>, id: i64, description: &str) -> DbResult<()> {
    conn.unique_guarded(|| {
        conn.execute(
            "UPDATE operator_groups SET description = ?2 WHERE id = ?1",
            &[&id, &description],
        )
    })?;
    Ok(())
}

pub fn delete(conn: &Conn<'_>, id: i64) -> DbResult<()> {
    conn.execute("DELETE FROM operator_groups WHERE id = ?1", &[&id])?;
    Ok(())
}

pub fn members(conn: &Conn<'_>, group_id: i64) -> DbResult<Vec<Guid>> {
    conn.query_all(
        "SELECT o.guid FROM group_members m JOIN operators o ON o.id = m.operator_id
         WHERE m.group_id = ?1 ORDER BY o.id",
        &[&group_id],
        |r| r.get(0),
    )
}

pub fn is_member(conn: &Conn<'_>, group_id: i64, operator_id: i64) -> DbResult<bool> {
    conn.query_one(
        "SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = ?1 AND operator_id = ?2)",
        &[&group_id, &operator_id],
        |r| r.get(0),
    )
}

pub fn add_member(conn: &Conn<'_>, group_id: i64, operator_id: i64) -> DbResult<()> {
    conn.execute(
        "INSERT INTO group_members (group_id, operator_id) VALUES (?1, ?2)",
        &[&group_id, &operator_id],
    )?;
    Ok(())
}

pub fn remove_member(conn: &Conn<'_>, group_id: i64, operator_id: i64) -> DbResult<()> {
    conn.execute(
        "DELETE FROM group_members WHERE group_id = ?1 AND operator_id = ?2",
        &[&group_id, &operator_id],
    )?;
    Ok(())
}

pub fn member_count(conn: &Conn<'_>, group_id: i64) -> DbResult<i64> {
    conn.query_one(
        "SELECT count(*) FROM group_members WHERE group_id = ?1",
        &[&group_id],
        |r| r.get(0),
    )
}

//! `operators`, as rows.

use super::{Conn, DbResult, Row};
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

const SELECT: &str = "SELECT id, guid, full_name, email, login, is_active FROM operators";

fn from_row(r: &Row<'_>) -> DbResult<OperatorRow> {
    Ok(OperatorRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        full_name: r.get(2)?,
        email: r.get(3)?,
        login: r.get(4)?,
        is_active: r.get(5)?,
    })
}

pub fn find_by_guid(conn: &Conn<'_>, guid: Guid) -> DbResult<Option<OperatorRow>> {
    conn.query_opt(&format!("{SELECT} WHERE guid = ?1"), &[&guid], from_row)
}

pub fn find_by_id(conn: &Conn<'_>, id: i64) -> DbResult<OperatorRow> {
    conn.query_one(&format!("{SELECT} WHERE id = ?1"), &[&id], from_row)
}

/// The operator whose login or e-mail is `name` (case-insensitive), logins first.
pub fn find_by_login_or_email(conn: &Conn<'_>, name: &str) -> DbResult<Option<OperatorRow>> {
    conn.query_opt(
        &format!("{SELECT} WHERE login = ?1 OR email = ?1 ORDER BY login = ?1 DESC LIMIT 1"),
        &[&name],
        from_row,
    )
}

pub fn email_taken(conn: &Conn<'_>, email: &str) -> DbResult<bool> {
    conn.query_one(
        "SELECT EXISTS (SELECT 1 FROM operators WHERE email = ?1)",
        &[&email],
        |r| r.get(0),
    )
}

pub fn list(conn: &Conn<'_>) -> DbResult<Vec<OperatorRow>> {
    conn.query_all(&format!("{SELECT} ORDER BY id"), &[], from_row)
}

pub struct NewOperator<'a> {
    pub guid: Guid,
    pub full_name: &'a str,
    pub email: &'a str,
    pub login: &'a str,
    pub is_active: bool,
}

pub fn insert(conn: &Conn<'_>, op: &NewOperator<'_>, now_ms: i64) -> DbResult<i64> {
    conn.unique_guarded(|| {
        conn.query_one(
            "INSERT INTO operators (guid, full_name, email, login, is_active, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            &[
                &op.guid,
                &op.full_name,
                &op.email,
                &op.login,
                &op.is_active,
                &now_ms,
            ],
            |r| r.get(0),
        )
    })
}

pub fn update(conn: &Conn<'_>, row: &OperatorRow) -> DbResult<()> {
    conn.unique_guarded(|| {
        conn.execute(
        "UPDATE operators SET full_name = ?2, email = ?3, login = ?4, is_active = ?5 WHERE id = ?1",
        &[
            &row.id,
            &row.full_name,
            &row.email,
            &row.login,
            &row.is_active,
        ],
    )
    })?;
    Ok(())
}

pub fn delete(conn: &Conn<'_>, id: i64) -> DbResult<()> {
    conn.execute("DELETE FROM operators WHERE id = ?1", &[&id])?;
    Ok(())
}

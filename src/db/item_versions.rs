//! `vault_item_versions`: who wrote each set of an item's sealed values and
//! when; the earlier sets themselves, sealed. The current set's row has no
//! blob (its values are in `vault_item_secrets`).

use super::{Conn, DbResult, Row};
use crate::types::Guid;

/// Who wrote a set of values, as history names them.
#[derive(Debug, Clone, Default)]
pub struct Author {
    pub api_key_guid: Option<Guid>,
    pub oauth_client_guid: Option<Guid>,
    pub first_name: String,
    pub last_name: String,
}

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub id: i64,
    pub version: i64,
    pub created_at: i64,
    pub author: Author,
}

const COLUMNS: &str = "id, version, created_at, api_key_guid, oauth_client_guid,
    contact_first_name, contact_last_name";

fn from_row(r: &Row<'_>) -> DbResult<VersionRow> {
    Ok(VersionRow {
        id: r.get(0)?,
        version: r.get(1)?,
        created_at: r.get(2)?,
        author: Author {
            api_key_guid: r.get(3)?,
            oauth_client_guid: r.get(4)?,
            first_name: r.get(5)?,
            last_name: r.get(6)?,
        },
    })
}

/// The row of the item's current values, if it has one (an item written
/// while `secret_versions_kept` was 0 has none).
pub fn current(conn: &Conn<'_>, item_id: i64) -> DbResult<Option<VersionRow>> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM vault_item_versions WHERE item_id = ?1 AND sealed IS NULL"),
        &[&item_id],
        from_row,
    )
}

/// The highest version number the item has used (0 if none).
pub fn last_number(conn: &Conn<'_>, item_id: i64) -> DbResult<i64> {
    conn.query_one(
        "SELECT coalesce(max(version), 0) FROM vault_item_versions WHERE item_id = ?1",
        &[&item_id],
        |r| r.get(0),
    )
}

/// Records who wrote the item's current values, as number `version`.
pub fn insert_current(
    conn: &Conn<'_>,
    item_id: i64,
    version: i64,
    at_ms: i64,
    author: &Author,
) -> DbResult<()> {
    insert(conn, item_id, version, at_ms, author, None)
}

fn insert(
    conn: &Conn<'_>,
    item_id: i64,
    version: i64,
    at_ms: i64,
    author: &Author,
    sealed: Option<&[u8]>,
) -> DbResult<()> {
    conn.execute(
        "INSERT INTO vault_item_versions (item_id, version, created_at, api_key_guid,
            oauth_client_guid, contact_first_name, contact_last_name, sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            &item_id,
            &version,
            &at_ms,
            &author.api_key_guid,
            &author.oauth_client_guid,
            &author.first_name,
            &author.last_name,
            &sealed,
        ],
    )?;
    Ok(())
}

/// Keeps values that were current as version `version` (written at `at_ms`
/// by `author`): the current row becomes it, or, without one, a new row.
pub fn keep(
    conn: &Conn<'_>,
    item_id: i64,
    current: Option<&VersionRow>,
    version: i64,
    at_ms: i64,
    author: &Author,
    sealed: &[u8],
) -> DbResult<()> {
    match current {
        Some(row) => {
            conn.execute(
                "UPDATE vault_item_versions SET sealed = ?2 WHERE id = ?1",
                &[&row.id, &sealed],
            )?;
            Ok(())
        }
        None => insert(conn, item_id, version, at_ms, author, Some(sealed)),
    }
}

pub fn delete(conn: &Conn<'_>, id: i64) -> DbResult<()> {
    conn.execute("DELETE FROM vault_item_versions WHERE id = ?1", &[&id])?;
    Ok(())
}

/// Deletes the item's kept versions beyond the newest `keep` (by the
/// `UNIQUE (item_id, version)` index: the item's rows only).
pub fn prune(conn: &Conn<'_>, item_id: i64, keep: u32) -> DbResult<()> {
    conn.execute(
        "DELETE FROM vault_item_versions WHERE item_id = ?1 AND sealed IS NOT NULL AND version <=
            (SELECT version FROM vault_item_versions WHERE item_id = ?1 AND sealed IS NOT NULL
             ORDER BY version DESC LIMIT 1 OFFSET ?2)",
        &[&item_id, &i64::from(keep)],
    )?;
    Ok(())
}

/// The item's kept versions, newest first, without their values.
pub fn list(conn: &Conn<'_>, item_id: i64) -> DbResult<Vec<VersionRow>> {
    conn.query_all(
        &format!(
            "SELECT {COLUMNS} FROM vault_item_versions
             WHERE item_id = ?1 AND sealed IS NOT NULL ORDER BY version DESC"
        ),
        &[&item_id],
        from_row,
    )
}

/// One kept version and its sealed values.
pub fn find(
    conn: &Conn<'_>,
    item_id: i64,
    version: i64,
) -> DbResult<Option<(VersionRow, Vec<u8>)>> {
    conn.query_opt(
        &format!(
            "SELECT {COLUMNS}, sealed FROM vault_item_versions
             WHERE item_id = ?1 AND version = ?2 AND sealed IS NOT NULL"
        ),
        &[&item_id, &version],
        |r| Ok((from_row(r)?, r.get(7)?)),
    )
}

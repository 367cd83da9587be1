//! Reading `history` (writing is `audit::record`).

use rusqlite::{Connection, Row};

use crate::types::Guid;

#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub id: i64,
    pub at: i64,
    pub object_type: String,
    pub object_guid: String,
    pub related_guid: Option<String>,
    pub action: String,
    pub api_key_guid: Option<String>,
    pub contact_first_name: String,
    pub contact_last_name: String,
    pub details: String,
}

const SELECT: &str = "SELECT id, at, object_type, object_guid, related_guid, action, api_key_guid,
    contact_first_name, contact_last_name, details FROM history";

fn from_row(r: &Row<'_>) -> rusqlite::Result<HistoryRow> {
    Ok(HistoryRow {
        id: r.get(0)?,
        at: r.get(1)?,
        object_type: r.get(2)?,
        object_guid: r.get(3)?,
        related_guid: r.get(4)?,
        action: r.get(5)?,
        api_key_guid: r.get(6)?,
        contact_first_name: r.get(7)?,
        contact_last_name: r.get(8)?,
        details: r.get(9)?,
    })
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub object_type: Option<String>,
    pub since_ms: Option<i64>,
    pub limit: i64,
}

/// Everything, newest first.
pub fn list(conn: &Connection, f: &Filter) -> rusqlite::Result<Vec<HistoryRow>> {
    conn.prepare_cached(&format!(
        "{SELECT} WHERE (?1 IS NULL OR object_type = ?1) AND (?2 IS NULL OR at >= ?2)
         ORDER BY id DESC LIMIT ?3"
    ))?
    .query_map((&f.object_type, f.since_ms, f.limit), from_row)?
    .collect()
}

/// One object's history: changes to it and, for a section, to its items and
/// authorizations (`related_guid`).
pub fn for_object(conn: &Connection, guid: Guid, f: &Filter) -> rusqlite::Result<Vec<HistoryRow>> {
    conn.prepare_cached(&format!(
        "{SELECT} WHERE id IN (SELECT id FROM history WHERE object_guid = ?1
                              UNION SELECT id FROM history WHERE related_guid = ?1)
           AND (?2 IS NULL OR at >= ?2)
         ORDER BY id DESC LIMIT ?3"
    ))?
    .query_map((guid, f.since_ms, f.limit), from_row)?
    .collect()
}

/// What an API key did, and what was done to it.
pub fn for_api_key(conn: &Connection, guid: Guid, f: &Filter) -> rusqlite::Result<Vec<HistoryRow>> {
    conn.prepare_cached(&format!(
        "{SELECT} WHERE id IN (SELECT id FROM history WHERE api_key_guid = ?1
                              UNION SELECT id FROM history WHERE object_guid = ?1)
           AND (?2 IS NULL OR at >= ?2)
         ORDER BY id DESC LIMIT ?3"
    ))?
    .query_map((guid, f.since_ms, f.limit), from_row)?
    .collect()
}

//! `outbox`: e-mails written in the same transaction as the change they
//! announce. The UNIQUE (key, kind, expiry instant, days before) constraint
//! makes every notice exactly once, whoever writes it and however often.

use super::{Conn, DbResult, Row};
use crate::types::Guid;

pub struct NewMessage<'a> {
    pub kind: &'a str,
    pub api_key_guid: Guid,
    pub expires_at: i64,
    pub days_before: u32,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Writes the message unless this very notice exists already; true if written.
pub fn enqueue(conn: &Conn<'_>, m: &NewMessage<'_>, now_ms: i64) -> DbResult<bool> {
    let written = conn.execute(
        "INSERT INTO outbox (guid, kind, api_key_guid, expires_at, days_before, to_address, subject, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (api_key_guid, kind, expires_at, days_before) DO NOTHING",
        &[
            &Guid::new_random(),
            &m.kind,
            &m.api_key_guid,
            &m.expires_at,
            &m.days_before,
            &m.to,
            &m.subject,
            &m.body,
            &now_ms,
        ],
    )?;
    Ok(written == 1)
}

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub guid: Guid,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub api_key_guid: Guid,
    pub kind: String,
    pub created_at: i64,
}

fn from_row(r: &Row<'_>) -> DbResult<OutboxRow> {
    Ok(OutboxRow {
        guid: r.get(0)?,
        to: r.get(1)?,
        subject: r.get(2)?,
        body: r.get(3)?,
        api_key_guid: r.get(4)?,
        kind: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// Newest first.
pub fn list(
    conn: &Conn<'_>,
    kind: Option<&str>,
    since_ms: Option<i64>,
    limit: i64,
) -> DbResult<Vec<OutboxRow>> {
    conn.query_all(
        "SELECT guid, to_address, subject, body, api_key_guid, kind, created_at FROM outbox
         WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR created_at >= ?2)
         ORDER BY id DESC LIMIT ?3",
        &[&kind, &since_ms, &limit],
        from_row,
    )
}

/// Messages per delivery status, for the metrics (`coffre_outbox_messages`).
/// The outbox has no status column yet — nothing sends it — so every message
/// counts as `Pending`; mail delivery extends this with its own statuses.
pub fn count_by_status(conn: &Conn<'_>) -> DbResult<Vec<(String, i64)>> {
    let pending: i64 = conn.query_one("SELECT count(*) FROM outbox", &[], |r| r.get(0))?;
    Ok(vec![("Pending".to_string(), pending)])
}

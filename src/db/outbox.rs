//! `outbox`: e-mails written in the same transaction as the change they
//! announce. The UNIQUE (key, kind, expiry instant, days before) constraint
//! makes every notice exactly once, whoever writes it and however often.

use super::{Conn, DbError, DbResult, Row};
use crate::types::{CredentialKind, Guid};

pub struct NewMessage<'a> {
    pub kind: &'a str,
    /// The API key's or OAuth client's GUID.
    pub api_key_guid: Guid,
    pub credential_kind: CredentialKind,
    pub expires_at: i64,
    pub days_before: u32,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Writes the message unless this very notice exists already; true if written.
pub fn enqueue(conn: &Conn<'_>, m: &NewMessage<'_>, now_ms: i64) -> DbResult<bool> {
    let written = conn.execute(
        "INSERT INTO outbox (guid, kind, api_key_guid, expires_at, days_before, to_address, subject, body, created_at,
                             credential_kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
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
            &m.credential_kind.as_str(),
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
    pub credential_kind: CredentialKind,
    pub kind: String,
    pub created_at: i64,
}

fn from_row(r: &Row<'_>) -> DbResult<OutboxRow> {
    let credential_kind: String = r.get(7)?;
    Ok(OutboxRow {
        guid: r.get(0)?,
        to: r.get(1)?,
        subject: r.get(2)?,
        body: r.get(3)?,
        api_key_guid: r.get(4)?,
        kind: r.get(5)?,
        created_at: r.get(6)?,
        credential_kind: CredentialKind::parse(&credential_kind)
            .ok_or_else(|| DbError::Corrupt(format!("credential kind {credential_kind:?}")))?,
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
        "SELECT guid, to_address, subject, body, api_key_guid, kind, created_at, credential_kind FROM outbox
         WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR created_at >= ?2)
         ORDER BY id DESC LIMIT ?3",
        &[&kind, &since_ms, &limit],
        from_row,
    )
}

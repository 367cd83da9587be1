//! `outbox`: e-mails written in the same transaction as the change they
//! announce. The UNIQUE (key, kind, expiry instant, days before) constraint
//! makes every notice exactly once, whoever writes it and however often; a
//! certificate reminder is unique on (item, kind, notAfter, days before,
//! recipient) instead.
//! Each message also carries its delivery state (`status`, `attempts`,
//! `last_error`, `sent_at`, `message_id`, `next_attempt_at`), written by the
//! SMTP sender (`mail::delivery`).

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
                             next_attempt_at, credential_kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)
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

/// A certificate reminder for one recipient.
pub struct CertificateMessage<'a> {
    pub kind: &'a str,
    pub vault_item_guid: Guid,
    pub not_after: i64,
    pub days_before: u32,
    pub recipient_operator_guid: Guid,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Writes the message unless this very notice to this recipient exists
/// already; true if written.
pub fn enqueue_certificate(
    conn: &Conn<'_>,
    m: &CertificateMessage<'_>,
    now_ms: i64,
) -> DbResult<bool> {
    let written = conn.execute(
        "INSERT INTO outbox (guid, kind, vault_item_guid, recipient_operator_guid, expires_at,
                             days_before, to_address, subject, body, created_at, next_attempt_at,
                             credential_kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, NULL)
         ON CONFLICT (vault_item_guid, kind, expires_at, days_before, recipient_operator_guid)
            WHERE vault_item_guid IS NOT NULL DO NOTHING",
        &[
            &Guid::new_random(),
            &m.kind,
            &m.vault_item_guid,
            &m.recipient_operator_guid,
            &m.not_after,
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
    pub id: i64,
    pub guid: Guid,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The credential a key message is about (None for a certificate's).
    pub api_key_guid: Option<Guid>,
    pub credential_kind: Option<CredentialKind>,
    /// The item a certificate reminder is about.
    pub vault_item_guid: Option<Guid>,
    pub kind: String,
    pub created_at: i64,
    /// `Pending`, `Sent` or `Failed`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    pub message_id: Option<String>,
    pub next_attempt_at: i64,
}

/// The columns `from_row` reads, in its order.
macro_rules! columns {
    () => {
        "id, guid, to_address, subject, body, api_key_guid, kind, created_at, \
         status, attempts, last_error, sent_at, message_id, next_attempt_at, credential_kind, \
         vault_item_guid"
    };
}

fn from_row(r: &Row<'_>) -> DbResult<OutboxRow> {
    let credential_kind: Option<String> = r.get(14)?;
    Ok(OutboxRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        to: r.get(2)?,
        subject: r.get(3)?,
        body: r.get(4)?,
        api_key_guid: r.get(5)?,
        kind: r.get(6)?,
        created_at: r.get(7)?,
        status: r.get(8)?,
        attempts: r.get(9)?,
        last_error: r.get(10)?,
        sent_at: r.get(11)?,
        message_id: r.get(12)?,
        next_attempt_at: r.get(13)?,
        credential_kind: match credential_kind {
            None => None,
            Some(kind) => Some(
                CredentialKind::parse(&kind)
                    .ok_or_else(|| DbError::Corrupt(format!("credential kind {kind:?}")))?,
            ),
        },
        vault_item_guid: r.get(15)?,
    })
}

/// Newest first.
pub fn list(
    conn: &Conn<'_>,
    kind: Option<&str>,
    status: Option<&str>,
    since_ms: Option<i64>,
    limit: i64,
) -> DbResult<Vec<OutboxRow>> {
    conn.query_all(
        concat!(
            "SELECT ",
            columns!(),
            " FROM outbox
             WHERE (CAST(?1 AS TEXT) IS NULL OR kind = ?1) AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)
               AND (CAST(?3 AS BIGINT) IS NULL OR created_at >= ?3)
             ORDER BY id DESC LIMIT ?4"
        ),
        &[&kind, &status, &since_ms, &limit],
        from_row,
    )
}

/// Pending messages due at `now_ms`, longest waiting first.
pub fn due(conn: &Conn<'_>, now_ms: i64, limit: i64) -> DbResult<Vec<OutboxRow>> {
    conn.query_all(
        concat!(
            "SELECT ",
            columns!(),
            " FROM outbox
             WHERE status = 'Pending' AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?2"
        ),
        &[&now_ms, &limit],
        from_row,
    )
}

/// When the next Pending message is due, if any.
pub fn next_due(conn: &Conn<'_>) -> DbResult<Option<i64>> {
    conn.query_one(
        "SELECT min(next_attempt_at) FROM outbox WHERE status = 'Pending'",
        &[],
        |r| r.get(0),
    )
}

/// The server accepted the message. False if it was no longer Pending.
pub fn mark_sent(conn: &Conn<'_>, id: i64, message_id: &str, now_ms: i64) -> DbResult<bool> {
    let changed = conn.execute(
        "UPDATE outbox SET status = 'Sent', attempts = attempts + 1, last_error = NULL,
             sent_at = ?2, message_id = ?3
         WHERE id = ?1 AND status = 'Pending'",
        &[&id, &now_ms, &message_id],
    )?;
    Ok(changed == 1)
}

/// An attempt failed: tried again at `next_attempt_at`, or `Failed` for good.
pub fn mark_attempt_failed(
    conn: &Conn<'_>,
    id: i64,
    message_id: &str,
    error: &str,
    give_up: bool,
    next_attempt_at: i64,
) -> DbResult<bool> {
    let status = if give_up { "Failed" } else { "Pending" };
    let changed = conn.execute(
        "UPDATE outbox SET status = ?2, attempts = attempts + 1, last_error = ?3,
             message_id = ?4, next_attempt_at = ?5
         WHERE id = ?1 AND status = 'Pending'",
        &[&id, &status, &error, &message_id, &next_attempt_at],
    )?;
    Ok(changed == 1)
}

/// Messages per delivery status, for the metrics (`coffre_outbox_messages`).
pub fn count_by_status(conn: &Conn<'_>) -> DbResult<Vec<(String, i64)>> {
    conn.query_all(
        "SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

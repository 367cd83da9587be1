//! `history`: written in the same transaction as the change it records, read
//! newest first.

use super::{Conn, DbResult, Row};
use crate::types::{CredentialKind, Guid};

/// A line to write.
pub struct NewHistory<'a> {
    pub at: i64,
    pub object_type: &'a str,
    pub object_guid: Guid,
    pub related_guid: Option<Guid>,
    pub action: &'a str,
    pub api_key_guid: Option<Guid>,
    pub oauth_client_guid: Option<Guid>,
    pub contact_first_name: &'a str,
    pub contact_last_name: &'a str,
    /// The client address of the request, as text; None for coffre itself.
    pub client_address: Option<&'a str>,
    /// Which secret of the credential was used; None for coffre itself.
    pub secret_used: Option<&'a str>,
    pub details: &'a str,
}

pub fn insert(conn: &Conn<'_>, h: &NewHistory<'_>) -> DbResult<()> {
    conn.execute(
        "INSERT INTO history (at, object_type, object_guid, related_guid, action, api_key_guid,
                              contact_first_name, contact_last_name, details, client_address,
                              oauth_client_guid, secret_used)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        &[
            &h.at,
            &h.object_type,
            &h.object_guid,
            &h.related_guid,
            &h.action,
            &h.api_key_guid,
            &h.contact_first_name,
            &h.contact_last_name,
            &h.details,
            &h.client_address,
            &h.oauth_client_guid,
            &h.secret_used,
        ],
    )?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub id: i64,
    pub at: i64,
    pub object_type: String,
    pub object_guid: String,
    pub related_guid: Option<String>,
    pub action: String,
    pub api_key_guid: Option<String>,
    pub oauth_client_guid: Option<String>,
    pub contact_first_name: String,
    pub contact_last_name: String,
    pub details: String,
    pub client_address: Option<String>,
    pub secret_used: Option<String>,
}

const SELECT: &str = "SELECT id, at, object_type, object_guid, related_guid, action, api_key_guid,
    contact_first_name, contact_last_name, details, client_address, oauth_client_guid, secret_used
    FROM history";

fn from_row(r: &Row<'_>) -> DbResult<HistoryRow> {
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
        client_address: r.get(10)?,
        oauth_client_guid: r.get(11)?,
        secret_used: r.get(12)?,
    })
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub object_type: Option<String>,
    pub since_ms: Option<i64>,
    pub limit: i64,
}

/// Everything, newest first.
pub fn list(conn: &Conn<'_>, f: &Filter) -> DbResult<Vec<HistoryRow>> {
    conn.query_all(
        &format!(
            "{SELECT} WHERE (CAST(?1 AS TEXT) IS NULL OR object_type = ?1) AND (CAST(?2 AS BIGINT) IS NULL OR at >= ?2)
             ORDER BY id DESC LIMIT ?3"
        ),
        &[&f.object_type, &f.since_ms, &f.limit],
        from_row,
    )
}

/// One object's history: changes to it and, for a section, to its items and
/// authorizations (`related_guid`).
pub fn for_object(conn: &Conn<'_>, guid: Guid, f: &Filter) -> DbResult<Vec<HistoryRow>> {
    conn.query_all(
        &format!(
            "{SELECT} WHERE id IN (SELECT id FROM history WHERE object_guid = ?1
                                  UNION SELECT id FROM history WHERE related_guid = ?1)
               AND (CAST(?2 AS BIGINT) IS NULL OR at >= ?2)
             ORDER BY id DESC LIMIT ?3"
        ),
        &[&guid, &f.since_ms, &f.limit],
        from_row,
    )
}

/// What a credential did, and what was done to it. Only lines about a
/// credential of this kind: `/v4/ApiKey` never shows a client's history.
pub fn for_credential(
    conn: &Conn<'_>,
    kind: CredentialKind,
    guid: Guid,
    f: &Filter,
) -> DbResult<Vec<HistoryRow>> {
    let actor = match kind {
        CredentialKind::ApiKey => "api_key_guid",
        CredentialKind::OAuthClient => "oauth_client_guid",
    };
    conn.query_all(
        &format!(
            "{SELECT} WHERE id IN (SELECT id FROM history WHERE {actor} = ?1
                                  UNION SELECT id FROM history WHERE object_guid = ?1
                                                                 AND object_type = ?4)
               AND (CAST(?2 AS BIGINT) IS NULL OR at >= ?2)
             ORDER BY id DESC LIMIT ?3"
        ),
        &[&guid, &f.since_ms, &f.limit, &kind.as_str()],
        from_row,
    )
}

//! `oauth_tokens`: OAuth 2.0 access tokens, as rows. Only a keyed hash of a
//! token is stored; the authentication index loads the live ones at start-up.

use super::{Conn, DbError, DbResult, Row};
use crate::types::{PermissionSet, SecretUsed};

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    /// The public part of the token (what a presented token is looked up by).
    pub lookup_id: String,
    /// The keyed hash of the secret part.
    pub token_hash: [u8; 32],
    /// The OAuth client (its `api_keys` row) the token was issued to.
    pub credential_id: i64,
    /// What the token was issued with.
    pub scopes: PermissionSet,
    pub expires_at: i64,
    /// The client secret that obtained it.
    pub secret_used: SecretUsed,
}

fn from_row(r: &Row<'_>) -> DbResult<TokenRow> {
    let hash: Vec<u8> = r.get(2)?;
    Ok(TokenRow {
        id: r.get(0)?,
        lookup_id: r.get(1)?,
        token_hash: hash
            .try_into()
            .map_err(|_| DbError::Corrupt("an access token hash is not 32 bytes".into()))?,
        credential_id: r.get(3)?,
        scopes: PermissionSet::from_storage(&r.get::<String>(4)?),
        expires_at: r.get(5)?,
        secret_used: SecretUsed::parse(&r.get::<String>(6)?)
            .ok_or_else(|| DbError::Corrupt("an access token's secret_used".into()))?,
    })
}

/// Tokens still valid at `now_ms`.
pub fn live(conn: &Conn<'_>, now_ms: i64) -> DbResult<Vec<TokenRow>> {
    conn.query_all(
        "SELECT id, lookup_id, token_hash, credential_id, scopes, expires_at, secret_used
         FROM oauth_tokens WHERE expires_at > ?1 ORDER BY id",
        &[&now_ms],
        from_row,
    )
}

pub struct NewToken<'a> {
    pub lookup_id: &'a str,
    pub token_hash: [u8; 32],
    pub credential_id: i64,
    pub scopes: PermissionSet,
    pub expires_at: i64,
    pub secret_used: SecretUsed,
}

/// Inserts a token; returns its client's issuance number for it (one seek
/// for the client's latest).
pub fn insert(conn: &Conn<'_>, t: &NewToken<'_>, now_ms: i64) -> DbResult<i64> {
    conn.query_one(
        "INSERT INTO oauth_tokens (lookup_id, token_hash, credential_id, scopes, issued_at, expires_at,
                                   secret_used, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,
                 coalesce((SELECT max(seq) FROM oauth_tokens WHERE credential_id = ?3), 0) + 1)
         RETURNING seq",
        &[
            &t.lookup_id,
            &&t.token_hash[..],
            &t.credential_id,
            &t.scopes.to_storage(),
            &now_ms,
            &t.expires_at,
            &t.secret_used.as_str(),
        ],
        |r| r.get(0),
    )
}

/// Deletes the client's tokens issued before its `keep` latest (the latest
/// being number `latest`); returns their lookup ids. One index range: only
/// the rows that go are visited.
pub fn delete_before(
    conn: &Conn<'_>,
    credential_id: i64,
    latest: i64,
    keep: i64,
) -> DbResult<Vec<String>> {
    conn.query_all(
        "DELETE FROM oauth_tokens WHERE credential_id = ?1 AND seq <= CAST(?2 AS BIGINT) - ?3
         RETURNING lookup_id",
        &[&credential_id, &latest, &keep],
        |r| r.get(0),
    )
}

/// Deletes every token of a client; returns their lookup ids.
pub fn delete_for_credential(conn: &Conn<'_>, credential_id: i64) -> DbResult<Vec<String>> {
    conn.query_all(
        "DELETE FROM oauth_tokens WHERE credential_id = ?1 RETURNING lookup_id",
        &[&credential_id],
        |r| r.get(0),
    )
}

/// Deletes every token of the clients acting as an operator; returns their lookup ids.
pub fn delete_for_operator(conn: &Conn<'_>, operator_id: i64) -> DbResult<Vec<String>> {
    conn.query_all(
        "DELETE FROM oauth_tokens
          WHERE credential_id IN (SELECT id FROM api_keys WHERE operator_id = ?1)
         RETURNING lookup_id",
        &[&operator_id],
        |r| r.get(0),
    )
}

/// Deletes one token by its lookup id, if its client is `credential_id`.
pub fn delete_one(conn: &Conn<'_>, lookup_id: &str, credential_id: i64) -> DbResult<bool> {
    Ok(conn.execute(
        "DELETE FROM oauth_tokens WHERE lookup_id = ?1 AND credential_id = ?2",
        &[&lookup_id, &credential_id],
    )? == 1)
}

/// Deletes up to `limit` tokens expired at `now_ms`; returns how many.
pub fn delete_expired(conn: &Conn<'_>, now_ms: i64, limit: i64) -> DbResult<usize> {
    conn.execute(
        "DELETE FROM oauth_tokens WHERE id IN (
            SELECT id FROM oauth_tokens WHERE expires_at <= ?1 LIMIT ?2)",
        &[&now_ms, &limit],
    )
}

//! `api_keys`: the credentials — API keys and OAuth clients, told apart by
//! `kind` — as rows, each joined with the operator it acts as (whose login and
//! e-mail are its contact login and e-mail). One column list serves the API,
//! the authentication index and the expiry sweep.

use super::{Conn, DbError, DbResult, Row};
use crate::types::{CredentialKind, Guid, KeyStatus, PermissionSet};

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: i64,
    pub guid: Guid,
    pub kind: CredentialKind,
    /// An OAuth client's public id; `None` for an API key.
    pub client_id: Option<String>,
    /// The public part of the key (what a presented key is looked up by).
    pub lookup_id: String,
    /// The keyed hash of the secret part.
    pub secret_hash: [u8; 32],
    pub masked_key: String,
    pub name: String,
    pub description: String,
    pub contact_first_name: String,
    pub contact_last_name: String,
    pub operator_id: i64,
    pub operator_guid: Guid,
    pub contact_email: String,
    pub contact_login: String,
    pub operator_active: bool,
    pub expiration_date: Option<String>,
    pub expires_at: Option<i64>,
    pub enable_permissions: bool,
    /// As selected (meaningful when `enable_permissions`).
    pub permissions: PermissionSet,
    pub status: KeyStatus,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// The client address of the last authenticated request, as text.
    pub last_used_from: Option<String>,
    /// Authenticated requests, ever (as last flushed).
    pub use_count: i64,
    /// When it last became usable: created, regenerated, brought back from Expired.
    pub active_since: i64,
    /// The secret the last Regenerate with a grace period replaced.
    pub previous: Option<PreviousSecretRow>,
}

/// A previous secret, as stored: never the secret, only its keyed hash.
#[derive(Debug, Clone)]
pub struct PreviousSecretRow {
    pub lookup_id: String,
    pub secret_hash: [u8; 32],
    pub masked_key: String,
    /// The instant it stops working (Unix ms).
    pub expires_at: i64,
    /// When it was last used as the previous secret (as last flushed).
    pub last_used_at: Option<i64>,
}

impl ApiKeyRow {
    /// What the key may do: the selected permissions, or every one but the
    /// explicit-only ones.
    pub fn effective_permissions(&self) -> PermissionSet {
        PermissionSet::effective(self.enable_permissions, self.permissions)
    }
}

const SELECT: &str = "SELECT k.id, k.guid, k.lookup_id, k.secret_hash, k.masked_key, k.name,
    k.description, k.contact_first_name, k.contact_last_name, k.operator_id, o.guid, o.email,
    o.login, o.is_active, k.expiration_date, k.expires_at, k.enable_permissions, k.permissions,
    k.status, k.created_at, k.last_used_at, k.kind, k.client_id, k.last_used_from, k.use_count,
    k.active_since, k.previous_lookup_id, k.previous_secret_hash, k.previous_masked_key,
    k.previous_expires_at, k.previous_last_used_at
    FROM api_keys k JOIN operators o ON o.id = k.operator_id";

fn hash_of(bytes: Vec<u8>) -> DbResult<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| DbError::Corrupt("a credential's secret hash is not 32 bytes".into()))
}

fn previous_of(r: &Row<'_>) -> DbResult<Option<PreviousSecretRow>> {
    let Some(lookup_id) = r.get::<Option<String>>(26)? else {
        return Ok(None);
    };
    let hash: Option<Vec<u8>> = r.get(27)?;
    Ok(Some(PreviousSecretRow {
        lookup_id,
        secret_hash: hash_of(hash.unwrap_or_default())?,
        masked_key: r.get::<Option<String>>(28)?.unwrap_or_default(),
        expires_at: r.get::<Option<i64>>(29)?.unwrap_or(0),
        last_used_at: r.get(30)?,
    }))
}

fn from_row(r: &Row<'_>) -> DbResult<ApiKeyRow> {
    let secret_hash = hash_of(r.get(3)?)?;
    let status: String = r.get(18)?;
    let kind: String = r.get(21)?;
    Ok(ApiKeyRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        kind: CredentialKind::parse(&kind)
            .ok_or_else(|| DbError::Corrupt(format!("credential kind {kind:?}")))?,
        client_id: r.get(22)?,
        lookup_id: r.get(2)?,
        secret_hash,
        masked_key: r.get(4)?,
        name: r.get(5)?,
        description: r.get(6)?,
        contact_first_name: r.get(7)?,
        contact_last_name: r.get(8)?,
        operator_id: r.get(9)?,
        operator_guid: r.get(10)?,
        contact_email: r.get(11)?,
        contact_login: r.get(12)?,
        operator_active: r.get(13)?,
        expiration_date: r.get(14)?,
        expires_at: r.get(15)?,
        enable_permissions: r.get(16)?,
        permissions: PermissionSet::from_storage(&r.get::<String>(17)?),
        status: KeyStatus::parse(&status)
            .ok_or_else(|| DbError::Corrupt(format!("API key status {status:?}")))?,
        created_at: r.get(19)?,
        last_used_at: r.get(20)?,
        last_used_from: r.get(23)?,
        use_count: r.get(24)?,
        active_since: r.get(25)?,
        previous: previous_of(r)?,
    })
}

/// A credential of this kind: `/v4/ApiKey` never sees a client, nor
/// `/v4/OAuthClient` a key.
pub fn find_by_guid(
    conn: &Conn<'_>,
    kind: CredentialKind,
    guid: Guid,
) -> DbResult<Option<ApiKeyRow>> {
    conn.query_opt(
        &format!("{SELECT} WHERE k.guid = ?1 AND k.kind = ?2"),
        &[&guid, &kind.as_str()],
        from_row,
    )
}

pub fn find_by_id(conn: &Conn<'_>, id: i64) -> DbResult<ApiKeyRow> {
    conn.query_one(&format!("{SELECT} WHERE k.id = ?1"), &[&id], from_row)
}

/// `find_by_id`, for a credential that may have been deleted meanwhile.
pub fn find_by_id_opt(conn: &Conn<'_>, id: i64) -> DbResult<Option<ApiKeyRow>> {
    conn.query_opt(&format!("{SELECT} WHERE k.id = ?1"), &[&id], from_row)
}

/// Every credential of every kind (the authentication index).
pub fn list(conn: &Conn<'_>) -> DbResult<Vec<ApiKeyRow>> {
    conn.query_all(&format!("{SELECT} ORDER BY k.id"), &[], from_row)
}

/// Whether a credential of either kind has this GUID.
pub fn guid_taken(conn: &Conn<'_>, guid: Guid) -> DbResult<bool> {
    conn.query_one(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE guid = ?1)",
        &[&guid],
        |r| r.get(0),
    )
}

/// Whether a credential of either kind has this lookup id, for its current
/// secret or its previous one.
pub fn lookup_id_taken(conn: &Conn<'_>, lookup_id: &str) -> DbResult<bool> {
    conn.query_one(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE lookup_id = ?1)
             OR EXISTS (SELECT 1 FROM api_keys WHERE previous_lookup_id = ?1)",
        &[&lookup_id],
        |r| r.get(0),
    )
}

/// The credentials of one kind.
pub fn list_of(conn: &Conn<'_>, kind: CredentialKind) -> DbResult<Vec<ApiKeyRow>> {
    conn.query_all(
        &format!("{SELECT} WHERE k.kind = ?1 ORDER BY k.id"),
        &[&kind.as_str()],
        from_row,
    )
}

/// The credentials (of either kind) acting as an operator.
pub fn acting_as(conn: &Conn<'_>, operator_id: i64) -> DbResult<Vec<ApiKeyRow>> {
    conn.query_all(
        &format!("{SELECT} WHERE k.operator_id = ?1 ORDER BY k.id"),
        &[&operator_id],
        from_row,
    )
}

/// Active keys with an expiry instant at or before `until_ms`, after `after_id`,
/// in id order, at most `limit` (the sweep goes through them page by page).
pub fn expiring(
    conn: &Conn<'_>,
    after_id: i64,
    until_ms: i64,
    limit: i64,
) -> DbResult<Vec<ApiKeyRow>> {
    conn.query_all(
        &format!(
            "{SELECT} WHERE k.id > ?1 AND k.status = ?2 AND k.expires_at IS NOT NULL
               AND k.expires_at <= ?3 ORDER BY k.id LIMIT ?4"
        ),
        &[&after_id, &KeyStatus::Active.as_str(), &until_ms, &limit],
        from_row,
    )
}

/// The secret-derived columns: replaced together by create and regenerate.
pub struct KeySecret {
    pub lookup_id: String,
    pub secret_hash: [u8; 32],
    pub masked_key: String,
}

/// The editable columns.
pub struct KeyDetails<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub contact_first_name: &'a str,
    pub contact_last_name: &'a str,
    pub expiration_date: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub enable_permissions: bool,
    pub permissions: PermissionSet,
}

/// What a credential is, fixed at creation.
pub struct Identity<'a> {
    pub guid: Guid,
    pub kind: CredentialKind,
    /// An OAuth client's public id; `None` for an API key.
    pub client_id: Option<&'a str>,
    pub operator_id: i64,
}

/// Inserts an API key.
pub fn insert(
    conn: &Conn<'_>,
    guid: Guid,
    operator_id: i64,
    secret: &KeySecret,
    details: &KeyDetails<'_>,
    now_ms: i64,
) -> DbResult<i64> {
    let identity = Identity {
        guid,
        kind: CredentialKind::ApiKey,
        client_id: None,
        operator_id,
    };
    insert_credential(conn, &identity, secret, details, now_ms)
}

/// Inserts a credential of either kind.
pub fn insert_credential(
    conn: &Conn<'_>,
    identity: &Identity<'_>,
    secret: &KeySecret,
    details: &KeyDetails<'_>,
    now_ms: i64,
) -> DbResult<i64> {
    conn.query_one(
        "INSERT INTO api_keys (guid, lookup_id, secret_hash, masked_key, name, description,
            contact_first_name, contact_last_name, operator_id, expiration_date, expires_at,
            enable_permissions, permissions, status, created_at, updated_at, kind, client_id,
            active_since)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?17,
                 ?15)
         RETURNING id",
        &[
            &identity.guid,
            &secret.lookup_id,
            &&secret.secret_hash[..],
            &secret.masked_key,
            &details.name,
            &details.description,
            &details.contact_first_name,
            &details.contact_last_name,
            &identity.operator_id,
            &details.expiration_date,
            &details.expires_at,
            &details.enable_permissions,
            &details.permissions.to_storage(),
            &KeyStatus::Active.as_str(),
            &now_ms,
            &identity.kind.as_str(),
            &identity.client_id,
        ],
        |r| r.get(0),
    )
}

/// Replaces the editable columns. A key whose stored status is Expired becomes
/// Active again when its new expiry lies in the future (the sweep re-arms);
/// one brought back from expiry (marked or not yet swept) is usable again
/// from now, which is when its unused clock restarts.
pub fn update_details(conn: &Conn<'_>, id: i64, d: &KeyDetails<'_>, now_ms: i64) -> DbResult<()> {
    conn.execute(
        "UPDATE api_keys SET name = ?2, description = ?3, contact_first_name = ?4,
            contact_last_name = ?5, expiration_date = ?6, expires_at = ?7, enable_permissions = ?8,
            permissions = ?9, updated_at = ?10,
            status = CASE WHEN status = 'Expired' AND (CAST(?7 AS BIGINT) IS NULL OR ?7 > ?10) THEN 'Active' ELSE status END,
            active_since = CASE WHEN status <> 'Revoked'
                                 AND (status = 'Expired' OR expires_at <= ?10)
                                 AND (CAST(?7 AS BIGINT) IS NULL OR ?7 > ?10)
                                THEN ?10 ELSE active_since END
         WHERE id = ?1",
        &[
            &id,
            &d.name,
            &d.description,
            &d.contact_first_name,
            &d.contact_last_name,
            &d.expiration_date,
            &d.expires_at,
            &d.enable_permissions,
            &d.permissions.to_storage(),
            &now_ms,
        ],
    )?;
    Ok(())
}

/// New secret; a revoked key becomes Active again, and the unused clock
/// restarts (nobody can have used the new secret yet). With `grace_until`,
/// the secret being replaced keeps working until then as the previous one
/// (its lookup id and hash move over; any earlier previous secret is
/// forgotten); without, it stops at once.
pub fn replace_secret(
    conn: &Conn<'_>,
    id: i64,
    secret: &KeySecret,
    grace_until: Option<i64>,
    now_ms: i64,
) -> DbResult<()> {
    // Every right-hand side reads the row as it was before this statement.
    conn.execute(
        "UPDATE api_keys SET
            previous_lookup_id = CASE WHEN CAST(?6 AS BIGINT) IS NULL THEN NULL ELSE lookup_id END,
            previous_secret_hash = CASE WHEN CAST(?6 AS BIGINT) IS NULL THEN NULL ELSE secret_hash END,
            previous_masked_key = CASE WHEN CAST(?6 AS BIGINT) IS NULL THEN NULL ELSE masked_key END,
            previous_expires_at = ?6, previous_last_used_at = NULL,
            lookup_id = ?2, secret_hash = ?3, masked_key = ?4, updated_at = ?5, active_since = ?5,
            status = CASE WHEN status = 'Revoked' THEN 'Active' ELSE status END
         WHERE id = ?1",
        &[
            &id,
            &secret.lookup_id,
            &&secret.secret_hash[..],
            &secret.masked_key,
            &now_ms,
            &grace_until,
        ],
    )?;
    Ok(())
}

/// Revoked: the key and its previous secret, whose grace period ends now.
pub fn revoke(conn: &Conn<'_>, id: i64, now_ms: i64) -> DbResult<()> {
    conn.execute(
        "UPDATE api_keys SET status = 'Revoked', updated_at = ?2,
            previous_expires_at = CASE WHEN previous_expires_at > ?2 THEN ?2
                                       ELSE previous_expires_at END
         WHERE id = ?1",
        &[&id, &now_ms],
    )?;
    Ok(())
}

/// Marks an active key past its expiry as Expired; false if it was not (a
/// concurrent sweeper got there first, or it was changed meanwhile).
pub fn mark_expired(conn: &Conn<'_>, id: i64, now_ms: i64) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE api_keys SET status = 'Expired' WHERE id = ?1 AND status = 'Active' AND expires_at <= ?2",
        &[&id, &now_ms],
    )? == 1)
}

pub fn delete(conn: &Conn<'_>, id: i64) -> DbResult<()> {
    conn.execute("DELETE FROM api_keys WHERE id = ?1", &[&id])?;
    Ok(())
}

pub fn count_for_operator(conn: &Conn<'_>, operator_id: i64) -> DbResult<i64> {
    conn.query_one(
        "SELECT count(*) FROM api_keys WHERE operator_id = ?1",
        &[&operator_id],
        |r| r.get(0),
    )
}

/// What authentication counted in memory for one credential since the last
/// flush, as absolute values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub id: i64,
    pub last_used_at: i64,
    pub last_used_from: Option<String>,
    pub use_count: i64,
    /// The previous secret (by lookup id) and when it was last used.
    pub previous: Option<(String, i64)>,
}

/// Writes coalesced usage; never moves a value backwards. The address goes
/// with the LastUsedAt it belongs to; a previous secret's last use only to
/// that same previous secret (a Regenerate meanwhile replaced it).
pub fn store_usage(conn: &Conn<'_>, values: &[Usage]) -> DbResult<()> {
    // SQLite's scalar max() is PostgreSQL's greatest().
    macro_rules! store_usage {
        ($max:literal) => {
            concat!(
                "UPDATE api_keys SET
                    last_used_from = CASE WHEN ?2 >= coalesce(last_used_at, 0) AND CAST(?3 AS TEXT) IS NOT NULL
                                          THEN ?3 ELSE last_used_from END,
                    last_used_at = ", $max, "(coalesce(last_used_at, 0), ?2),
                    use_count = ", $max, "(use_count, ?4),
                    previous_last_used_at = CASE WHEN CAST(?5 AS TEXT) IS NOT NULL AND previous_lookup_id = ?5
                        THEN ", $max, "(coalesce(previous_last_used_at, 0), ?6)
                        ELSE previous_last_used_at END
                 WHERE id = ?1"
            )
        };
    }
    let sql = match conn.dialect() {
        super::Dialect::Sqlite => store_usage!("max"),
        super::Dialect::Postgres => store_usage!("greatest"),
    };
    for u in values {
        let (previous_lookup, previous_used) = match &u.previous {
            Some((lookup, at)) => (Some(lookup.as_str()), Some(*at)),
            None => (None, None),
        };
        conn.execute(
            sql,
            &[
                &u.id,
                &u.last_used_at,
                &u.last_used_from,
                &u.use_count,
                &previous_lookup,
                &previous_used,
            ],
        )?;
    }
    Ok(())
}

/// Active credentials whose previous secret stops within the hour after
/// `now_ms` (and not yet): the grace reminders due now.
pub fn grace_ending(conn: &Conn<'_>, now_ms: i64) -> DbResult<Vec<ApiKeyRow>> {
    conn.query_all(
        &format!(
            "{SELECT} WHERE k.previous_expires_at > ?1 AND k.previous_expires_at <= ?1 + 3600000
               AND k.status = 'Active' ORDER BY k.previous_expires_at, k.id"
        ),
        &[&now_ms],
        from_row,
    )
}

/// The earliest grace period ending more than an hour after `now_ms`: its
/// reminder is the next one due, an hour before.
pub fn next_grace_end(conn: &Conn<'_>, now_ms: i64) -> DbResult<Option<i64>> {
    conn.query_one(
        "SELECT min(previous_expires_at) FROM api_keys
         WHERE previous_expires_at > CAST(?1 AS BIGINT) + 3600000",
        &[&now_ms],
        |r| r.get(0),
    )
}

/// Credentials usable at `now_ms` (Active, not past their expiry), after
/// `after_id`, in id order, at most `limit`: the unused sweep's pages.
pub fn usable(conn: &Conn<'_>, after_id: i64, now_ms: i64, limit: i64) -> DbResult<Vec<ApiKeyRow>> {
    conn.query_all(
        &format!(
            "{SELECT} WHERE k.id > ?1 AND k.status = 'Active'
               AND (k.expires_at IS NULL OR k.expires_at > ?2) ORDER BY k.id LIMIT ?3"
        ),
        &[&after_id, &now_ms, &limit],
        from_row,
    )
}

/// Revokes a credential for being unused, only if nothing changed since the
/// sweep looked at it: still Active and usable, not regenerated or brought
/// back (`active_since`), not used since (`idle_since`). False otherwise (a
/// concurrent sweeper revoked it, or it was used or changed meanwhile).
pub fn revoke_unused(
    conn: &Conn<'_>,
    id: i64,
    active_since: i64,
    idle_since: i64,
    now_ms: i64,
) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE api_keys SET status = 'Revoked', updated_at = ?4,
            previous_expires_at = CASE WHEN previous_expires_at > ?4 THEN ?4
                                       ELSE previous_expires_at END
         WHERE id = ?1 AND status = 'Active' AND (expires_at IS NULL OR expires_at > ?4)
           AND active_since = ?2 AND coalesce(last_used_at, 0) <= ?3",
        &[&id, &active_since, &idle_since, &now_ms],
    )? == 1)
}

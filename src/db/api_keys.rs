//! `api_keys`, as rows (joined with the operator the key acts as, whose login
//! and e-mail are the key's contact login and e-mail).

use rusqlite::{Connection, OptionalExtension, Row};

use crate::auth::PermissionSet;
use crate::auth::index::StoredStatus;
use crate::types::Guid;

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: i64,
    pub guid: Guid,
    pub masked_key: String,
    pub name: String,
    pub description: String,
    pub contact_first_name: String,
    pub contact_last_name: String,
    pub operator_id: i64,
    pub operator_guid: Guid,
    pub contact_email: String,
    pub contact_login: String,
    pub expiration_date: Option<String>,
    pub expires_at: Option<i64>,
    pub enable_permissions: bool,
    pub permissions: PermissionSet,
    pub status: StoredStatus,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl ApiKeyRow {
    pub fn effective_permissions(&self) -> PermissionSet {
        PermissionSet::effective(self.enable_permissions, self.permissions)
    }
}

const SELECT: &str =
    "SELECT k.id, k.guid, k.masked_key, k.name, k.description, k.contact_first_name,
    k.contact_last_name, k.operator_id, o.guid, o.email, o.login, k.expiration_date, k.expires_at,
    k.enable_permissions, k.permissions, k.status, k.created_at, k.last_used_at
    FROM api_keys k JOIN operators o ON o.id = k.operator_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ApiKeyRow> {
    Ok(ApiKeyRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        masked_key: r.get(2)?,
        name: r.get(3)?,
        description: r.get(4)?,
        contact_first_name: r.get(5)?,
        contact_last_name: r.get(6)?,
        operator_id: r.get(7)?,
        operator_guid: r.get(8)?,
        contact_email: r.get(9)?,
        contact_login: r.get(10)?,
        expiration_date: r.get(11)?,
        expires_at: r.get(12)?,
        enable_permissions: r.get(13)?,
        permissions: PermissionSet::from_storage(&r.get::<_, String>(14)?),
        status: StoredStatus::parse(&r.get::<_, String>(15)?),
        created_at: r.get(16)?,
        last_used_at: r.get(17)?,
    })
}

pub fn find_by_guid(conn: &Connection, guid: Guid) -> rusqlite::Result<Option<ApiKeyRow>> {
    conn.prepare_cached(&format!("{SELECT} WHERE k.guid = ?1"))?
        .query_row([guid], from_row)
        .optional()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ApiKeyRow>> {
    conn.prepare_cached(&format!("{SELECT} ORDER BY k.id"))?
        .query_map([], from_row)?
        .collect()
}

/// The keys acting as an operator, with their effective permissions.
pub fn acting_as(
    conn: &Connection,
    operator_id: i64,
) -> rusqlite::Result<Vec<(Guid, PermissionSet)>> {
    conn.prepare_cached(
        "SELECT guid, enable_permissions, permissions FROM api_keys WHERE operator_id = ?1 ORDER BY id",
    )?
    .query_map([operator_id], |r| {
        Ok((
            r.get(0)?,
            PermissionSet::effective(r.get(1)?, PermissionSet::from_storage(&r.get::<_, String>(2)?)),
        ))
    })?
    .collect()
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

pub fn insert(
    conn: &Connection,
    guid: Guid,
    operator_id: i64,
    secret: &KeySecret,
    details: &KeyDetails<'_>,
    now_ms: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO api_keys (guid, lookup_id, secret_hash, masked_key, name, description,
            contact_first_name, contact_last_name, operator_id, expiration_date, expires_at,
            enable_permissions, permissions, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'Active', ?14, ?14)",
    )?
    .execute(rusqlite::params![
        guid,
        secret.lookup_id,
        &secret.secret_hash[..],
        secret.masked_key,
        details.name,
        details.description,
        details.contact_first_name,
        details.contact_last_name,
        operator_id,
        details.expiration_date,
        details.expires_at,
        details.enable_permissions,
        details.permissions.to_storage(),
        now_ms,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Replaces the editable columns. A key whose stored status is Expired becomes
/// Active again when its new expiry lies in the future (the sweep re-arms).
pub fn update_details(
    conn: &Connection,
    id: i64,
    d: &KeyDetails<'_>,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE api_keys SET name = ?2, description = ?3, contact_first_name = ?4,
            contact_last_name = ?5, expiration_date = ?6, expires_at = ?7, enable_permissions = ?8,
            permissions = ?9, updated_at = ?10,
            status = CASE WHEN status = 'Expired' AND (?7 IS NULL OR ?7 > ?10) THEN 'Active' ELSE status END
         WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        id,
        d.name,
        d.description,
        d.contact_first_name,
        d.contact_last_name,
        d.expiration_date,
        d.expires_at,
        d.enable_permissions,
        d.permissions.to_storage(),
        now_ms,
    ])?;
    Ok(())
}

/// New secret; a revoked key becomes Active again.
pub fn replace_secret(
    conn: &Connection,
    id: i64,
    secret: &KeySecret,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE api_keys SET lookup_id = ?2, secret_hash = ?3, masked_key = ?4, updated_at = ?5,
            status = CASE WHEN status = 'Revoked' THEN 'Active' ELSE status END
         WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        id,
        secret.lookup_id,
        &secret.secret_hash[..],
        secret.masked_key,
        now_ms
    ])?;
    Ok(())
}

pub fn revoke(conn: &Connection, id: i64, now_ms: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE api_keys SET status = 'Revoked', updated_at = ?2 WHERE id = ?1")?
        .execute((id, now_ms))?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM api_keys WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Writes coalesced LastUsedAt values; never moves one backwards.
pub fn store_last_used(conn: &Connection, values: &[(i64, i64)]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?2) WHERE id = ?1",
    )?;
    for (id, at) in values {
        stmt.execute((id, at))?;
    }
    Ok(())
}

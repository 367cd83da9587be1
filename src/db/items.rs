//! `vault_items`, `vault_item_secrets` and `vault_item_usages`, as rows.
//! Listing reads item rows only: secrets live in their own table.

use std::sync::LazyLock;

use super::rights::{rights_sql, visible_sections_sql};
use super::{Conn, DbError, DbResult, Row};
use crate::types::{Guid, SectionRights};

/// One item as stored: one wide row for every type; `vault::items` turns it
/// into the typed item (and refuses a type it does not know).
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: i64,
    pub guid: Guid,
    pub section_id: i64,
    pub section_guid: Guid,
    pub item_type: String,
    pub name: String,
    pub notes: String,
    pub value: String,
    pub user_name: String,
    pub archive_issuer: String,
    pub archive_not_before: String,
    pub archive_not_after: String,
    pub file_name: String,
    pub file_size: i64,
    pub otp_digits: Option<i64>,
    pub otp_period: Option<i64>,
    pub otp_hash_algorithm: Option<String>,
    pub otp_encoding: Option<String>,
    pub used_by: String,
    /// When the certificate of a Certificate or CertificateArchive item
    /// stops being valid (ms); None otherwise.
    pub not_after: Option<i64>,
}

const SELECT_COLUMNS: &str = "SELECT i.id, i.guid, i.section_id, s.guid, i.item_type, i.name,
    i.notes, i.value, i.user_name, i.archive_issuer, i.archive_not_before, i.archive_not_after,
    i.file_name, i.file_size, i.otp_digits, i.otp_period, i.otp_hash_algorithm, i.otp_encoding,
    i.used_by, i.not_after";
const FROM: &str = "FROM vault_items i JOIN vault_sections s ON s.id = i.section_id";

fn from_row(r: &Row<'_>) -> DbResult<ItemRow> {
    Ok(ItemRow {
        id: r.get(0)?,
        guid: r.get(1)?,
        section_id: r.get(2)?,
        section_guid: r.get(3)?,
        item_type: r.get(4)?,
        name: r.get(5)?,
        notes: r.get(6)?,
        value: r.get(7)?,
        user_name: r.get(8)?,
        archive_issuer: r.get(9)?,
        archive_not_before: r.get(10)?,
        archive_not_after: r.get(11)?,
        file_name: r.get(12)?,
        file_size: r.get(13)?,
        otp_digits: r.get(14)?,
        otp_period: r.get(15)?,
        otp_hash_algorithm: r.get(16)?,
        otp_encoding: r.get(17)?,
        used_by: r.get(18)?,
        not_after: r.get(19)?,
    })
}

/// The item and the operator's rights on its section, in one statement (the
/// hot path of `GET /v4/VaultItem/{guid}`).
pub fn find_with_rights(
    conn: &Conn<'_>,
    guid: Guid,
    operator_id: i64,
) -> DbResult<Option<(ItemRow, SectionRights)>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{SELECT_COLUMNS}, {} {FROM} WHERE i.guid = ?1",
            rights_sql("i.section_id", "?2")
        )
    });
    conn.query_opt(&SQL, &[&guid, &operator_id], |r| {
        Ok((from_row(r)?, SectionRights::from_level(r.get(20)?)))
    })
}

pub fn guid_taken(conn: &Conn<'_>, guid: Guid) -> DbResult<bool> {
    conn.query_one(
        "SELECT EXISTS (SELECT 1 FROM vault_items WHERE guid = ?1)",
        &[&guid],
        |r| r.get(0),
    )
}

/// Every item of every section the operator may view, in one query: the
/// section filter is a set built once, not a query per section or item.
pub fn for_each_visible<E: From<DbError>>(
    conn: &Conn<'_>,
    operator_id: i64,
    mut f: impl FnMut(ItemRow) -> Result<(), E>,
) -> Result<(), E> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{SELECT_COLUMNS} {FROM} WHERE i.section_id IN {} ORDER BY i.id",
            visible_sections_sql("?1")
        )
    });
    conn.for_each(&SQL, &[&operator_id], |r| f(from_row(r)?))
}

/// The columns an insert or an update writes.
pub struct ItemColumns<'a> {
    pub name: &'a str,
    pub notes: &'a str,
    pub value: &'a str,
    pub user_name: &'a str,
    pub archive_issuer: &'a str,
    pub archive_not_before: &'a str,
    pub archive_not_after: &'a str,
    pub file_name: &'a str,
    pub file_size: i64,
    pub otp_digits: Option<i64>,
    pub otp_period: Option<i64>,
    pub otp_hash_algorithm: Option<&'a str>,
    pub otp_encoding: Option<&'a str>,
    pub not_after: Option<i64>,
}

impl ItemColumns<'_> {
    /// In the order `insert` and `update` bind them (from their fifth/second placeholder on).
    fn params(&self) -> [&dyn super::Param; 14] {
        [
            &self.name,
            &self.notes,
            &self.value,
            &self.user_name,
            &self.archive_issuer,
            &self.archive_not_before,
            &self.archive_not_after,
            &self.file_name,
            &self.file_size,
            &self.otp_digits,
            &self.otp_period,
            &self.otp_hash_algorithm,
            &self.otp_encoding,
            &self.not_after,
        ]
    }
}

pub fn insert(
    conn: &Conn<'_>,
    guid: Guid,
    section_id: i64,
    item_type: &str,
    c: &ItemColumns<'_>,
    now_ms: i64,
) -> DbResult<i64> {
    conn.query_one(
        "INSERT INTO vault_items (guid, section_id, item_type, name, notes, value, user_name,
            archive_issuer, archive_not_before, archive_not_after, file_name, file_size, otp_digits,
            otp_period, otp_hash_algorithm, otp_encoding, not_after, used_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, '-', ?18, ?18)
         RETURNING id",
        &[&[&guid as &dyn super::Param, &section_id, &item_type][..], &c.params(), &[&now_ms]].concat(),
        |r| r.get(0),
    )
}

pub fn update(conn: &Conn<'_>, id: i64, c: &ItemColumns<'_>, now_ms: i64) -> DbResult<()> {
    conn.execute(
        "UPDATE vault_items SET name = ?2, notes = ?3, value = ?4, user_name = ?5, archive_issuer = ?6,
            archive_not_before = ?7, archive_not_after = ?8, file_name = ?9, file_size = ?10,
            otp_digits = ?11, otp_period = ?12, otp_hash_algorithm = ?13, otp_encoding = ?14,
            not_after = ?15, updated_at = ?16
         WHERE id = ?1",
        &[&[&id as &dyn super::Param][..], &c.params(), &[&now_ms]].concat(),
    )?;
    Ok(())
}

pub fn delete(conn: &Conn<'_>, id: i64) -> DbResult<()> {
    conn.execute("DELETE FROM vault_items WHERE id = ?1", &[&id])?;
    Ok(())
}

/// A sealed secret of an item, as stored.
pub fn secret(conn: &Conn<'_>, item_id: i64, field: &str) -> DbResult<Option<Vec<u8>>> {
    conn.query_opt(
        "SELECT sealed FROM vault_item_secrets WHERE item_id = ?1 AND field = ?2",
        &[&item_id, &field],
        |r| r.get(0),
    )
}

pub fn put_secret(conn: &Conn<'_>, item_id: i64, field: &str, sealed: &[u8]) -> DbResult<()> {
    conn.execute(
        "INSERT INTO vault_item_secrets (item_id, field, sealed) VALUES (?1, ?2, ?3)
         ON CONFLICT (item_id, field) DO UPDATE SET sealed = excluded.sealed",
        &[&item_id, &field, &sealed],
    )?;
    Ok(())
}

pub fn delete_secret(conn: &Conn<'_>, item_id: i64, field: &str) -> DbResult<()> {
    conn.execute(
        "DELETE FROM vault_item_secrets WHERE item_id = ?1 AND field = ?2",
        &[&item_id, &field],
    )?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct UsageRow {
    pub id: i64,
    pub guid: Guid,
    pub consumer_type: String,
    pub consumer_name: String,
    pub created_at: i64,
}

pub fn usages(conn: &Conn<'_>, item_id: i64) -> DbResult<Vec<UsageRow>> {
    conn.query_all(
        "SELECT id, guid, consumer_type, consumer_name, created_at FROM vault_item_usages
         WHERE item_id = ?1 ORDER BY consumer_type, id",
        &[&item_id],
        |r| {
            Ok(UsageRow {
                id: r.get(0)?,
                guid: r.get(1)?,
                consumer_type: r.get(2)?,
                consumer_name: r.get(3)?,
                created_at: r.get(4)?,
            })
        },
    )
}

pub fn insert_usage(
    conn: &Conn<'_>,
    item_id: i64,
    guid: Guid,
    consumer_type: &str,
    consumer_name: &str,
    now_ms: i64,
) -> DbResult<()> {
    conn.execute(
        "INSERT INTO vault_item_usages (guid, item_id, consumer_type, consumer_name, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[&guid, &item_id, &consumer_type, &consumer_name, &now_ms],
    )?;
    Ok(())
}

pub fn delete_usage(conn: &Conn<'_>, id: i64) -> DbResult<()> {
    conn.execute("DELETE FROM vault_item_usages WHERE id = ?1", &[&id])?;
    Ok(())
}

pub fn set_used_by(conn: &Conn<'_>, item_id: i64, used_by: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE vault_items SET used_by = ?2 WHERE id = ?1",
        &[&item_id, &used_by],
    )?;
    Ok(())
}

/// A certificate item near or past its NotAfter, and one operator to remind
/// (None when no active operator holds ChangeVaultSection on its section).
#[derive(Debug, Clone)]
pub struct ExpiringRow {
    pub item_id: i64,
    pub guid: Guid,
    pub name: String,
    pub item_type: String,
    pub not_after: i64,
    pub section_guid: Guid,
    pub section_name: String,
    pub recipient: Option<Recipient>,
}

#[derive(Debug, Clone)]
pub struct Recipient {
    pub guid: Guid,
    pub email: String,
    pub full_name: String,
}

/// The next `limit` items (by id, after `after_id`) whose certificate
/// expires at or before `horizon_ms`, each with every active operator
/// holding ChangeVaultSection on its section, directly or through a group:
/// one statement for a page of items and all their recipients.
pub fn expiring_with_recipients(
    conn: &Conn<'_>,
    after_id: i64,
    horizon_ms: i64,
    limit: i64,
) -> DbResult<Vec<ExpiringRow>> {
    conn.query_all(
        "WITH page AS (
             SELECT id, guid, name, item_type, not_after, section_id FROM vault_items
             WHERE not_after IS NOT NULL AND not_after <= ?2 AND id > ?1
             ORDER BY id LIMIT ?3),
         changers AS (
             SELECT a.section_id, a.operator_id FROM section_authorizations a
             WHERE a.kind = 'ChangeVaultSection' AND a.operator_id IS NOT NULL
               AND a.section_id IN (SELECT section_id FROM page)
             UNION
             SELECT a.section_id, m.operator_id FROM section_authorizations a
             JOIN group_members m ON m.group_id = a.group_id
             WHERE a.kind = 'ChangeVaultSection' AND a.section_id IN (SELECT section_id FROM page))
         SELECT p.id, p.guid, p.name, p.item_type, p.not_after, s.guid, s.name,
                o.guid, o.email, o.full_name
         FROM page p JOIN vault_sections s ON s.id = p.section_id
         LEFT JOIN (changers c JOIN operators o ON o.id = c.operator_id AND o.is_active = 1)
                ON c.section_id = p.section_id
         ORDER BY p.id, o.id",
        &[&after_id, &horizon_ms, &limit],
        |r| {
            let recipient = match r.get::<Option<Guid>>(7)? {
                Some(guid) => Some(Recipient {
                    guid,
                    email: r.get(8)?,
                    full_name: r.get(9)?,
                }),
                None => None,
            };
            Ok(ExpiringRow {
                item_id: r.get(0)?,
                guid: r.get(1)?,
                name: r.get(2)?,
                item_type: r.get(3)?,
                not_after: r.get(4)?,
                section_guid: r.get(5)?,
                section_name: r.get(6)?,
                recipient,
            })
        },
    )
}

/// Every visible Certificate or CertificateArchive item whose certificate
/// expires before `before_ms` (expired ones included), soonest first.
pub fn expiring_visible(
    conn: &Conn<'_>,
    operator_id: i64,
    before_ms: i64,
) -> DbResult<Vec<ItemRow>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{SELECT_COLUMNS} {FROM} WHERE i.not_after IS NOT NULL AND i.not_after < ?2
               AND i.section_id IN {} ORDER BY i.not_after, i.id",
            visible_sections_sql("?1")
        )
    });
    conn.query_all(&SQL, &[&operator_id, &before_ms], from_row)
}

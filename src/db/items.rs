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
}

const SELECT_COLUMNS: &str = "SELECT i.id, i.guid, i.section_id, s.guid, i.item_type, i.name,
    i.notes, i.value, i.user_name, i.archive_issuer, i.archive_not_before, i.archive_not_after,
    i.file_name, i.file_size, i.otp_digits, i.otp_period, i.otp_hash_algorithm, i.otp_encoding,
    i.used_by";
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
        Ok((from_row(r)?, SectionRights::from_level(r.get(19)?)))
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
}

impl ItemColumns<'_> {
    /// In the order `insert` and `update` bind them (from their fifth/second placeholder on).
    fn params(&self) -> [&dyn super::Param; 13] {
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
            otp_period, otp_hash_algorithm, otp_encoding, used_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, '-', ?17, ?17)
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
            updated_at = ?15
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

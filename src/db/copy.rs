//! `coffre migrate --to postgres://…`: every table of a SQLite database
//! copied, as stored (sealed values stay sealed as they are; the caller may
//! rewrite a row on the way, e.g. to seal what PostgreSQL keeps sealed), into an empty
//! PostgreSQL database in one transaction, in dependency order, with
//! multi-row INSERTs; the identity sequences moved past the copied ids.

use super::Value;
use super::pg;

/// Parents before children: each table's foreign keys point to tables above it.
pub const TABLES: &[&str] = &[
    "operators",
    "operator_groups",
    "group_members",
    "api_keys",
    "vault_sections",
    "section_authorizations",
    "vault_items",
    "vault_item_secrets",
    "vault_item_usages",
    "vault_item_versions",
    "history",
    "outbox",
    "oauth_tokens",
];

/// Tables whose `id` PostgreSQL generates (their sequence is moved on).
const WITHOUT_ID: &[&str] = &["group_members", "vault_item_secrets"];

/// Rows per INSERT, within PostgreSQL's 65535 parameters.
fn batch_rows(width: usize) -> usize {
    (60_000 / width.max(1)).clamp(1, 1000)
}

/// True when the target has no keyring and every table is empty.
pub fn target_is_empty(tx: &mut postgres::Transaction<'_>) -> Result<bool, postgres::Error> {
    let keyring: i64 = tx.query_one("SELECT count(*) FROM keyring", &[])?.get(0);
    if keyring > 0 {
        return Ok(false);
    }
    for table in TABLES {
        let rows: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
            .get(0);
        if rows > 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Sees a row (with the column names) before it is written, and may change it.
pub type Rewrite<'a> = &'a mut dyn FnMut(&[String], &mut [Value]) -> Result<(), String>;

/// Copies one table; returns the rows copied. `rewrite` sees each row (with
/// the column names) before it is written; `progress` hears the running count.
pub fn copy_table(
    source: &rusqlite::Connection,
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    rewrite: Rewrite<'_>,
    mut progress: impl FnMut(u64),
) -> Result<u64, String> {
    let mut stmt = source
        .prepare(&format!("SELECT * FROM {table}"))
        .map_err(|e| format!("{table}: {e}"))?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let per_batch = batch_rows(columns.len());
    let mut rows = stmt.query([]).map_err(|e| format!("{table}: {e}"))?;
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_batch);
    let mut copied = 0u64;
    let flush = |batch: &mut Vec<Vec<Value>>, tx: &mut postgres::Transaction<'_>| {
        let n = pg::insert_rows(tx, table, &columns, batch)
            .map_err(|e| format!("{table}: {}", super::DbError::Postgres(e)))?;
        batch.clear();
        Ok::<u64, String>(n)
    };
    while let Some(row) = rows.next().map_err(|e| format!("{table}: {e}"))? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            use rusqlite::types::ValueRef as R;
            values.push(match row.get_ref(i).map_err(|e| format!("{table}: {e}"))? {
                R::Null => Value::Null,
                R::Integer(v) => Value::Integer(v),
                R::Real(v) => Value::Real(v),
                R::Text(t) => Value::Text(
                    String::from_utf8(t.to_vec())
                        .map_err(|_| format!("{table}: text is not UTF-8"))?,
                ),
                R::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        rewrite(&columns, &mut values).map_err(|e| format!("{table}: {e}"))?;
        batch.push(values);
        if batch.len() == per_batch {
            copied += flush(&mut batch, tx)?;
            progress(copied);
        }
    }
    copied += flush(&mut batch, tx)?;
    progress(copied);
    if !WITHOUT_ID.contains(&table) {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            ),
            &[],
        )
        .map_err(|e| format!("{table}: {}", super::DbError::Postgres(e)))?;
    }
    Ok(copied)
}

pub fn count_sqlite(source: &rusqlite::Connection, table: &str) -> rusqlite::Result<i64> {
    source.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
}

pub fn count_postgres(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
) -> Result<i64, postgres::Error> {
    Ok(tx
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
        .get(0))
}

/// Up to `n` sealed secrets as the target now holds them: (item GUID, field, blob).
pub fn sample_secrets(
    tx: &mut postgres::Transaction<'_>,
    n: i64,
) -> Result<Vec<(String, String, Vec<u8>)>, postgres::Error> {
    Ok(tx
        .query(
            "SELECT i.guid, s.field, s.sealed FROM vault_item_secrets s
               JOIN vault_items i ON i.id = s.item_id ORDER BY random() LIMIT $1",
            &[&n],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Up to `n` items' stored Notes as the target now holds them: (GUID, notes).
pub fn sample_notes(
    tx: &mut postgres::Transaction<'_>,
    n: i64,
) -> Result<Vec<(String, String)>, postgres::Error> {
    Ok(tx
        .query(
            "SELECT guid, notes FROM vault_items ORDER BY random() LIMIT $1",
            &[&n],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

pub fn store_keyring(
    tx: &mut postgres::Transaction<'_>,
    document: &str,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO keyring (id, document) VALUES (1, $1)",
        &[&document],
    )?;
    Ok(())
}

pub fn lock_writers(tx: &mut postgres::Transaction<'_>) -> Result<(), postgres::Error> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&super::writer::WRITE_LOCK],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// A table left out of `TABLES` would be left behind by `migrate --to`.
    #[test]
    fn every_table_of_the_schema_is_copied() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::migrate::migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        let tables: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut copied: Vec<&str> = super::TABLES.to_vec();
        copied.sort_unstable();
        assert_eq!(tables, copied);
    }
}

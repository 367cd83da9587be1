//! Schema versions. `schema.sql` is version 1; each later version is a file
//! in `migrations/` appended to `MIGRATIONS` (never an edit of what shipped).
//! `PRAGMA user_version` records the version a file is at. PostgreSQL has a
//! list of its own with the same numbering (`migrations/postgres/`), its
//! version in `coffre_schema`, applied under the writers' advisory lock so
//! nodes starting together migrate once.

use rusqlite::Connection;

/// Version N is `MIGRATIONS[N - 1]`, applied in its own transaction.
const MIGRATIONS: &[&str] = &[
    include_str!("../../schema.sql"),
    include_str!("../../migrations/0002_history_client_address.sql"),
    include_str!("../../migrations/0003_outbox_delivery.sql"),
    include_str!("../../migrations/0004_oauth_clients.sql"),
    CERTIFICATES_AND_VERSIONS,
    include_str!("../../migrations/0006_key_lifecycle.sql"),
];

const CERTIFICATES_AND_VERSIONS: &str =
    include_str!("../../migrations/0005_certificates_and_versions.sql");

/// Version N means the same tables and constraints as `MIGRATIONS[N - 1]`
/// (each file named as the SQLite one it mirrors).
const POSTGRES_MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_schema.sql"),
    include_str!("../../migrations/postgres/0002_history_client_address.sql"),
    include_str!("../../migrations/postgres/0003_outbox_delivery.sql"),
    include_str!("../../migrations/postgres/0004_oauth_clients.sql"),
    POSTGRES_CERTIFICATES_AND_VERSIONS,
    include_str!("../../migrations/postgres/0006_key_lifecycle.sql"),
];

const POSTGRES_CERTIFICATES_AND_VERSIONS: &str =
    include_str!("../../migrations/postgres/0005_certificates_and_versions.sql");

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const _: () = assert!(
    MIGRATIONS.len() == POSTGRES_MIGRATIONS.len(),
    "every schema version is written for both engines"
);

#[derive(Debug)]
pub enum MigrateError {
    /// Written by a newer coffre: refuse rather than misread it.
    Newer(i64),
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sqlite(e)
    }
}

/// The schema version the database says it is at (a real read of the file).
pub fn schema_version(conn: &super::Conn<'_>) -> super::DbResult<i64> {
    let sql = match conn.dialect() {
        super::Dialect::Sqlite => "SELECT user_version FROM pragma_user_version",
        super::Dialect::Postgres => "SELECT version FROM coffre_schema",
    };
    conn.query_one(sql, &[], |r| r.get(0))
}

/// Brings a PostgreSQL database to `SCHEMA_VERSION` in one transaction,
/// under the advisory lock every write takes.
pub fn migrate_postgres(client: &mut postgres::Client) -> Result<i64, MigrateError> {
    let mut tx = client.transaction().map_err(MigrateError::Postgres)?;
    let pg = |e| MigrateError::Postgres(e);
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&super::writer::WRITE_LOCK],
    )
    .map_err(pg)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS coffre_schema (
             one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
             version BIGINT NOT NULL);
         INSERT INTO coffre_schema (version) VALUES (0) ON CONFLICT DO NOTHING",
    )
    .map_err(pg)?;
    let from: i64 = tx
        .query_one("SELECT version FROM coffre_schema", &[])
        .map_err(pg)?
        .get(0);
    if from > SCHEMA_VERSION {
        return Err(MigrateError::Newer(from));
    }
    for sql in POSTGRES_MIGRATIONS.iter().skip(from as usize) {
        tx.batch_execute(sql).map_err(pg)?;
        if *sql == POSTGRES_CERTIFICATES_AND_VERSIONS {
            postgres_certificate_not_after(&mut tx).map_err(pg)?;
        }
    }
    tx.execute("UPDATE coffre_schema SET version = $1", &[&SCHEMA_VERSION])
        .map_err(pg)?;
    tx.commit().map_err(pg)?;
    Ok(from)
}

pub fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Brings the database to `SCHEMA_VERSION`, one transaction per step.
pub fn migrate(conn: &mut Connection) -> Result<i64, MigrateError> {
    let from = current_version(conn)?;
    if from > SCHEMA_VERSION {
        return Err(MigrateError::Newer(from));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if *sql == CERTIFICATES_AND_VERSIONS {
            certificate_not_after(&tx)?;
        }
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(from)
}

/// The step of `CERTIFICATES_AND_VERSIONS` that SQL cannot do: the expiry
/// of each Certificate item stored before, read from its text as a write
/// reads it (`crate::x509`).
fn certificate_not_after(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut select =
        tx.prepare("SELECT id, value FROM vault_items WHERE item_type = 'Certificate'")?;
    let mut update = tx.prepare("UPDATE vault_items SET not_after = ?2 WHERE id = ?1")?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let value: String = row.get(1)?;
        if let Some(not_after) = crate::x509::text_not_after(&value) {
            update.execute(rusqlite::params![id, not_after])?;
        }
    }
    Ok(())
}

/// `certificate_not_after` on PostgreSQL.
fn postgres_certificate_not_after(
    tx: &mut postgres::Transaction<'_>,
) -> Result<(), postgres::Error> {
    let rows = tx.query(
        "SELECT id, value FROM vault_items WHERE item_type = 'Certificate'",
        &[],
    )?;
    let update = tx.prepare("UPDATE vault_items SET not_after = $2 WHERE id = $1")?;
    for row in rows {
        let (id, value): (i64, String) = (row.get(0), row.get(1));
        if let Some(not_after) = crate::x509::text_not_after(&value) {
            tx.execute(&update, &[&id, &not_after])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_an_empty_database_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        assert_eq!(current_version(&conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(tables >= 10);
    }

    #[test]
    fn outbox_messages_of_version_1_become_pending_and_due_when_written() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO outbox (guid, kind, api_key_guid, expires_at, to_address, subject, body, created_at)
             VALUES ('G', 'KeyExpired', 'K', 5, 'a@example.com', 's', 'b', 1234)",
            [],
        )
        .unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), 1);
        let row: (String, i64, Option<String>, Option<i64>, i64) = conn
            .query_row(
                "SELECT status, attempts, last_error, sent_at, next_attempt_at FROM outbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(row, ("Pending".into(), 0, None, None, 1234));
        let bad = conn.execute("UPDATE outbox SET status = 'Lost'", []);
        assert!(bad.is_err(), "only Pending, Sent, Failed");
    }

    #[test]
    fn a_version_1_key_becomes_an_api_key_credential() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO operators (guid, full_name, email, login, created_at)
               VALUES ('O', 'o', 'o@e.com', 'o', 1);
             INSERT INTO api_keys (guid, lookup_id, secret_hash, masked_key, name, operator_id,
                                   created_at, updated_at)
               VALUES ('K', 'L', zeroblob(32), 'm', 'n', 1, 1, 1);
             INSERT INTO outbox (guid, kind, api_key_guid, expires_at, to_address, subject, body,
                                 created_at)
               VALUES ('M', 'KeyExpired', 'K', 1, 'o@e.com', 's', 'b', 1);",
        )
        .unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), 1);
        let (kind, client_id): (String, Option<String>) = conn
            .query_row("SELECT kind, client_id FROM api_keys", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((kind.as_str(), client_id), ("ApiKey", None));
        let mail_kind: String = conn
            .query_row("SELECT credential_kind FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mail_kind, "ApiKey");
        // A client needs its public id, and a key may not have one.
        let insert = |kind: &str, id: &str| {
            conn.execute(
                "INSERT INTO api_keys (guid, lookup_id, secret_hash, masked_key, name, operator_id,
                                       created_at, updated_at, kind, client_id)
                 VALUES (?1, ?1, zeroblob(32), 'm', 'n', 1, 1, 1, ?2, nullif(?3, ''))",
                rusqlite::params![format!("{kind}{id}"), kind, id],
            )
        };
        assert!(insert("OAuthClient", "").is_err());
        assert!(insert("ApiKey", "coffreci_x").is_err());
        insert("OAuthClient", "coffreci_x").unwrap();
    }

    #[test]
    fn certificates_get_their_not_after_and_outbox_rows_survive_the_rebuild() {
        let mut conn = Connection::open_in_memory().unwrap();
        let before = MIGRATIONS
            .iter()
            .position(|m| *m == CERTIFICATES_AND_VERSIONS)
            .unwrap();
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before as i64)
            .unwrap();
        let pem = include_str!("../../tests/fixtures/expiring-20300601.pem");
        conn.execute_batch(
            "INSERT INTO vault_sections (guid, name, created_at) VALUES ('S', 's', 1);
             INSERT INTO vault_items (guid, section_id, item_type, name, archive_not_after,
                                      created_at, updated_at)
               VALUES ('A', 1, 'CertificateArchive', 'a', '2100-01-01T00:00:00.000Z', 1, 7);
             INSERT INTO vault_items (guid, section_id, item_type, name, value, created_at, updated_at)
               VALUES ('N', 1, 'Certificate', 'n', 'ssh-ed25519 AAAA x', 1, 8);
             INSERT INTO outbox (guid, kind, api_key_guid, expires_at, to_address, subject, body,
                                 created_at, credential_kind)
               VALUES ('M', 'ExpiryReminder', 'K', 5, 'o@e.com', 's', 'b', 1, 'OAuthClient');",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO vault_items (guid, section_id, item_type, name, value, created_at, updated_at)
             VALUES ('C', 1, 'Certificate', 'c', ?1, 1, 9)",
            [pem],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let not_after = |guid: &str| -> Option<i64> {
            conn.query_row(
                "SELECT not_after FROM vault_items WHERE guid = ?1",
                [guid],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(not_after("A"), Some(4_102_444_800_000));
        assert_eq!(not_after("C"), Some(1_906_502_400_000));
        assert_eq!(not_after("N"), None);
        let row: (String, String, i64, String) = conn
            .query_row(
                "SELECT kind, api_key_guid, expires_at, credential_kind FROM outbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            ("ExpiryReminder".into(), "K".into(), 5, "OAuthClient".into())
        );
        // Every stored item's values are its version 1, dated by its last update.
        let versions: Vec<(i64, i64)> = conn
            .prepare("SELECT version, created_at FROM vault_item_versions ORDER BY created_at")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(versions, [(1, 7), (1, 8), (1, 9)]);
        // A key message still needs its credential, and stays unique.
        let duplicate = conn.execute(
            "INSERT INTO outbox (guid, kind, api_key_guid, expires_at, to_address, subject, body,
                                 created_at)
             VALUES ('M2', 'ExpiryReminder', 'K', 5, 'o@e.com', 's', 'b', 1)",
            [],
        );
        assert!(duplicate.is_err());
        let neither = conn.execute(
            "INSERT INTO outbox (guid, kind, expires_at, to_address, subject, body, created_at,
                                 credential_kind)
             VALUES ('M3', 'KeyExpired', 5, 'o@e.com', 's', 'b', 1, NULL)",
            [],
        );
        assert!(neither.is_err());
    }

    #[test]
    fn refuses_a_database_from_the_future() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(MigrateError::Newer(_))));
    }
}

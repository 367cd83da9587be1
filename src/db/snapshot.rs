//! A copy of the whole database held in memory, to return to: with `--dev`,
//! the state right after start (bootstrap and seed), which `POST
//! /v4/Dev/Reset` restores. Copied both ways with SQLite's backup API in one
//! step (a consistent copy), keyed like every other connection; the restore
//! runs on the writer's connection, between two groups of writes.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::conn::Conn;
use super::error::{DbError, DbResult};
use super::writer::JobError;
use super::{Database, Location};

#[derive(Clone)]
pub struct Snapshot {
    copy: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Snapshot")
    }
}

/// Copies every page of `from` into `to`, in one step.
fn copy(from: &Connection, to: &mut Connection) -> rusqlite::Result<()> {
    let backup = Backup::new(from, to)?;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            // Another connection holds a lock the copy needs (the busy
            // timeout has run out on it): try again shortly.
            _ => std::thread::sleep(std::time::Duration::from_millis(1)),
        }
    }
}

impl Database {
    /// Takes a snapshot of the database as it is now. In-memory (`--dev`)
    /// databases only: a file's copy would carry its WAL mode into memory,
    /// where a WAL cannot be.
    pub fn snapshot(&self) -> DbResult<Snapshot> {
        let (Some(location @ Location::Memory(_)), Some(settings)) =
            (self.location(), self.settings())
        else {
            return Err(DbError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
                Some("only an in-memory (--dev) database has a snapshot".into()),
            )));
        };
        let source = settings.open(location)?;
        let mut target = settings.open(&Location::memory())?;
        copy(&source, &mut target)?;
        Ok(Snapshot {
            copy: Arc::new(Mutex::new(target)),
        })
    }

    /// Puts the whole database back as `snapshot` holds it, then runs `then`
    /// on the same connection before any other write (so in-memory state can
    /// follow it, as after a commit).
    pub async fn restore<T, E, F>(&self, snapshot: Snapshot, then: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: JobError,
    {
        self.writer
            .exclusive(move |conn| {
                {
                    let source = snapshot.copy.lock().unwrap_or_else(|p| p.into_inner());
                    copy(&source, conn).map_err(|e| E::from(DbError::from(e)))?;
                }
                then(&Conn::sqlite(conn))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DbOptions;
    use crate::error::AppError;

    fn count(db: &Database) -> i64 {
        db.read_blocking(|c| {
            c.query_one("SELECT count(*) FROM vault_sections", &[], |r| r.get(0))
                .map_err(AppError::from)
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_restore_brings_back_exactly_the_snapshot() {
        let keys = crate::crypto::Keyring::generate().derive();
        let db =
            Database::open(Location::memory(), &keys.sqlcipher, &DbOptions::default()).unwrap();
        let insert = |name: &'static str| {
            db.write(move |c, _| {
                c.execute(
                    "INSERT INTO vault_sections (guid, name, created_at) VALUES (?1, ?2, 0)",
                    &[&crate::types::Guid::new_random(), &name],
                )
                .map_err(AppError::from)
            })
        };
        insert("kept").await.unwrap();
        let snapshot = db.snapshot().unwrap();
        insert("dropped").await.unwrap();
        insert("dropped too").await.unwrap();
        assert_eq!(count(&db), 3);
        let seen = db
            .restore(snapshot.clone(), |c| {
                c.query_one("SELECT count(*) FROM vault_sections", &[], |r| {
                    r.get::<i64>(0)
                })
                .map_err(AppError::from)
            })
            .await
            .unwrap();
        assert_eq!(seen, 1, "what runs after the restore sees it");
        assert_eq!(count(&db), 1, "and so do readers");
        // Writes go on from there, and the snapshot serves again.
        insert("after").await.unwrap();
        db.restore(snapshot, |_| Ok::<_, AppError>(()))
            .await
            .unwrap();
        assert_eq!(count(&db), 1);
    }

    #[test]
    fn a_file_database_has_no_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let keys = crate::crypto::Keyring::generate().derive();
        let db = Database::open(
            Location::File(dir.path().join("x.db")),
            &keys.sqlcipher,
            &DbOptions::default(),
        )
        .unwrap();
        assert!(db.snapshot().is_err());
    }
}
